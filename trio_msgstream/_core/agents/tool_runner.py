"""The tool runner's state: the conversation, the turn count, the tool calls of a turn.

Part of the sans-IO core (no trio, no httpx): the trio and sync runners drive this and
only add how tools run (a nursery, a thread pool) and how requests are sent.

Theory of operation: a run is a loop of turns. :meth:`ToolRunnerState.request_params`
gives the parameters of the next request (the conversation so far, the tools as
definitions). When the reply is in, :meth:`~ToolRunnerState.record_reply` appends it
as an assistant message and decides the next step from its ``stop_reason``:

- ``tool_use``: run the turn's tool calls (:meth:`~ToolRunnerState.tool_calls`, in the
  order of the ``tool_use`` blocks; a name the runner does not know gets an error
  result), then append one user message with every ``tool_result`` in that order
  (:meth:`~ToolRunnerState.add_tool_results`) and go on;
- ``pause_turn``: send the conversation again as is, so the server resumes the turn;
- anything else: the run is done; the reply is the final message.

The run also stops after ``max_iterations`` turns. :meth:`append_messages` and
:meth:`set_messages_params` change what the next request sends; when either is called
while a turn is handed out, the runner does not append that turn's tool results itself
(the caller has taken over the conversation), as in the official SDK's runner.

:class:`ToolRunnerBase` is what both runners share around that state: the setup from
the caller's arguments, the read-only view (``iteration_count``, ``params``,
``last_message``), the caller's changes, and recording a finished reply. The drivers
add only their I/O: sending a turn, draining its stream and running the tools.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Required

from ..request.options import RequestOptions, split_options
from ..schema.models import Message, ToolUseBlock
from ..schema.params import MessageCreateParamsExceptTools
from ..typed_json.structured import ParsedMessage, as_parsed_message, output_parser
from ..typed_json.tools import FunctionTool, RunnerTool, tool_params, unknown_tool_block
from .usage_limits import RunUsage, UsageTracker, scope_tracker

__all__ = ["ToolCall", "ToolRunnerBase", "ToolRunnerKwargs", "ToolRunnerState"]


class ToolRunnerKwargs(MessageCreateParamsExceptTools, RequestOptions, total=False):
    """The keyword arguments both clients' ``messages.tool_runner`` take (each client
    adds ``event_handler``, ``max_concurrency`` and, async, ``fan_out``): the API's
    parameters, ``tools``, the request options, ``betas``, ``output_format`` and the
    runner's settings."""

    tools: Required[Sequence[RunnerTool]]
    """``@tool`` functions (run by the runner) and tool definitions (sent only)."""
    betas: Sequence[str]
    """Beta features to enable (the ``anthropic-beta`` header)."""
    output_format: Any
    """A pydantic model or type: the final reply is parsed as it."""
    max_iterations: int | None
    """Most turns (requests); ``None`` for no limit."""
    run_tools_eagerly: bool
    """Start each tool as soon as its ``tool_use`` block is complete (``stream=True``)."""
    tool_timeout: float | None
    """Seconds a tool call may take before it is reported as an error result."""


_RUNNER_ONLY = ("max_iterations", "run_tools_eagerly", "stream", "max_concurrency", "tool_timeout")


@dataclass(frozen=True)
class ToolCall:
    """One ``tool_use`` block of a turn, and the tool that answers it (if any)."""

    id: str
    name: str
    input: Any
    tool: FunctionTool[Any] | None


