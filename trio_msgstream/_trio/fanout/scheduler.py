"""Fan-out: many concurrent streams under one scope, with limits and per-item outcomes.

This module is the scheduler. Theory of operation::

    open_fan_out(client)                       the caller's task
     └── fan-out nursery  (its cancel scope also covers the ``async with`` body)
          ├── dispatcher task (FanOut._dispatch)
          │    takes items from the bounded submit queue (``max_pending``), waits for
          │    a slot of the CapacityLimiter (``max_concurrency``), starts an item task
          └── item task, one per running item (FanOut._run_item)
               └── item nursery, inside the item's own cancel scope (handle.cancel())
                    └── producer task of the item's MessageStream
                         every attempt (retries too) first passes the group's gate:
                         pause (429/529 retry-after, anthropic-ratelimit-* at 0),
                         requests_per_minute and tokens_per_minute budgets

    The item task consumes its stream to the end (handlers run there, subscribers
    get copies), turns the outcome into a FanOutResult and sends it on the unbounded
    results channel, which ``fan.results()`` reads in completion order.

The other jobs live next door: the item's handle (``fanout_handle.py``), its event
subscribers (``fanout_events.py``), the result types (``fanout_results.py``), and the
gate (``fanout_gate.py``), a thin per-item wrapper around the client that drives the
sans-IO rate-limit rules (``_core/request/ratelimit.py``), so the stream runtime needs no hook.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal

import outcome
import trio
from typing_extensions import Unpack

from ..._core.agents.usage_limits import RunUsage, UsageLimits, UsageTracker, scope_tracker
from ..._core.config import DEFAULT_MAX_BUFFER_SIZE
from ..._core.exceptions import UsageLimitExceeded
from ..._core.request.spec import usage_budgets
from ..._core.schema.models import Message, Usage
from ..._core.stream.events import TextEvent
from ..api import _sole_cancelled, start_message_stream
from ..stream import MessageStream
from ..wire import WireClient
from .gate import GroupGate, ItemClient
from .handle import DONE, QUEUED, RUNNING, FanOutHandle
from .results import FanOutCancelled, FanOutResult, FanOutStatistics

if TYPE_CHECKING:
    from ..._core.request.kwargs import StreamKwargs

__all__ = ["FanOut", "open_fan_out"]

ErrorPolicy = Literal["collect", "cancel"]


class FanOut:
    """A group of concurrent streams; made by :func:`open_fan_out`, not directly."""

    def __init__(
        self,
        client: WireClient,
        *,
        max_concurrency: int,
        max_pending: int,
        on_error: ErrorPolicy,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        usage_limits: UsageLimits | UsageTracker | None = None,
    ) -> None:
        self._client = client
        self._usage = scope_tracker(usage_limits)
        self._on_error = on_error
        self._limiter = trio.CapacityLimiter(max_concurrency)
        self._queue_send, self._queue_receive = trio.open_memory_channel[FanOutHandle](max_pending)
        self._results_send, self._results_receive = trio.open_memory_channel[FanOutResult](math.inf)
        self._gate = GroupGate(
            requests_per_minute=requests_per_minute, tokens_per_minute=tokens_per_minute
        )
        self._keys: set[Hashable] = set()
        self._submitted = 0
        self._finished = 0
        self._running = 0
        self._done_submitting = False
        self._closed = False
        self._first_error: BaseException | None = None
        self._body_failed = False
        self._nursery: trio.Nursery | None = None

    # -- public ------------------------------------------------------------------------

    async def submit(
        self,
        key: Hashable,
        *,
        event_handler: type[MessageStream] = MessageStream,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        **kwargs: Unpack[StreamKwargs],
    ) -> FanOutHandle:
        """Queue one stream; wait while the queue holds ``max_pending`` items.

        Args:
            key: A hashable name for the item, unique within the fan-out; results
                carry it.
            event_handler: A :class:`MessageStream` subclass; its handlers run in the
                item's task as the stream is consumed.
            max_buffer_size: As for :func:`~trio_msgstream.open_message_stream`.
            **kwargs: Messages API parameters (``model``, ``max_tokens``,
                ``messages``, ...) and the request options every entry point takes
                (``timeout``, ``max_retries``, ``extra_headers``, ``extra_query``,
                ``extra_body``). A ``timeout``'s ``deadline`` also covers waits at the
                group's gate (pauses and budgets).

        Returns:
            The item's :class:`FanOutHandle`.

        Raises:
            ValueError: The key was already submitted.
            TypeError: ``event_handler`` is not a MessageStream subclass.
            RuntimeError: After :meth:`done_submitting`, or once the fan-out is closed.

        Cancellation:
            Cancelling a ``submit`` that waits for room leaves nothing queued.
        """
        if self._done_submitting or self._closed:
            raise RuntimeError("this fan-out takes no more submissions")
        if self._usage.exceeded is not None:
            raise self._usage.exceeded
        if not (isinstance(event_handler, type) and issubclass(event_handler, MessageStream)):
            raise TypeError(
                f"event_handler must be a MessageStream subclass, not {event_handler!r}"
            )
        if key in self._keys:
            raise ValueError(f"key {key!r} was already submitted to this fan-out")
        handle = FanOutHandle(
            self,
            key,
            dict(event_handler=event_handler, max_buffer_size=max_buffer_size, **kwargs),
        )
        # Counted before sending: the item may run and finish while send() yields.
        # A send that raises has not queued the item.
        self._keys.add(key)
        self._submitted += 1
        try:
            await self._queue_send.send(handle)
        except BaseException as exc:
            self._keys.discard(key)
            self._submitted -= 1
            if isinstance(exc, (trio.ClosedResourceError, trio.BrokenResourceError)):
                raise RuntimeError("this fan-out takes no more submissions") from None
            raise
        return handle

    def done_submitting(self) -> None:
        """Say no more items will come, so that :meth:`results` can end. Idempotent.

        A ``submit`` still waiting for room gets :class:`RuntimeError`.
        """
        if self._done_submitting:
            return
        self._done_submitting = True
        self._queue_send.close()
        self._maybe_close_results()

    def results(self) -> AsyncIterator[FanOutResult]:
        """Every item's result, in completion order, each exactly once.

        The iteration ends once :meth:`done_submitting` was called and every item has
        finished. Several tasks may iterate at once; each result goes to one of them.

        Returns:
            An async iterator of :class:`FanOutResult` objects.

        Cancellation:
            Under ``on_error="cancel"`` a failure cancels the iteration together with
            everything else; the failure comes out of ``open_fan_out``.
        """
        return self._results_receive

    async def gather(self) -> dict[Hashable, FanOutResult]:
        """Call :meth:`done_submitting` and collect every remaining result by key.

        Returns:
            A dict from key to result, in completion order.
        """
        self.done_submitting()
        return {result.key: result async for result in self.results()}

    def statistics(self) -> FanOutStatistics:
        """Counters of the fan-out. Sync; never blocks."""
        return FanOutStatistics(
            submitted=self._submitted,
            queued=self._submitted - self._finished - self._running,
            running=self._running,
            finished=self._finished,
            paused_for=self._gate.limits.paused_for(trio.current_time()),
        )

    @property
    def usage(self) -> RunUsage:
        """What the group has used so far (every item's requests and tokens, cache
        reads and writes included); readable while it runs."""
        return self._usage.usage

    @property
    def usage_tracker(self) -> UsageTracker:
        """The group's :class:`~trio_msgstream.UsageTracker` (its ``usage_limits``)."""
        return self._usage

    def pause_new_starts(self, seconds: float) -> None:
        """Hold every new request of the group (retries too) for ``seconds``.

        This is what a 429/529 with ``retry-after`` does; a pause only ever grows.
        """
        self._gate.limits.pause(seconds, trio.current_time())

    @property
    def rate_limit_headers(self) -> dict[str, str]:
        """The ``anthropic-ratelimit-*`` headers (names lower-cased) of the latest
        response that had any."""
        return self._gate.limits.headers

    # -- tasks ---------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        assert self._nursery is not None
        async with self._queue_receive:
            async for handle in self._queue_receive:
                if handle._state != QUEUED:
                    continue  # cancelled while queued
                await self._limiter.acquire_on_behalf_of(handle)
                if handle._state != QUEUED:
                    self._limiter.release_on_behalf_of(handle)
                    continue
                handle._state = RUNNING
                self._running += 1
                handle._slot_at = trio.current_time()
                self._nursery.start_soon(self._run_item, handle)

    async def _run_item(self, handle: FanOutHandle) -> None:
        try:
            with handle._scope:
                if handle._cancel_requested:
                    handle._scope.cancel()
                await self._stream_item(handle)
            if handle._scope.cancelled_caught and handle._result is None:
                stream = handle._stream
                partial = stream.current_message_snapshot if stream is not None else None
                self._emit(
                    handle,
                    outcome.Error(FanOutCancelled(handle.key, partial_message=partial)),
                    usage=None,
                )
        finally:
            self._gate.settle(handle)
            self._running -= 1
            self._limiter.release_on_behalf_of(handle)
            handle._state = DONE
            handle._subscribers.close()
            handle._started.set()
            handle._done.set()

    async def _stream_item(self, handle: FanOutHandle) -> None:
        kwargs = dict(handle._kwargs)
        # The item's own budgets (if any) and the group's, which every item shares.
        kwargs["usage_limits"] = (*usage_budgets(kwargs.get("usage_limits")), self._usage)
        max_tokens = kwargs.get("max_tokens")
        client = ItemClient(
            self._client, self._gate, handle, max_tokens if isinstance(max_tokens, int) else 0
        )
        result: outcome.Value[Message] | outcome.Error
        async with trio.open_nursery() as nursery:
            stream: MessageStream | None = None
            try:
                stream = await start_message_stream(nursery, client, **kwargs)
                handle._stream = stream
                handle._started.set()
                async for event in stream:
                    handle._events += 1
                    if handle._first_text_at is None and isinstance(event, TextEvent):
                        handle._first_text_at = trio.current_time()
                    if handle._subscribers:
                        await handle._subscribers.publish(event)
                message = await stream.get_final_message()
                handle._usage = message.usage
                result = outcome.Value(message)
            except Exception as exc:
                partial = getattr(exc, "partial_message", None)
                handle._usage = partial.usage if isinstance(partial, Message) else None
                result = outcome.Error(exc)
            finally:
                if stream is not None:
                    await stream.aclose()
        if isinstance(result, outcome.Error) and self._on_error == "cancel":
            self._fail(result.error)
            return
        exceeded = self._usage.exceeded
        if isinstance(result, outcome.Error) and exceeded is not None:
            # The group's budget is spent: stop everything (whatever on_error says).
            if isinstance(result.error, UsageLimitExceeded):
                self._fail(exceeded)
                return
        self._emit(handle, result, usage=handle._usage)

    def _fail(self, error: BaseException) -> None:
        # Failures after the body raised are part of the teardown: the body's
        # exception is the one that comes out.
        if self._first_error is None and not self._body_failed:
            self._first_error = error
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _finish_without_running(self, handle: FanOutHandle) -> None:
        """A queued item was cancelled through its handle: settle it now."""
        self._emit(handle, outcome.Error(FanOutCancelled(handle.key)), usage=None)
        handle._subscribers.close()
        handle._started.set()

    def _emit(
        self,
        handle: FanOutHandle,
        result: outcome.Value[Message] | outcome.Error,
        *,
        usage: Usage | None,
    ) -> None:
        metrics = handle._metrics(trio.current_time(), usage)
        fan_result = FanOutResult(key=handle.key, outcome=result, metrics=metrics)
        handle._result = fan_result
        handle._state = DONE
        handle._done.set()
        self._finished += 1
        try:
            self._results_send.send_nowait(fan_result)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass  # nobody will read results any more (the fan-out is closing)
        self._maybe_close_results()

    def _maybe_close_results(self) -> None:
        if self._done_submitting and self._finished >= self._submitted:
            # Every accepted item has produced its result (items cancelled while
            # queued count as finished).
            self._results_send.close()

    def _close(self) -> None:
        self._closed = True
        self._queue_send.close()
        self._results_send.close()


