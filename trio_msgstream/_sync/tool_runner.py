"""The synchronous tool runner: the same agent loop, tools in sequence or a thread pool.

The conversation, the turn count and the tool results live in the sans-IO
``ToolRunnerState``; this module only sends the requests through the public sync
client (``client.messages.create`` / ``client.messages.stream``) and calls the tools:

- with ``max_concurrency=1`` (the default) and no ``tool_timeout``, one after another
  in the calling thread;
- otherwise in a thread pool of ``max_concurrency`` workers owned by the runner, each
  call waited for at most ``tool_timeout`` seconds from when the turn's calls are
  submitted. A call past its timeout is reported to the model as an error result;
  its thread cannot be interrupted, so :meth:`ToolRunner.close` waits for it.

With ``run_tools_eagerly=True`` (``stream=True``) a tool is submitted to the pool as
soon as its ``tool_use`` block is complete, while the reply is still read. Async tools
are refused: use the trio runner for those.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._core.agents.tool_runner import ToolCall, ToolRunnerBase, ToolRunnerKwargs
from .._core.exceptions import UsageLimitExceeded
from .._core.schema.models import ContentBlock, ToolUseBlock
from .._core.typed_json.structured import ParsedMessage
from .._core.typed_json.tools import FunctionTool, tool_error_block, tool_result_block
from .stream import SyncMessageStream

if TYPE_CHECKING:
    from typing import Self

__all__ = ["SyncToolRunnerKwargs", "ToolRunner"]

logger = logging.getLogger("trio_msgstream.tools")

_Item = TypeVar("_Item")


class SyncToolRunnerKwargs(ToolRunnerKwargs, total=False):
    """The keyword arguments of ``Client.messages.tool_runner`` (beside ``stream``):
    those both clients take, and the sync runner's own."""

    max_concurrency: int
    """Tool calls running at once (threads); 1 runs them in sequence."""
    event_handler: type[SyncMessageStream]
    """The :class:`SyncMessageStream` subclass of streamed turns."""


