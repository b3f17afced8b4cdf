"""The trio runtime: one producer task per stream, consumers on a bounded channel.

Theory of operation::

    caller's nursery
     └── producer task (MessageStream._produce)      one per stream
          ├─ sends the request, retries, checks status and content-type,
          │  then reports started (so HTTP errors raise where the caller
          │  enters ``async with``)
          ├─ reads the body, feeds the sans-IO StreamEngine
          └─ sends one batch of events per network chunk ──┐
                                                           ▼
                                  bounded memory channel (backpressure)
                                                           │
    consumer task(s), one at a time ◀──────────────────────┘
     ├─ async for event in stream / stream.text_stream
     ├─ runs the handlers (on_text, on_message, ...) in the consumer's task
     └─ until_done / get_final_message / get_final_text

The producer never raises into the caller's nursery. Once it has reported started it
captures its own failure as an ``outcome.Error``, closes the channel, and the consumer
raises that error itself (not wrapped in an ExceptionGroup). Cancellation is never
captured: ``trio.Cancelled`` always propagates.

Timeouts are cancel scopes: ``deadline`` wraps the whole producer, ``content_idle`` is
a scope whose deadline follows the last non-ping event (moved in steps of
``content_idle / 1000`` s, and paused while the producer waits for a slow consumer),
and connect/read/write/pool are passed to the transport.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import outcome
import trio

from .._core.config import DEFAULT_MAX_BUFFER_SIZE
from .._core.engine import StreamEngine
from .._core.events import (
    MessageStopEvent,
    MessageStreamEvent,
    TextEvent,
)
from .._core.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    IncompleteStreamError,
    StreamProtocolError,
)
from .._core.handlers import handler_call, is_content, on_text_takes_snapshot, overridden_handlers
from .._core.models import ContentBlock, Message, TextBlock
from .._core.request import RequestSpec
from .._core.retry import error_headers, is_retryable, retry_delay
from .._core.status import MAX_ERROR_BODY, status_error
from .wire import WireClient, WireResponse

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MessageStream", "StreamStatistics"]

logger = logging.getLogger("trio_msgstream")

RESPONSE_CLOSE_TIMEOUT = 5.0
"""Seconds the producer gives the transport to release a connection on the way out;
closing must finish even when the stream is being cancelled."""


@dataclass(frozen=True)
class StreamStatistics:
    """A snapshot of a stream's counters (see :meth:`MessageStream.statistics`)."""

    attempts: int
    """Requests sent (1 + retries)."""
    retries: int
    events_received: int
    """Typed events decoded by the producer in the current attempt (pings included)."""
    bytes_received: int
    """Body bytes read by the producer in the current attempt."""
    batches_buffered: int
    """Batches (one per network chunk) waiting in the channel for the consumer."""
    max_buffer_size: int
    finished: bool
    """The producer task has exited."""