@asynccontextmanager
async def open_fan_out(
    client: WireClient,
    *,
    max_concurrency: int = 8,
    max_pending: int | None = None,
    on_error: ErrorPolicy = "collect",
    requests_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
    usage_limits: UsageLimits | UsageTracker | None = None,
) -> AsyncIterator[FanOut]:
    """Run many streams concurrently under one scope.

    Example::

        async with open_fan_out(client, max_concurrency=8) as fan:
            for key, prompt in prompts.items():
                await fan.submit(key, model=MODEL, max_tokens=512,
                                 messages=[{"role": "user", "content": prompt}])
            fan.done_submitting()
            async for result in fan.results():
                print(result.key, result.message or result.error)

    Args:
        client: An :class:`~trio_msgstream.AsyncClient` (any ``WireClient``). Mind its
            HTTP connection pool: httpx allows 100 connections by default, so for more
            concurrent streams pass an ``http_client`` with larger ``limits``.
        max_concurrency: Streams in flight at once (requests sent, waiting at the gate,
            or being consumed).
        max_pending: Submitted items waiting for a slot before ``submit`` waits;
            defaults to ``max_concurrency``. ``0`` makes ``submit`` wait for the
            dispatcher.
        on_error: ``"collect"``: a failing item's result carries its error and the
            others go on. ``"cancel"``: the first failure cancels every other item and
            is raised out of the ``async with`` as itself.
        requests_per_minute: Budget of requests sent (retries count), refilled evenly.
        tokens_per_minute: Budget of tokens, estimated per item as ``max_tokens`` plus
            a quarter of the request's size in bytes, corrected from the final usage.
        usage_limits: A :class:`~trio_msgstream.UsageLimits` shared by the group (or a
            :class:`~trio_msgstream.UsageTracker` shared with more): every item's
            requests and tokens count against it (``fan.usage``). Passing it cuts the
            stream that passed it, cancels every other item, refuses submissions, and
            raises :class:`~trio_msgstream.UsageLimitExceeded` out of the
            ``async with``, whatever ``on_error`` says.

    Yields:
        The :class:`FanOut`.

    Raises:
        ValueError: Bad limits or policy.
        BaseException: Under ``on_error="cancel"``, the first item failure, as itself.
            An exception from the ``async with`` body cancels every item and comes out
            as itself (never wrapped in an ExceptionGroup).

    Cancellation:
        Leaving the block waits for every submitted item (``done_submitting`` is
        implied). Cancelling the scope around it, or an exception in the body,
        cancels every stream: each producer is cancelled, its connection released and
        its ``on_end`` run before ``open_fan_out`` returns, so no task outlives it.
        The enclosing scope's ``trio.Cancelled`` comes out as itself (no group).
    """
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be >= 1")
    pending = max_concurrency if max_pending is None else max_pending
    if pending < 0:
        raise ValueError("max_pending must be >= 0")
    if on_error not in ("collect", "cancel"):
        raise ValueError('on_error must be "collect" or "cancel"')
    fan = FanOut(
        client,
        max_concurrency=max_concurrency,
        max_pending=pending,
        on_error=on_error,
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
        usage_limits=usage_limits,
    )
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            fan._nursery = nursery
            nursery.start_soon(fan._dispatch)
            try:
                yield fan
            except BaseException as exc:
                # Raised after the nursery, unwrapped; the nursery cancels the rest.
                body_error = exc
                fan._body_failed = fan._first_error is None
                nursery.cancel_scope.cancel()
            else:
                fan.done_submitting()
    except BaseExceptionGroup as group:
        # Only trio.Cancelled from an enclosing scope can come out of the nursery (the
        # tasks capture their failures): let it out as itself, not as a group.
        sole = _sole_cancelled(group)
        if sole is None:
            raise
        if fan._first_error is None:
            raise sole from None
    finally:
        fan._close()
    if fan._first_error is not None:
        raise fan._first_error
    if body_error is not None:
        raise body_error
