"""The trio tool runner: an agent loop whose tool calls run in a nursery it owns.

Theory of operation::

    async with client.messages.tool_runner(...) as runner      the caller's task
     └── runner nursery (its cancel scope: cancelling it ends everything below)
          ├── producer task of the turn's MessageStream           (stream=True)
          └── eager tool tasks: one per tool_use block, started    (run_tools_eagerly)
              as soon as the block is complete, while the reply streams

    each ``await anext(runner)`` (in the caller's task):
     1. finishes the turn handed out before: its final message (draining the stream),
        recorded by the sans-IO ToolRunnerState; if it asked for tools, runs them
        concurrently in a nursery of this call (the eager ones are awaited), each
        under the runner's CapacityLimiter (``max_concurrency``) and its own
        ``tool_timeout``, and appends the results in tool_use order;
     2. sends the next request and hands out the turn: a MessageStream
        (``stream=True``) or the final message.

Tools never raise into the runner: a tool's exception becomes an ``is_error`` result
(see :mod:`trio_msgstream._core.typed_json.tools`), a tool that outlives ``tool_timeout`` is
cancelled and reported as an error result, an unknown tool name gets an error result.
``trio.Cancelled`` is never captured: cancelling the scope around the runner cancels
the running tools and the stream, and the ``async with`` returns only when they are
gone. Sync tools run in a worker thread (``trio.to_thread.run_sync``) that is waited
for, never abandoned: a sync tool's timeout takes effect when it returns.

Without ``async with``, ``async for turn in runner`` and ``await runner.until_done()``
work for ``stream=False`` (the tools of a turn run in a nursery of that step);
``until_done()`` opens the runner itself in every mode.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import trio

from .._core.agents.tool_runner import ToolCall, ToolRunnerBase, ToolRunnerKwargs
from .._core.exceptions import UsageLimitExceeded
from .._core.schema.models import ContentBlock, ToolUseBlock
from .._core.typed_json.structured import ParsedMessage
from .._core.typed_json.tools import tool_error_block, tool_result_block
from .api import _sole_cancelled, start_message_stream
from .stream import MessageStream

if TYPE_CHECKING:
    from typing import Self

    from .fanout.scheduler import FanOut

__all__ = ["DEFAULT_TOOL_TIMEOUT", "AsyncToolRunner", "AsyncToolRunnerKwargs"]

DEFAULT_TOOL_TIMEOUT = 600.0
"""Seconds a tool call may take by default, so a hung tool never hangs the run forever."""

logger = logging.getLogger("trio_msgstream.tools")

_Item = TypeVar("_Item")


class AsyncToolRunnerKwargs(ToolRunnerKwargs, total=False):
    """The keyword arguments of ``AsyncClient.messages.tool_runner`` (beside
    ``stream``): those both clients take, and the async runner's own."""

    max_concurrency: int | None
    """Most tool calls running at once (``None``: no limit)."""
    event_handler: type[MessageStream]
    """The :class:`MessageStream` subclass of streamed turns."""
    fan_out: FanOut | None
    """Send every turn through this fan-out (``stream=False``)."""