class ToolRunnerState:
    """The conversation and progress of one tool-runner run.

    Args:
        params: The Messages API parameters (``messages``, ``model``, ``tools``...);
            ``tools`` may hold ``@tool`` functions and raw definitions.
        max_iterations: Most turns to run; ``None`` for no limit.
    """

    def __init__(self, params: Mapping[str, Any], *, max_iterations: int | None = None) -> None:
        if max_iterations is not None and max_iterations < 1:
            raise ValueError("max_iterations must be >= 1")
        for name in _RUNNER_ONLY:
            if name in params:
                raise TypeError(f"{name} is an argument of the runner, not a request parameter")
        self.max_iterations = max_iterations
        self.iteration_count = 0
        self.last_message: Message | None = None
        self._params: dict[str, Any] = {}
        self._tools: dict[str, FunctionTool[Any]] = {}
        self._set(params)
        self._step: Literal["start", "tools", "resume", "done"] = "start"
        self._modified = False

    # -- the request -------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of the next request, as given (``tools`` as passed in)."""
        return {**self._params, "messages": list(self._params["messages"])}

    @property
    def messages(self) -> list[Any]:
        """The conversation the next request sends."""
        return list(self._params["messages"])

    def request_params(self) -> dict[str, Any]:
        """The parameters of the next request, ready to send."""
        params = self.params
        if "tools" in params:
            params["tools"] = tool_params(params["tools"])
        return params

    @property
    def parallel(self) -> bool:
        """Whether a turn's tool calls may run at the same time (not with
        ``tool_choice={"disable_parallel_tool_use": true, ...}``)."""
        choice = self._params.get("tool_choice")
        return not (isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use"))

    def should_stop(self) -> bool:
        """No further request: the run is done or used up its ``max_iterations``."""
        if self._step == "done":
            return True
        return self.max_iterations is not None and self.iteration_count >= self.max_iterations

    # -- the reply ---------------------------------------------------------------------

    def record_reply(self, message: Message) -> None:
        """Take a finished reply: append it to the conversation, decide the next step."""
        self.iteration_count += 1
        self.last_message = message
        self._modified = False
        self._params["messages"] = [*self._params["messages"], assistant_param(message)]
        if message.stop_reason == "tool_use" and self.tool_calls():
            self._step = "tools"
        elif message.stop_reason == "pause_turn":
            self._step = "resume"
        else:
            self._step = "done"

    @property
    def wants_tools(self) -> bool:
        """The last reply asked for tools whose results are not in yet."""
        return self._step == "tools"

    def tool_calls(self) -> list[ToolCall]:
        """The last reply's tool calls, in the order of its ``tool_use`` blocks."""
        message = self.last_message
        if message is None:
            return []
        return [
            ToolCall(block.id, block.name, block.input, self._tools.get(block.name))
            for block in message.content
            if isinstance(block, ToolUseBlock)
        ]

    def unknown_result(self, call: ToolCall) -> dict[str, Any]:
        """The error result for a call of a tool the runner does not have."""
        return unknown_tool_block(call.id, call.name, self._tools)

    def results_message(self, results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """The user message holding the results of the last reply's calls, in order."""
        return {"role": "user", "content": [results[call.id] for call in self.tool_calls()]}

    def add_tool_results(self, results: Mapping[str, dict[str, Any]]) -> None:
        """Append the tool results of the last reply (unless the caller changed the
        conversation during the turn) and go on to the next turn."""
        if self._step != "tools":
            return
        if not self._modified:
            self._params["messages"] = [*self._params["messages"], self.results_message(results)]
        self._step = "resume"

    # -- changes by the caller ---------------------------------------------------------

    def append_messages(self, *messages: Message | Mapping[str, Any]) -> None:
        """Add messages to the conversation of the next request."""
        added = [assistant_param(m) if isinstance(m, Message) else dict(m) for m in messages]
        self._params["messages"] = [*self._params["messages"], *added]
        self._modified = True

    def set_messages_params(
        self,
        params: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]],
    ) -> None:
        """Replace the parameters of the next request (or map them with a function).

        ``tools`` in the new parameters also changes which tools the runner runs.
        """
        new = params(self.params) if callable(params) else params
        self._set(new)
        self._modified = True

    def _set(self, params: Mapping[str, Any]) -> None:
        if "messages" not in params:
            raise TypeError("the parameters need messages")
        self._params = {**params, "messages": list(params["messages"])}
        tools: Sequence[Any] = list(params.get("tools") or ())
        self._params["tools"] = tools
        if not tools:
            del self._params["tools"]
        self._tools = {t.name: t for t in tools if isinstance(t, FunctionTool)}

    @property
    def tools(self) -> dict[str, FunctionTool[Any]]:
        """The runnable tools, by name."""
        return dict(self._tools)


