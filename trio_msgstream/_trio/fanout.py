"""Fan-out: many concurrent streams under one scope, with limits and per-item outcomes.

Theory of operation::

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

    The item task consumes its stream to the end (handlers run there), turns the
    outcome into a FanOutResult and sends it on the unbounded results channel, which
    ``fan.results()`` reads in completion order.

The gate is applied by a thin per-item wrapper around the client (``_ItemClient``), so
the stream runtime needs no hook: the wrapper sees every attempt before it is sent and
every response's status line and headers as soon as they arrive.
"""

from __future__ import annotations

import datetime
import math
import sys
import time
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import outcome
import trio

from .._core.config import DEFAULT_MAX_BUFFER_SIZE, NOT_GIVEN, NotGiven, Timeout, TimeoutTypes
from .._core.events import MessageStreamEvent, TextEvent
from .._core.exceptions import MsgStreamError
from .._core.models import Message, Usage
from .._core.request import RequestSpec
from .._core.retry import MAX_RETRY_AFTER, retry_after_from_headers
from .api import _sole_cancelled, start_message_stream
from .stream import MessageStream
from .wire import WireClient, WireResponse

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "FanOut",
    "FanOutCancelled",
    "FanOutHandle",
    "FanOutMetrics",
    "FanOutResult",
    "FanOutStatistics",
    "open_fan_out",
]

ErrorPolicy = Literal["collect", "cancel"]

PAUSE_STATUSES = frozenset({429, 529})
"""Statuses whose ``retry-after`` pauses new starts for the whole group."""

EVENT_SUBSCRIPTION_BUFFER = 256
"""Events a :meth:`FanOutHandle.open_events` subscriber may lag behind the item task
before the item (and so its producer) waits for it."""


class FanOutCancelled(MsgStreamError):
    """The error of an item that was cancelled by :meth:`FanOutHandle.cancel`.

    It is never raised by the fan-out; it is what ``result.error`` holds for such an
    item (and ``result.outcome`` is ``outcome.Error`` of it).

    Attributes:
        key: The item's key.
        partial_message: The message accumulated before the cancellation, or ``None``
            when the item had not started streaming.
    """

    def __init__(self, key: Hashable, *, partial_message: Message | None = None) -> None:
        super().__init__(f"fan-out item {key!r} was cancelled")
        self.key = key
        self.partial_message = partial_message


@dataclass(frozen=True)
class FanOutMetrics:
    """Per-item measurements (seconds, on the Trio clock).

    Every duration is measured from the moment the item got a concurrency slot, so it
    includes waits at the group's gate (pauses and budgets) and retries.

    Attributes:
        queued: From ``submit`` to getting a slot.
        time_to_first_byte: To the status line and headers of the response that was
            streamed (the last attempt); ``None`` when no response arrived.
        time_to_first_text: To the first text delta consumed; ``None`` when there was
            no text.
        duration: To the end of the item (success, failure or cancellation).
        events: Events consumed from the stream (raw and derived, pings included).
        retries: Requests sent beyond the first.
        usage: The final usage (from the last ``message_delta``), else the usage of the
            partial message of a failure, else ``None``.
    """

    queued: float
    time_to_first_byte: float | None
    time_to_first_text: float | None
    duration: float
    events: int
    retries: int
    usage: Usage | None


@dataclass(frozen=True)
class FanOutResult:
    """The outcome of one submitted item, as yielded by :meth:`FanOut.results`.

    Attributes:
        key: The key given to :meth:`FanOut.submit`.
        outcome: ``outcome.Value(message)`` or ``outcome.Error(exception)``. Read
            :attr:`message` / :attr:`error` rather than unwrapping it (an outcome can
            be unwrapped only once).
        metrics: Timings and counters of the item.
    """

    key: Hashable
    outcome: outcome.Value[Message] | outcome.Error
    metrics: FanOutMetrics

    @property
    def message(self) -> Message | None:
        """The final message, or ``None`` when the item failed or was cancelled."""
        return self.outcome.value if isinstance(self.outcome, outcome.Value) else None

    @property
    def error(self) -> BaseException | None:
        """The item's failure (an :class:`APIError`, a handler's exception, or
        :class:`FanOutCancelled`), or ``None`` on success."""
        return self.outcome.error if isinstance(self.outcome, outcome.Error) else None

    @property
    def ok(self) -> bool:
        """Whether the item produced a message."""
        return isinstance(self.outcome, outcome.Value)

    @property
    def cancelled(self) -> bool:
        """Whether the item was cancelled through its handle."""
        return isinstance(self.error, FanOutCancelled)

    def unwrap(self) -> Message:
        """The message, or raise the item's error.

        Raises:
            BaseException: The item's error, as itself.
        """
        if isinstance(self.outcome, outcome.Value):
            return self.outcome.value
        raise self.outcome.error