class _Producer:
    """The producer machinery: request, retries, pumping, failure capture."""

    _started = False

    def __init__(
        self,
        client: WireClient,
        spec: RequestSpec,
        *,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    ) -> None:
        self._client = client
        self._spec = spec
        self._max_buffer_size = max_buffer_size
        send, receive = trio.open_memory_channel[list[MessageStreamEvent]](max_buffer_size)
        self._send_channel: trio.MemorySendChannel[list[MessageStreamEvent]] = send
        self._receive_channel: trio.MemoryReceiveChannel[list[MessageStreamEvent]] = receive
        self._close_scope = trio.CancelScope()
        self._producer_done = trio.Event()
        self._result: outcome.Outcome[None] | None = None
        self._engine: StreamEngine | None = None
        self._response: WireResponse | None = None
        self._closed = False
        self._content_sent = False
        self._attempts = 0
        self._retries = 0
        self._consumer: trio.lowlevel.Task | None = None

    # -- introspection -------------------------------------------------------------

    @property
    def response(self) -> Any:
        """The ``httpx.Response`` of the attempt that is streaming (headers only)."""
        return self._response.raw if self._response is not None else None

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` header of the response, when one arrived."""
        return self._response.request_id if self._response is not None else None

    @property
    def attempts(self) -> int:
        """Requests sent so far (1 + retries)."""
        return self._attempts

    @property
    def retries(self) -> int:
        """Retries done so far."""
        return self._retries

    def statistics(self) -> StreamStatistics:
        """Counters of this stream. Sync; never blocks."""
        engine = self._engine
        return StreamStatistics(
            attempts=self._attempts,
            retries=self._retries,
            events_received=engine.events_received if engine is not None else 0,
            bytes_received=engine.bytes_received if engine is not None else 0,
            batches_buffered=self._receive_channel.statistics().current_buffer_used,
            max_buffer_size=self._max_buffer_size,
            finished=self._producer_done.is_set(),
        )

    # -- producer --------------------------------------------------------------------

    async def _produce(self, *, task_status: trio.TaskStatus[None]) -> None:
        """The producer task. Raises into the caller only before it reports started."""
        deadline = self._spec.timeout.deadline
        deadline_scope = trio.CancelScope(
            deadline=trio.current_time() + deadline if deadline is not None else math.inf
        )
        try:
            async with self._send_channel:
                with self._close_scope:
                    with deadline_scope:
                        try:
                            await self._attempt_loop(task_status)
                            self._result = outcome.Value(None)
                        except APIError as exc:
                            if not self._started:
                                raise
                            self._result = outcome.Error(exc)
                    if deadline_scope.cancelled_caught:
                        error = self._fail(
                            APITimeoutError(
                                f"the stream's deadline of {deadline} s passed",
                                which="deadline",
                            )
                        )
                        if not self._started:
                            raise error
                        self._result = outcome.Error(error)
        finally:
            self._producer_done.set()

    def _fail(self, exc: APIError) -> APIError:
        if self._engine is not None:
            return self._engine.fail(exc)
        return exc

    async def _attempt_loop(self, task_status: trio.TaskStatus[None]) -> None:
        def new_attempt() -> None:
            self._attempts += 1
            self._retries = self._attempts - 1
            self._engine = StreamEngine()

        await run_with_retries(
            self._spec,
            lambda: self._attempt(task_status),
            before_attempt=new_attempt,
            may_retry=lambda: not self._content_sent,
            fail=self._fail,
        )

    async def _attempt(self, task_status: trio.TaskStatus[None]) -> None:
        response = await self._client.open_response(self._spec)
        self._response = response
        engine = self._engine
        assert engine is not None
        engine.request_id = response.request_id
        try:
            await check_sse_response(response)
            if not self._started:
                self._started = True
                task_status.started()
            try:
                await self._pump(response, engine)
            except APIConnectionError:
                # After message_stop the message is complete (and delivered): a
                # connection that breaks or times out while the end of the body is
                # read does not fail the stream. The connection is discarded.
                if not engine.done:
                    raise
        finally:
            await close_response(response)

    async def _pump(self, response: WireResponse, engine: StreamEngine) -> None:
        idle = self._spec.timeout.content_idle
        # Moving a cancel scope's deadline is not free, so it is not moved on every
        # content event: only once the last one is ``slack`` newer than the deadline
        # allows, and then ``slack`` past what is needed. The timeout thus fires
        # between ``idle`` and ``idle + slack`` after the last content event.
        slack = idle / 1000 if idle is not None else 0.0
        # Until the first content event, events are held back: a failure then can
        # still be retried without the consumer having seen anything but this.
        held: list[MessageStreamEvent] = []
        with trio.CancelScope() as idle_scope:
            if idle is not None:
                idle_scope.deadline = trio.current_time() + idle + slack
            chunks = response.iter_chunks()
            try:
                async for chunk in chunks:
                    events = self._feed(engine, chunk)
                    if not events:
                        continue
                    if idle is not None:
                        for event in events:
                            if event.type != "ping":
                                now = trio.current_time()
                                if now + idle > idle_scope.deadline:
                                    idle_scope.deadline = now + idle + slack
                                break
                    if not self._content_sent:
                        held.extend(events)
                        if not _has_content(held):
                            continue
                        events, held = held, []
                    if self._deliver_nowait(events):
                        # Room in the channel: no wait, so no scheduler round trip per
                        # network chunk.
                        continue
                    # Waiting for a slow consumer must not count as an idle stream:
                    # the idle clock stops while the producer waits.
                    remaining = idle_scope.deadline - trio.current_time()
                    idle_scope.deadline = math.inf
                    if not await self._deliver(events):
                        return
                    if idle is not None:
                        idle_scope.deadline = trio.current_time() + remaining
            finally:
                await _aclose_iterator(chunks)
            # The body was read to EOF (past message_stop), so the connection can go
            # back to the pool.
            tail: list[MessageStreamEvent] = held + self._finish(engine)
            if tail:
                await self._deliver(tail)
        if idle_scope.cancelled_caught:
            raise APITimeoutError(
                f"no event but pings for {idle} s (content_idle timeout)", which="content_idle"
            )

    def _feed(self, engine: StreamEngine, chunk: bytes) -> list[MessageStreamEvent]:
        events: list[MessageStreamEvent] = engine.receive_data(chunk)
        return events

    def _finish(self, engine: StreamEngine) -> list[MessageStreamEvent]:
        events: list[MessageStreamEvent] = engine.receive_eof()
        return events

    def _deliver_nowait(self, batch: list[MessageStreamEvent]) -> bool:
        """Send a batch if the channel has room, without yielding; ``False`` otherwise
        (full, or closed: then :meth:`_deliver` waits, or reports the consumer gone).

        The producer still checkpoints on every socket read and whenever the channel
        is full, so a cancellation is seen within ``max_buffer_size`` batches.
        """
        try:
            self._send_channel.send_nowait(batch)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        self._content_sent = True
        return True

    async def _deliver(self, batch: list[MessageStreamEvent]) -> bool:
        """Send a batch to the consumer; ``False`` when the consumer is gone."""
        self._content_sent = True
        try:
            await self._send_channel.send(batch)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    # -- consumer side ---------------------------------------------------------------

    def _enter_consumer(self) -> None:
        task = trio.lowlevel.current_task()
        if self._consumer is not None and self._consumer is not task:
            raise trio.BusyResourceError(
                "another task is already reading this stream; "
                "one consumer at a time (use text_stream or events from one task)"
            )
        self._consumer = task

    def _exit_consumer(self) -> None:
        self._consumer = None

    async def _receive_batch(self) -> list[MessageStreamEvent] | None:
        """The next batch, or ``None`` at a clean end; raises the stream's failure."""
        # A batch already waiting is taken without a scheduler round trip (the channel
        # is bounded, so this cannot starve other tasks); otherwise wait below.
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            return self._receive_channel.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            pass  # the same again below, where it is handled
        try:
            return await self._receive_channel.receive()
        except trio.EndOfChannel:
            pass
        except trio.ClosedResourceError:
            if not self._closed:
                raise
            return None
        result = self._result
        if isinstance(result, outcome.Error):
            raise result.error
        if result is None and not self._closed:
            # The producer was cancelled from outside (its nursery's scope) while
            # this consumer was not: say so rather than end as if complete.
            raise self._fail(IncompleteStreamError("the stream's producer task was cancelled"))
        return None

    async def aclose(self) -> None:
        """Abort the request and release its connection. Idempotent; any task may call it.

        Cancellation: the producer is cancelled and waited for; releasing the
        connection is shielded and bounded by ``RESPONSE_CLOSE_TIMEOUT``, so this
        returns promptly even when the calling task is being cancelled.
        """
        self._closed = True
        self._close_scope.cancel()
        if not self._producer_done.is_set():
            with trio.CancelScope(shield=True):
                await self._producer_done.wait()
        await self._receive_channel.aclose()

    async def close(self) -> None:
        """Same as :meth:`aclose` (the SDK's name)."""
        await self.aclose()


_T = TypeVar("_T")


async def run_with_retries(
    spec: RequestSpec,
    attempt: Callable[[], Awaitable[_T]],
    *,
    before_attempt: Callable[[], None],
    may_retry: Callable[[], bool],
    fail: Callable[[APIError], APIError],
) -> _T:
    """Run ``attempt`` until it succeeds or the retry budget of ``spec`` is spent.

    A failure is retried when it is retryable (see ``is_retryable``), the budget has
    room, and ``may_retry()`` says nothing has reached the consumer yet. The wait
    between attempts honours the server's ``retry-after`` headers.
    """
    retries = 0
    while True:
        before_attempt()
        try:
            return await attempt()
        except APIError as exc:
            error = fail(exc)
            if retries >= spec.max_retries or not may_retry() or not is_retryable(error):
                raise error from exc.__cause__
            delay = retry_delay(retries, headers=error_headers(error))
            retries += 1
            logger.info(
                "retrying request (retry %d of %d) in %.2f s after %s: %s",
                retries,
                spec.max_retries,
                delay,
                type(error).__name__,
                error.message,
            )
            await trio.sleep(delay)


async def raise_for_status(response: WireResponse) -> None:
    """Raise the typed :class:`APIStatusError` for a non-2xx response.

    The body is read (at most ``MAX_ERROR_BODY`` bytes) so the error carries the API's
    message; the caller closes the response.
    """
    if not 200 <= response.status_code < 300:
        body = await response.read_bounded(MAX_ERROR_BODY)
        raise status_error(
            response.status_code,
            body,
            request_id=response.request_id,
            response=response.raw,
            request=response.request,
        )


async def check_sse_response(response: WireResponse) -> None:
    """Raise the typed error for a response that is not a 2xx event stream
    (see :func:`raise_for_status`); the caller closes the response."""
    await raise_for_status(response)
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("text/event-stream"):
        body = await response.read_bounded(1024)
        raise StreamProtocolError(
            f"expected content-type text/event-stream, got {content_type!r}",
            request=response.request,
            body=body.decode("utf-8", "replace"),
        )


async def close_response(response: WireResponse) -> None:
    """Release a response's connection, shielded and bounded (safe while cancelled)."""
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + RESPONSE_CLOSE_TIMEOUT
        await response.aclose()


async def _aclose_iterator(iterator: AsyncIterator[bytes]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with trio.CancelScope(shield=True):
            await aclose()


def _has_content(events: list[Any]) -> bool:
    return any(is_content(event) for event in events)


class MessageStream(_Producer):
    """A streaming Messages API response: events, text, and the final message.

    Made by :func:`open_message_stream` or ``client.messages.stream(...)``; not
    constructed directly. Subclass it and override the ``on_*`` methods to handle
    events, and pass the class as ``event_handler=``. Handlers run in the task that
    consumes the stream, never in the producer, in event order.

    Iterate it for every event (raw wire events plus the derived ``text``,
    ``input_json``, ``thinking``, ``signature`` and ``citation`` events; pings are
    visible), or use :attr:`text_stream` for just the text. Only one task may consume
    it at a time (:class:`trio.BusyResourceError` otherwise).
    """

    _on_text_takes_snapshot = True
    _overridden: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._overridden = overridden_handlers(cls, MessageStream)
        cls._on_text_takes_snapshot = on_text_takes_snapshot(cls.on_text)

    def __init__(
        self,
        client: WireClient,
        spec: RequestSpec,
        *,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    ) -> None:
        super().__init__(client, spec, max_buffer_size=max_buffer_size)
        self._batch: list[MessageStreamEvent] = []
        self._batch_pos = 0
        self._final_message: Message | None = None
        self._end_fired = False
        self._finished = False

    # -- handlers (override these) --------------------------------------------------

    async def on_stream_event(self, event: MessageStreamEvent) -> None:
        """Every event, raw and derived, before the specific handler runs."""

    async def on_text(self, text: str, snapshot: str) -> None:
        """A text delta and the block's whole text so far.

        An override that takes only ``(self, text)`` is called with the delta alone,
        and the snapshot is never built.
        """

    async def on_input_json(self, partial_json: str, snapshot: Any) -> None:
        """A piece of a tool's JSON input and the partial parse of the input so far."""

    async def on_thinking(self, thinking: str, snapshot: str) -> None:
        """A thinking delta and the block's thinking so far."""

    async def on_signature(self, signature: str) -> None:
        """The signature of a thinking block."""

    async def on_citation(self, citation: Any, snapshot: list[Any]) -> None:
        """A citation and the block's citations so far."""

    async def on_content_block(self, content_block: ContentBlock) -> None:
        """A finished content block (``content_block_stop``)."""

    async def on_message(self, message: Message) -> None:
        """The finished message (``message_stop``)."""

    async def on_exception(self, exception: Exception) -> None:
        """The stream failed with ``exception`` (it is raised to the consumer next)."""

    async def on_timeout(self) -> None:
        """A timeout fired (before :meth:`on_exception`)."""

    async def on_end(self) -> None:
        """The last call for every stream: after success, failure or close. Exactly once."""

    # -- state -------------------------------------------------------------------------

    @property
    def current_message_snapshot(self) -> Message | None:
        """The message accumulated so far; ``None`` before ``message_start``.

        Readable at any time, including after a failure. It can be ahead of the
        events the consumer has seen by up to ``max_buffer_size`` network chunks.
        """
        if self._final_message is not None:
            return self._final_message
        engine = self._engine
        return engine.snapshot() if engine is not None else None

    # -- consuming ---------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> MessageStreamEvent:
        event = await self._next_event()
        if event is None:
            raise StopAsyncIteration
        return event

    async def _next_event(self) -> MessageStreamEvent | None:
        pos = self._batch_pos
        if pos < len(self._batch) and self._consumer is None and not self._overridden:
            # The common case: the event is in the batch at hand and there are no
            # handlers. Nothing here awaits, so no other task can be consuming at the
            # same time; skip the consumer bookkeeping.
            event = self._batch[pos]
            self._batch_pos = pos + 1
            if isinstance(event, MessageStopEvent):
                self._final_message = event.message
            return event
        self._enter_consumer()
        try:
            if self._batch_pos >= len(self._batch):
                if not await self._refill():
                    return None
            event = self._batch[self._batch_pos]
            self._batch_pos += 1
            if self._overridden:
                await self._dispatch(event)
            elif isinstance(event, MessageStopEvent):
                self._final_message = event.message
            return event
        finally:
            self._exit_consumer()

    async def _refill(self) -> bool:
        if self._finished:
            await trio.lowlevel.checkpoint()
            self._raise_if_failed()
            return False
        try:
            batch = await self._receive_batch()
        except APIError as exc:
            self._finished = True
            await self._fire_failure(exc)
            raise
        if batch is None:
            self._finished = True
            await self._fire_end()
            return False
        self._batch, self._batch_pos = batch, 0
        return True

    def _raise_if_failed(self) -> None:
        if isinstance(self._result, outcome.Error):
            raise self._result.error

    async def _fire_failure(self, exc: Exception) -> None:
        try:
            if isinstance(exc, APITimeoutError):
                await self.on_timeout()
            await self.on_exception(exc)
        finally:
            await self._fire_end()

    async def _fire_end(self) -> None:
        if not self._end_fired:
            self._end_fired = True
            await self.on_end()

    async def _dispatch(self, event: MessageStreamEvent) -> None:
        if "on_stream_event" in self._overridden:
            await self.on_stream_event(event)
        if isinstance(event, MessageStopEvent):
            self._final_message = event.message
        call = handler_call(event, self._overridden, self._on_text_takes_snapshot)
        if call is not None:
            name, args = call
            await getattr(self, name)(*args)

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The text deltas alone (handlers still run)."""
        return _TextStream(self)

    async def until_done(self) -> None:
        """Consume the stream to its end (running the handlers).

        Raises:
            APIError: The stream failed (the error itself, with ``partial_message``).
            trio.ClosedResourceError: The stream was closed before ``message_stop``.
        """
        while await self._next_event() is not None:
            pass
        if self._final_message is None:
            if self._closed:
                raise trio.ClosedResourceError("the stream was closed before message_stop")
            raise self._fail(IncompleteStreamError("the stream ended before message_stop"))

    async def get_final_message(self) -> Message:
        """Consume the stream to its end and return the accumulated message."""
        await self.until_done()
        assert self._final_message is not None
        return self._final_message

    async def get_final_text(self) -> str:
        """Consume the stream and return the text of all text blocks, concatenated."""
        message = await self.get_final_message()
        return "".join(block.text for block in message.content if isinstance(block, TextBlock))

    async def aclose(self) -> None:
        """Abort the request and release its connection; then run ``on_end`` once.

        Idempotent and callable from any task. After ``close()`` an iteration in
        progress ends, and :meth:`get_final_message` raises
        :class:`trio.ClosedResourceError` unless the message was already complete.
        """
        try:
            await super().aclose()
        finally:
            if not self._end_fired:
                with trio.CancelScope(shield=True):
                    await self._fire_end()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _TextStream(AsyncIterator[str]):
    __slots__ = ("_stream",)

    def __init__(self, stream: MessageStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextStream:
        return self

    async def __anext__(self) -> str:
        next_event = self._stream._next_event
        while True:
            event = await next_event()
            if event is None:
                raise StopAsyncIteration
            if isinstance(event, TextEvent):
                return event.text