def assistant_param(message: Message) -> dict[str, Any]:
    """A finished reply in the form a request's ``messages`` takes."""
    return {
        "role": message.role,
        "content": [block.model_dump(mode="json", exclude_none=True) for block in message.content],
    }


class ToolRunnerBase:
    """The part of a tool runner that does no I/O; the trio and sync runners extend it.

    ``_setup`` is called by the driver's ``__init__`` after it checked its own
    arguments. ``_turn`` is the turn handed out and not finished, ``_recorded``
    whether its reply is in the state, ``_results`` the tool results of the turn.
    """

    _state: ToolRunnerState
    _last: ParsedMessage[Any] | None

    def _setup(
        self,
        client: Any,
        tools: Sequence[Any],
        max_iterations: int | None,
        params: Mapping[str, Any],
    ) -> None:
        self._client = client
        params, options = split_options(params)
        self._options: dict[str, Any] = dict(options)
        self._usage = scope_tracker(self._options.get("usage_limits"))
        self._options["usage_limits"] = self._usage
        self._parser = output_parser(params)
        self._state = ToolRunnerState(
            {**params, "tools": list(tools)}, max_iterations=max_iterations
        )
        # Credentials are cut out of the error text a failing tool sends back.
        self._secrets = list(getattr(client, "_held_secrets", ()))
        self._turn: Any = None
        self._recorded = True
        self._results: dict[str, dict[str, Any]] | None = None
        self._last = None
        self._closed = False

    @property
    def iteration_count(self) -> int:
        """Turns received so far."""
        return self._state.iteration_count

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of the next request."""
        return self._state.params

    @property
    def last_message(self) -> ParsedMessage[Any] | None:
        """The last reply received, once a turn has finished."""
        return self._last

    @property
    def usage(self) -> RunUsage:
        """What the run has used so far: requests, tool calls, tokens (cache reads
        and writes included); readable while it runs."""
        return self._usage.usage

    @property
    def usage_tracker(self) -> UsageTracker:
        """The run's :class:`~trio_msgstream.UsageTracker` (its ``usage_limits``)."""
        return self._usage

    def _count_tool_calls(self, calls: Sequence[ToolCall]) -> None:
        """Count the calls about to run (those of a known tool) against
        ``tool_calls_limit``; raises :class:`UsageLimitExceeded` and runs none past it."""
        runnable = sum(1 for call in calls if call.tool is not None)
        if runnable:
            self._usage.count_tool_calls(runnable)

    def append_messages(self, *messages: Message | Mapping[str, Any]) -> None:
        """Add messages to the next request; the runner then leaves the current
        turn's tool results to you (as in the official SDK)."""
        self._state.append_messages(*messages)

    def set_messages_params(
        self, params: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]
    ) -> None:
        """Replace the next request's parameters, or map them with a function."""
        self._state.set_messages_params(params)

    def _next_request(self) -> dict[str, Any]:
        """The next turn's request parameters and options; forgets the turn's results."""
        self._results = None
        return {**self._state.request_params(), **self._options}

    def _parse(self, message: Message) -> ParsedMessage[Any]:
        return as_parsed_message(message, self._parser)

    def _record_reply(self, message: ParsedMessage[Any]) -> None:
        self._state.record_reply(message)
        self._last = message
        self._recorded = True

    def _results_due(self) -> bool:
        """Whether the finished turn's tool results go into the next request (not after
        the last allowed turn: no request would carry them)."""
        return self._state.wants_tools and not self._state.should_stop()

    def _last_or_raise(self) -> ParsedMessage[Any]:
        if self._last is None:
            raise RuntimeError("the tool runner ended without a message")
        return self._last