class ToolRunner(ToolRunnerBase, Generic[_Item]):
    """Runs the model's tool calls until it stops asking; made by
    ``client.messages.tool_runner(...)`` on a sync :class:`~trio_msgstream.Client`.

    Iterate it for the turns (a :class:`SyncMessageStream` each with ``stream=True``,
    else the final :class:`ParsedMessage`), or call :meth:`until_done`. Use it in a
    ``with`` block (or call :meth:`close`) so the turn in progress and the thread pool
    are closed.

    Args:
        client: The sync :class:`~trio_msgstream.Client`.
        tools: ``@tool`` functions (sync only) and raw tool definitions.
        max_iterations: Most turns; ``None`` for no limit.
        stream: Hand out each turn as a :class:`SyncMessageStream`.
        run_tools_eagerly: Submit each tool to the pool as soon as its block is
            complete (needs ``stream=True``).
        max_concurrency: Tool calls running at once (threads); 1 runs them in sequence.
        tool_timeout: Seconds to wait for a call before reporting it as an error.
        event_handler: The :class:`SyncMessageStream` subclass of streamed turns.
        usage_limits: A :class:`~trio_msgstream.UsageLimits` for the whole run (or a
            shared :class:`~trio_msgstream.UsageTracker`); passing it raises
            :class:`~trio_msgstream.UsageLimitExceeded` (see ``runner.usage``).
        **params: Messages API parameters and request options.
    """

    def __init__(
        self,
        client: Any,
        *,
        tools: Sequence[Any],
        max_iterations: int | None = None,
        stream: bool = False,
        run_tools_eagerly: bool = False,
        max_concurrency: int = 1,
        tool_timeout: float | None = None,
        event_handler: type[SyncMessageStream] = SyncMessageStream,
        **params: Any,
    ) -> None:
        if run_tools_eagerly and not stream:
            raise ValueError("run_tools_eagerly=True needs stream=True")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if tool_timeout is not None and tool_timeout <= 0:
            raise ValueError("tool_timeout must be > 0")
        for item in tools:
            if isinstance(item, FunctionTool) and item.is_async:
                raise TypeError(f"tool {item.name} is async: the sync runner calls sync tools only")
        self._setup(client, tools, max_iterations, params)
        self._stream = stream
        self._timeout = tool_timeout
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        if max_concurrency > 1 or tool_timeout is not None or run_tools_eagerly:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=max_concurrency, thread_name_prefix="trio_msgstream-tool"
            )
        self._event_handler = (
            _eager_class(event_handler, self) if run_tools_eagerly else event_handler
        )
        self._manager: Any = None
        self._eager: dict[str, tuple[concurrent.futures.Future[Any], float]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the turn in progress and the thread pool (waiting for its threads).
        Idempotent."""
        self._closed = True
        manager, self._manager = self._manager, None
        try:
            if manager is not None:
                manager.__exit__(None, None, None)
        finally:
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- iteration ---------------------------------------------------------------------

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> _Item:
        self._finish_turn()
        if self._closed or self._state.should_stop():
            raise StopIteration
        item: _Item = self._send()
        return item

    def until_done(self) -> ParsedMessage[Any]:
        """Run every remaining turn and return the last message."""
        for _ in self:
            pass
        return self._last_or_raise()

    def generate_tool_call_response(self) -> dict[str, Any] | None:
        """The user message with the results of the current turn's tool calls,
        running them if needed (not again); ``None`` without calls."""
        self._record()
        if not self._state.wants_tools:
            return None
        return self._state.results_message(self._tool_results())

    # -- turns -------------------------------------------------------------------------

    def _send(self) -> Any:
        params = self._next_request()
        self._eager = {}
        if self._stream:
            manager = self._client.messages.stream(event_handler=self._event_handler, **params)
            turn: Any = manager.__enter__()
            self._manager = manager
        else:
            turn = self._parse(self._client.messages.create(**params))
        self._turn, self._recorded = turn, False
        return turn

    def _record(self) -> None:
        if self._recorded:
            return
        turn = self._turn
        if isinstance(turn, SyncMessageStream):
            manager, self._manager = self._manager, None
            try:
                message = self._parse(turn.get_final_message())
            except BaseException:
                for future, _ in self._eager.values():
                    future.cancel()
                raise
            finally:
                if manager is not None:
                    manager.__exit__(None, None, None)
        else:
            message = turn
        self._record_reply(message)

    def _finish_turn(self) -> None:
        if self._turn is None:
            return
        self._record()
        if self._results_due():
            self._state.add_tool_results(self._tool_results())
        self._turn = None

    def _tool_results(self) -> dict[str, dict[str, Any]]:
        if self._results is not None:
            return self._results
        results: dict[str, dict[str, Any]] = {}
        calls = self._state.tool_calls()
        self._count_tool_calls([call for call in calls if call.id not in self._eager])
        pool = self._pool
        if pool is None or not self._state.parallel:
            for call in calls:
                if call.id in self._eager:
                    future, started = self._eager[call.id]
                    results[call.id] = self._wait(call, future, started)
                else:
                    results[call.id] = self._call(call)
        else:
            now = time.monotonic()
            futures = {
                call.id: self._eager.get(call.id) or (pool.submit(self._call, call), now)
                for call in calls
            }
            for call in calls:
                future, started = futures[call.id]
                results[call.id] = self._wait(call, future, started)
        self._results = results
        return results

    # -- tools -------------------------------------------------------------------------

    def _start_eager(self, block: ToolUseBlock) -> None:
        pool = self._pool
        if pool is None or block.id in self._eager or block.name not in self._state.tools:
            return
        if self._eager and not self._state.parallel:
            return  # disable_parallel_tool_use: the others run one by one afterwards
        call = ToolCall(block.id, block.name, block.input, self._state.tools[block.name])
        try:
            self._count_tool_calls([call])
        except UsageLimitExceeded:
            return  # past tool_calls_limit: raised when the turn finishes
        self._eager[block.id] = (pool.submit(self._call, call), time.monotonic())

    def _wait(
        self, call: ToolCall, future: concurrent.futures.Future[Any], started: float
    ) -> dict[str, Any]:
        timeout = (
            None if self._timeout is None else max(0.0, started + self._timeout - time.monotonic())
        )
        try:
            result: dict[str, Any] = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return tool_error_block(
                call.id, f"Error: tool {call.name} timed out after {self._timeout:g} s"
            )
        return result

    def _call(self, call: ToolCall) -> dict[str, Any]:
        if call.tool is None:
            return self._state.unknown_result(call)
        try:
            value = call.tool.call(call.input)
        except Exception as exc:
            logger.info("tool %s failed: %s", call.name, type(exc).__name__)
            return tool_error_block(call.id, exc, secrets=self._secrets)
        return tool_result_block(call.id, value)


def _eager_class(base: type[SyncMessageStream], runner: ToolRunner[Any]) -> type[SyncMessageStream]:
    """A subclass of ``base`` that submits tools as their blocks complete."""

    class EagerToolStream(base):  # type: ignore[valid-type,misc]
        def on_content_block(self, content_block: ContentBlock) -> None:
            if isinstance(content_block, ToolUseBlock):
                runner._start_eager(content_block)
            super().on_content_block(content_block)

    EagerToolStream.__qualname__ = f"EagerToolStream[{base.__qualname__}]"
    return EagerToolStream