@dataclass(frozen=True)
class FanOutStatistics:
    """A snapshot of a fan-out's counters (see :meth:`FanOut.statistics`).

    Attributes:
        submitted: Items accepted by :meth:`FanOut.submit`.
        queued: Items waiting for a slot.
        running: Items holding a slot.
        finished: Items whose result has been produced.
        paused_for: Seconds left of the group's pause on new starts (0 when none).
    """

    submitted: int
    queued: int
    running: int
    finished: int
    paused_for: float


# -- budgets ---------------------------------------------------------------------------


class _TokenBucket:
    """A per-minute budget: ``per_minute`` units refill evenly over 60 s.

    Requests for more than the capacity are granted when the bucket is full (and take
    it below zero), so a large item can never wait forever.
    """

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise ValueError("a per-minute budget must be > 0")
        self.capacity = float(per_minute)
        self.rate = float(per_minute) / 60.0
        self.level = self.capacity
        self.stamp = trio.current_time()
        self.lock = trio.Lock()

    def _refill(self) -> None:
        now = trio.current_time()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self, amount: float) -> None:
        """Wait until ``amount`` is available, then spend it (first come, first served)."""
        needed = min(amount, self.capacity)
        async with self.lock:
            while True:
                self._refill()
                if self.level >= needed:
                    self.level -= amount
                    return
                await trio.sleep((needed - self.level) / self.rate)

    def give_back(self, amount: float) -> None:
        """Return ``amount`` (negative: charge more), e.g. to correct an estimate."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


def _parse_reset(value: str | None) -> float | None:
    """Seconds until an ``anthropic-ratelimit-*-reset`` RFC 3339 time, or ``None``."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(when.timestamp() - time.time(), 0.0)


_RATELIMIT_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")


def _ratelimit_pause(headers: Mapping[str, str]) -> float | None:
    """How long to pause when an ``anthropic-ratelimit-*-remaining`` header is 0."""
    pause: float | None = None
    for kind in _RATELIMIT_KINDS:
        remaining = headers.get(f"anthropic-ratelimit-{kind}-remaining")
        if remaining is None:
            continue
        try:
            if int(remaining.strip()) > 0:
                continue
        except ValueError:
            continue
        wait = _parse_reset(headers.get(f"anthropic-ratelimit-{kind}-reset"))
        if wait is not None:
            pause = wait if pause is None else max(pause, wait)
    return pause


# -- items -----------------------------------------------------------------------------

_QUEUED, _RUNNING, _DONE = "queued", "running", "done"