class AsyncToolRunner(ToolRunnerBase, Generic[_Item]):
    """Runs the model's tool calls until it stops asking; made by
    ``client.messages.tool_runner(...)``.

    Iterate it for the turns (a :class:`MessageStream` each with ``stream=True``,
    else the final :class:`ParsedMessage`), or ``await runner.until_done()`` for the
    last message. See the module docstring for who owns which task.

    Args:
        client: The :class:`~trio_msgstream.AsyncClient`.
        tools: ``@tool`` functions and raw tool definitions (those are sent but not run).
        max_iterations: Most turns (requests); ``None`` for no limit.
        stream: Hand out each turn as a :class:`MessageStream` (needs ``async with``).
        run_tools_eagerly: Start each tool as soon as its ``tool_use`` block is
            complete, while the reply still streams (needs ``stream=True``).
        max_concurrency: Most tool calls running at once (``None``: no limit).
        tool_timeout: Seconds a tool call may take (default :data:`DEFAULT_TOOL_TIMEOUT`,
            ``None`` for no limit) before it is cancelled and reported
            as an error result (``None``: no limit).
        event_handler: The :class:`MessageStream` subclass of streamed turns.
        fan_out: Send every turn through this :class:`~trio_msgstream.FanOut`, so many
            runners share its concurrency cap and rate limits (``stream=False``).
        usage_limits: A :class:`~trio_msgstream.UsageLimits` for the whole run (or a
            :class:`~trio_msgstream.UsageTracker` shared with others): every turn's
            request and the turn's tool calls count against it, and passing it raises
            :class:`~trio_msgstream.UsageLimitExceeded` (see ``runner.usage``).
        **params: Messages API parameters (``model``, ``max_tokens``, ``messages``,
            ``output_format``...) and request options (``timeout``, ``extra_headers``...).
    """

    def __init__(
        self,
        client: Any,
        *,
        tools: Sequence[Any],
        max_iterations: int | None = None,
        stream: bool = False,
        run_tools_eagerly: bool = False,
        max_concurrency: int | None = None,
        tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT,
        event_handler: type[MessageStream] = MessageStream,
        fan_out: FanOut | None = None,
        **params: Any,
    ) -> None:
        if run_tools_eagerly and not stream:
            raise ValueError("run_tools_eagerly=True needs stream=True")
        if fan_out is not None and stream:
            raise ValueError("fan_out= runs turns without streaming (stream=False)")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if tool_timeout is not None and tool_timeout <= 0:
            raise ValueError("tool_timeout must be > 0")
        self._setup(client, tools, max_iterations, params)
        self._stream = stream
        self._eager = run_tools_eagerly
        self._limiter = trio.CapacityLimiter(max_concurrency or math.inf)
        self._tool_timeout = math.inf if tool_timeout is None else tool_timeout
        self._event_handler = (
            _eager_class(event_handler, self) if run_tools_eagerly else event_handler
        )
        self._fan_out = fan_out
        self._nursery: trio.Nursery | None = None
        self._nursery_manager: Any = None
        self._eager_done: dict[str, trio.Event] = {}
        self._eager_results: dict[str, dict[str, Any]] = {}
        self._eager_scopes: list[trio.CancelScope] = []

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._nursery_manager is not None:
            raise RuntimeError("a tool runner can be entered once")
        manager = trio.open_nursery()
        self._nursery = await manager.__aenter__()
        self._nursery_manager = manager
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the turn in progress, cancel running tools, leave the nursery.

        Idempotent. Returns once every task of the runner has finished.
        """
        self._closed = True
        manager, self._nursery_manager = self._nursery_manager, None
        try:
            turn, self._turn = self._turn, None
            if isinstance(turn, MessageStream):
                await turn.aclose()
        finally:
            self._cancel_eager()
            if manager is not None:
                assert self._nursery is not None
                self._nursery.cancel_scope.cancel()
                try:
                    await manager.__aexit__(None, None, None)
                except BaseExceptionGroup as group:
                    sole = _sole_cancelled(group)
                    raise (sole or group) from None

    # -- iteration ---------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _Item:
        if self._stream and self._nursery is None:
            raise RuntimeError(
                "a streaming tool runner owns tasks: use "
                "`async with client.messages.tool_runner(..., stream=True) as runner`"
            )
        await self._finish_turn()
        if self._closed or self._state.should_stop():
            raise StopAsyncIteration
        item: _Item = await self._send()
        return item

    async def until_done(self) -> ParsedMessage[Any]:
        """Run every remaining turn; return the last message.

        Raises:
            RuntimeError: The run ended without a reply (``max_iterations`` reached
                before any turn, or the runner was closed).
        """
        if self._nursery is None and not self._closed:
            async with self:
                return await self.until_done()
        async for _ in self:
            pass
        return self._last_or_raise()

    async def generate_tool_call_response(self) -> dict[str, Any] | None:
        """The user message with the results of the current turn's tool calls,
        running them if needed (they are not run again); ``None`` without calls."""
        await self._record()
        if not self._state.wants_tools:
            return None
        return self._state.results_message(await self._tool_results())

    # -- turns -------------------------------------------------------------------------

    async def _send(self) -> Any:
        params = self._next_request()
        self._eager_done, self._eager_results = {}, {}
        self._eager_scopes = []
        if self._stream:
            assert self._nursery is not None
            turn: Any = await start_message_stream(
                self._nursery, self._client, event_handler=self._event_handler, **params
            )
        elif self._fan_out is not None:
            handle = await self._fan_out.submit(
                ("tool_runner", id(self), self.iteration_count), **params
            )
            result = await handle.wait()
            if result is None:
                raise RuntimeError("the fan-out ended before the turn finished")
            turn = self._parse(result.unwrap())
        else:
            turn = self._parse(await self._client.messages.create(**params))
        self._turn, self._recorded = turn, False
        return turn

    async def _record(self) -> None:
        """Put the handed-out turn's reply into the state (drain its stream first)."""
        if self._recorded:
            return
        turn = self._turn
        if isinstance(turn, MessageStream):
            try:
                message = self._parse(await turn.get_final_message())
            except BaseException:
                self._cancel_eager()
                raise
            finally:
                await turn.aclose()
        else:
            message = turn
        self._record_reply(message)

    async def _finish_turn(self) -> None:
        if self._turn is None:
            return
        await self._record()
        if self._results_due():
            self._state.add_tool_results(await self._tool_results())
        self._turn = None

    async def _tool_results(self) -> dict[str, dict[str, Any]]:
        if self._results is not None:
            return self._results
        calls = self._state.tool_calls()
        results = dict(self._eager_results)
        to_run = [call for call in calls if call.id not in self._eager_done]
        self._count_tool_calls(to_run)
        if self._state.parallel:
            async with trio.open_nursery() as nursery:
                for call in to_run:
                    nursery.start_soon(self._run_call, call, results)
                for done in self._eager_done.values():
                    await done.wait()
        else:
            # disable_parallel_tool_use: one call at a time, the eager one first.
            for done in self._eager_done.values():
                await done.wait()
            for call in to_run:
                await self._run_call(call, results)
        results.update(self._eager_results)
        self._results = results
        return results

    # -- tools -------------------------------------------------------------------------

    def _start_eager(self, block: ToolUseBlock) -> None:
        """Start a tool as soon as its tool_use block is complete (eager mode)."""
        if block.id in self._eager_done or self._nursery is None or self._closed:
            return
        if self._eager_done and not self._state.parallel:
            return  # disable_parallel_tool_use: the others run one by one afterwards
        tool = self._state.tools.get(block.name)
        if tool is None:
            return  # answered with an error result when the turn finishes
        call = ToolCall(block.id, block.name, block.input, tool)
        try:
            self._count_tool_calls([call])
        except UsageLimitExceeded:
            return  # past tool_calls_limit: raised when the turn finishes
        done = self._eager_done[block.id] = trio.Event()
        scope = trio.CancelScope()
        self._eager_scopes.append(scope)
        self._nursery.start_soon(self._run_eager, call, done, scope, self._eager_results)

    def _cancel_eager(self) -> None:
        for scope in self._eager_scopes:
            scope.cancel()

    async def _run_eager(
        self,
        call: ToolCall,
        done: trio.Event,
        scope: trio.CancelScope,
        results: dict[str, dict[str, Any]],
    ) -> None:
        try:
            with scope:
                await self._run_call(call, results)
        finally:
            if call.id not in results:
                results[call.id] = tool_error_block(
                    call.id, f"Error: the call of tool {call.name} was cancelled"
                )
            done.set()

    async def _run_call(self, call: ToolCall, results: dict[str, dict[str, Any]]) -> None:
        tool = call.tool
        if tool is None:
            results[call.id] = self._state.unknown_result(call)
            return
        async with self._limiter:
            with trio.move_on_after(self._tool_timeout) as scope:
                try:
                    if tool.is_async:
                        value = await tool.call(call.input)
                    else:
                        value = await trio.to_thread.run_sync(tool.call, call.input)
                except Exception as exc:
                    logger.info("tool %s failed: %s", call.name, type(exc).__name__)
                    results[call.id] = tool_error_block(call.id, exc, secrets=self._secrets)
                    return
                results[call.id] = tool_result_block(call.id, value)
            if scope.cancelled_caught and call.id not in results:
                results[call.id] = tool_error_block(
                    call.id, f"Error: tool {call.name} timed out after {self._tool_timeout:g} s"
                )


def _eager_class(base: type[MessageStream], runner: AsyncToolRunner[Any]) -> type[MessageStream]:
    """A subclass of ``base`` that starts tools as their blocks complete."""

    class EagerToolStream(base):  # type: ignore[valid-type,misc]
        async def on_content_block(self, content_block: ContentBlock) -> None:
            if isinstance(content_block, ToolUseBlock):
                runner._start_eager(content_block)
            await super().on_content_block(content_block)

        async def on_exception(self, exception: Exception) -> None:
            runner._cancel_eager()  # the turn failed: its tool calls are moot
            await super().on_exception(exception)

    EagerToolStream.__qualname__ = f"EagerToolStream[{base.__qualname__}]"
    return EagerToolStream