class FanOutHandle:
    """The handle of one submitted item, returned by :meth:`FanOut.submit`.

    Attributes:
        key: The item's key.
    """

    def __init__(self, fan: FanOut, key: Hashable, kwargs: dict[str, Any]) -> None:
        self.key = key
        self._fan = fan
        self._kwargs = kwargs
        self._state = _QUEUED
        self._stream: MessageStream | None = None
        self._scope = trio.CancelScope()
        self._cancel_requested = False
        self._started = trio.Event()
        self._done = trio.Event()
        self._result: FanOutResult | None = None
        self._subscribers: list[trio.MemorySendChannel[MessageStreamEvent]] = []
        # measurements, filled in by the item task and its _ItemClient
        self._submitted_at = trio.current_time()
        self._slot_at: float | None = None
        self._first_byte_at: float | None = None
        self._first_text_at: float | None = None
        self._attempts = 0
        self._events = 0
        self._token_estimate = 0.0
        self._usage: Usage | None = None

    def __repr__(self) -> str:
        return f"<FanOutHandle key={self.key!r} state={self._state}>"

    @property
    def stream(self) -> MessageStream | None:
        """The item's :class:`MessageStream` once its response has started, else ``None``.

        It stays set after the item finished (read its final state there).

        The fan-out's item task is the stream's consumer, so do not iterate it (that
        raises :class:`trio.BusyResourceError`); read ``current_message_snapshot``,
        ``statistics()``, ``response`` or ``request_id``, follow it live with
        :meth:`open_events` / :meth:`text_stream`, or handle its events with
        ``event_handler=``.
        """
        return self._stream

    @property
    def result(self) -> FanOutResult | None:
        """The item's result once it is finished, else ``None``."""
        return self._result

    @property
    def done(self) -> bool:
        """Whether the item's result has been produced."""
        return self._state == _DONE

    async def wait_started(self) -> MessageStream | None:
        """Wait until the item's stream has started (or the item finished without one).

        Returns:
            The live stream, or ``None`` when the item ended before a response streamed.

        Cancellation:
            Only the wait is cancelled; the item goes on.
        """
        async with trio.open_nursery() as nursery:

            async def wait_for(event: trio.Event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(wait_for, self._started)
            nursery.start_soon(wait_for, self._done)
        return self._stream

    async def wait(self) -> FanOutResult | None:
        """Wait for the item to finish and return its result.

        The result is still yielded by :meth:`FanOut.results` as usual.

        Returns:
            The result, or ``None`` when the item ended without one: the whole
            fan-out was cancelled, or (under ``on_error="cancel"``) this item's failure
            is being raised out of ``open_fan_out``.

        Cancellation:
            Only the wait is cancelled; the item goes on.
        """
        await self._done.wait()
        return self._result

    async def cancel(self) -> None:
        """Cancel this item alone; its result becomes a :class:`FanOutCancelled` error.

        A queued item never starts; a running one has its stream cancelled (connection
        released, ``on_end`` run). Returns once the item's result exists. Nothing
        happens to an item that already finished. Under ``on_error="cancel"`` a
        cancellation through the handle is not a failure: siblings go on.

        Cancellation:
            The item is cancelled at once; waiting for its cleanup is shielded (it is
            bounded by the stream's own close timeout).
        """
        if self._state == _DONE:
            await trio.lowlevel.checkpoint()
            return
        self._cancel_requested = True
        if self._state == _QUEUED:
            self._fan._finish_without_running(self)
            await trio.lowlevel.checkpoint()
            return
        self._scope.cancel()
        with trio.CancelScope(shield=True):
            await self._done.wait()

    @asynccontextmanager
    async def open_events(self) -> AsyncIterator[AsyncIterator[MessageStreamEvent]]:
        """Follow the item's events live, from now on, from any task.

        Example::

            async with handle.open_events() as events:
                async for event in events:
                    ...

        The iteration ends when the item finishes (its error, if any, is in the
        result, not raised here). A subscriber that lags more than
        ``EVENT_SUBSCRIPTION_BUFFER`` events slows the item down (backpressure);
        leaving the block unsubscribes.

        Yields:
            An async iterator of the item's events (the same objects the item's
            consumer sees, handlers already run).
        """
        send, receive = trio.open_memory_channel[MessageStreamEvent](EVENT_SUBSCRIPTION_BUFFER)
        if self._state == _DONE:
            send.close()
        else:
            self._subscribers.append(send)
        try:
            async with receive:
                yield receive
        finally:
            if send in self._subscribers:
                self._subscribers.remove(send)
            send.close()

    @asynccontextmanager
    async def open_text_stream(self) -> AsyncIterator[AsyncIterator[str]]:
        """Like :meth:`open_events`, for the text deltas alone.

        Yields:
            An async iterator of text deltas.
        """
        async with self.open_events() as events:
            yield _TextDeltas(events)

    async def _publish(self, event: MessageStreamEvent) -> None:
        for send in list(self._subscribers):
            try:
                await send.send(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                if send in self._subscribers:
                    self._subscribers.remove(send)

    def _close_subscribers(self) -> None:
        subscribers, self._subscribers = self._subscribers, []
        for send in subscribers:
            send.close()


class _TextDeltas(AsyncIterator[str]):
    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[MessageStreamEvent]) -> None:
        self._events = events

    def __aiter__(self) -> _TextDeltas:
        return self

    async def __anext__(self) -> str:
        while True:
            event = await self._events.__anext__()
            if isinstance(event, TextEvent):
                return event.text


class _ItemClient:
    """The client as one item sees it: every attempt first passes the group's gate,
    and every response's headers are observed as soon as they arrive."""

    def __init__(self, fan: FanOut, handle: FanOutHandle, max_tokens: int) -> None:
        self._fan = fan
        self._inner = fan._client
        self._handle = handle
        self._max_tokens = max_tokens

    @property
    def timeout(self) -> Timeout:
        return self._inner.timeout

    @property
    def max_retries(self) -> int:
        return self._inner.max_retries

    def build_spec(self, kwargs: Mapping[str, Any], *, stream: bool) -> RequestSpec:
        return self._inner.build_spec(kwargs, stream=stream)

    async def open_response(self, spec: RequestSpec) -> WireResponse:
        handle = self._handle
        tokens = 0.0
        if handle._attempts == 0:
            # max_tokens plus ~4 bytes of request per input token, until usage is known.
            tokens = float(self._max_tokens) + len(spec.body) / 4.0
        await self._fan._gate(handle, tokens)
        handle._attempts += 1
        response = await self._inner.open_response(spec)
        handle._first_byte_at = trio.current_time()
        self._fan._observe(response)
        return response


# -- the fan-out -----------------------------------------------------------------------


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
    ) -> None:
        self._client = client
        self._on_error = on_error
        self._limiter = trio.CapacityLimiter(max_concurrency)
        self._queue_send, self._queue_receive = trio.open_memory_channel[FanOutHandle](max_pending)
        self._results_send, self._results_receive = trio.open_memory_channel[FanOutResult](math.inf)
        self._requests = _TokenBucket(requests_per_minute) if requests_per_minute else None
        self._tokens = _TokenBucket(tokens_per_minute) if tokens_per_minute else None
        self._paused_until = -math.inf
        self._keys: set[Hashable] = set()
        self._submitted = 0
        self._finished = 0
        self._running = 0
        self._done_submitting = False
        self._closed = False
        self._first_error: BaseException | None = None
        self._body_failed = False
        self._nursery: trio.Nursery | None = None
        self.rate_limit_headers: dict[str, str] = {}
        """The ``anthropic-ratelimit-*`` headers of the latest response that had any."""

    # -- public ------------------------------------------------------------------------

    async def submit(
        self,
        key: Hashable,
        *,
        event_handler: type[MessageStream] = MessageStream,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> FanOutHandle:
        """Queue one stream; wait while the queue holds ``max_pending`` items.

        Args:
            key: A hashable name for the item, unique within the fan-out; results
                carry it.
            event_handler: A :class:`MessageStream` subclass; its handlers run in the
                item's task as the stream is consumed.
            max_buffer_size: As for :func:`~trio_msgstream.open_message_stream`.
            timeout: Per-request timeout. Note that ``deadline`` also covers waits at
                the group's gate (pauses and budgets).
            max_retries: Per-request retry budget.
            extra_headers: Added to the request headers.
            extra_query: Added to the URL query.
            extra_body: Merged into the JSON body.
            **params: Messages API parameters (``model``, ``max_tokens``,
                ``messages``, ...).

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
        if not (isinstance(event_handler, type) and issubclass(event_handler, MessageStream)):
            raise TypeError(
                f"event_handler must be a MessageStream subclass, not {event_handler!r}"
            )
        if key in self._keys:
            raise ValueError(f"key {key!r} was already submitted to this fan-out")
        handle = FanOutHandle(
            self,
            key,
            dict(
                event_handler=event_handler,
                max_buffer_size=max_buffer_size,
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                **params,
            ),
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
            paused_for=max(self._paused_until - trio.current_time(), 0.0),
        )

    def pause_new_starts(self, seconds: float) -> None:
        """Hold every new request of the group (retries too) for ``seconds``.

        This is what a 429/529 with ``retry-after`` does; a pause only ever grows.
        """
        self._paused_until = max(self._paused_until, trio.current_time() + seconds)

    # -- gate and observation ------------------------------------------------------------

    async def _wait_unpaused(self) -> None:
        while True:
            until = self._paused_until  # a pause may grow while sleeping
            if trio.current_time() >= until:
                return
            await trio.sleep_until(until)

    async def _gate(self, handle: FanOutHandle, tokens: float) -> None:
        while True:
            await self._wait_unpaused()
            if self._requests is not None:
                await self._requests.take(1.0)
            if self._tokens is not None and tokens:
                await self._tokens.take(tokens)
                handle._token_estimate = tokens  # reserved: corrected when the item ends
                tokens = 0.0
            if trio.current_time() >= self._paused_until:
                return
            # A pause began while waiting for the budgets: honour it too.

    def _observe(self, response: WireResponse) -> None:
        headers = response.headers
        if response.status_code in PAUSE_STATUSES:
            try:
                wait = retry_after_from_headers(headers)
            except (TypeError, ValueError, OverflowError):
                wait = None
            if wait is not None:
                self.pause_new_starts(min(wait, MAX_RETRY_AFTER))
        limits = {
            name.lower(): value
            for name, value in headers.items()
            if name.lower().startswith("anthropic-ratelimit-")
        }
        if limits:
            self.rate_limit_headers = limits
            wait = _ratelimit_pause(limits)
            if wait is not None:
                self.pause_new_starts(min(wait, MAX_RETRY_AFTER))

    def _correct_tokens(self, handle: FanOutHandle) -> None:
        reserved, handle._token_estimate = handle._token_estimate, 0.0
        if self._tokens is None or not reserved:
            return
        usage, streamed = handle._usage, handle._stream is not None
        if usage is not None:
            actual = usage.input_tokens + usage.output_tokens
            actual += usage.cache_creation_input_tokens or 0
            self._tokens.give_back(reserved - actual)
        elif not streamed:
            # No response streamed: the API did not spend the tokens.
            self._tokens.give_back(reserved)
        # Otherwise (cancelled or failed mid-stream without usage) keep the estimate.

    # -- tasks ---------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        assert self._nursery is not None
        async with self._queue_receive:
            async for handle in self._queue_receive:
                if handle._state != _QUEUED:
                    continue  # cancelled while queued
                await self._limiter.acquire_on_behalf_of(handle)
                if handle._state != _QUEUED:
                    self._limiter.release_on_behalf_of(handle)
                    continue
                handle._state = _RUNNING
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
            self._correct_tokens(handle)
            self._running -= 1
            self._limiter.release_on_behalf_of(handle)
            handle._state = _DONE
            handle._close_subscribers()
            handle._started.set()
            handle._done.set()

    async def _stream_item(self, handle: FanOutHandle) -> None:
        kwargs = dict(handle._kwargs)
        max_tokens = kwargs.get("max_tokens")
        client = _ItemClient(self, handle, max_tokens if isinstance(max_tokens, int) else 0)
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
                        await handle._publish(event)
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
        handle._close_subscribers()
        handle._started.set()

    def _emit(
        self,
        handle: FanOutHandle,
        result: outcome.Value[Message] | outcome.Error,
        *,
        usage: Usage | None,
    ) -> None:
        now = trio.current_time()
        start = handle._slot_at
        if start is None:
            metrics = FanOutMetrics(
                queued=now - handle._submitted_at,
                time_to_first_byte=None,
                time_to_first_text=None,
                duration=0.0,
                events=0,
                retries=0,
                usage=None,
            )
        else:
            metrics = FanOutMetrics(
                queued=start - handle._submitted_at,
                time_to_first_byte=(
                    handle._first_byte_at - start if handle._first_byte_at is not None else None
                ),
                time_to_first_text=(
                    handle._first_text_at - start if handle._first_text_at is not None else None
                ),
                duration=now - start,
                events=handle._events,
                retries=max(handle._attempts - 1, 0),
                usage=usage,
            )
        fan_result = FanOutResult(key=handle.key, outcome=result, metrics=metrics)
        handle._result = fan_result
        handle._state = _DONE
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
