"""The consumer side of a stream: :class:`MessageStream`, its handlers and iterators.

A :class:`MessageStream` holds its :class:`~trio_msgstream._trio.producer.StreamProducer`
(it does not inherit it, so a user's ``on_*`` subclass shares its namespace with
two private attributes only) and a sans-IO
:class:`~trio_msgstream._core.stream.consumer.StreamConsumer` that keeps the position, the
final message and the end-hook rules — the same object the sync stream uses.

Iteration hands out the events of one network chunk without a scheduler round trip;
a batch not yet at hand is waited for on the producer's bounded channel. Handlers run
in the consuming task, in event order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import outcome
import trio

from .._core.config import DEFAULT_MAX_BUFFER_SIZE
from .._core.exceptions import APIError, StreamClosedError
from .._core.request.spec import RequestSpec
from .._core.schema.models import ContentBlock, Message
from .._core.stream.consumer import StreamConsumer, StreamView, joined_text
from .._core.stream.events import MessageStreamEvent, TextEvent
from .._core.stream.handlers import (
    handler_call,
    is_api_event,
    on_text_takes_snapshot,
    overridden_handlers,
)
from .producer import StreamProducer, incomplete_if_cancelled
from .wire import WireClient

if TYPE_CHECKING:
    from typing import Self

__all__ = ["MessageStream", "StreamStatistics", "TrioStreamClosedError"]


class TrioStreamClosedError(StreamClosedError, trio.ClosedResourceError):
    """:class:`StreamClosedError` of the async client; also a ``trio.ClosedResourceError``."""


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
    """Batches waiting in the channel for the consumer (each the events of one network
    chunk, or of several small ones read in a burst; see ``max_buffer_size``)."""
    max_buffer_size: int
    finished: bool
    """The producer task has exited."""


class MessageStream(StreamView):
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
        self._producer: StreamProducer = StreamProducer(
            client, spec, max_buffer_size=max_buffer_size
        )
        self._consumer = StreamConsumer(TrioStreamClosedError)
        self._consumer_task: trio.lowlevel.Task | None = None

    # -- handlers (override these) --------------------------------------------------

    async def on_stream_event(self, event: MessageStreamEvent) -> None:
        """Every event the API sent (pings included), once, before the specific handler
        runs; the derived events (``text``, ``input_json``...) only go to their own."""

    async def _on_text(self, text: str, snapshot: str) -> None:
        """A text delta and the block's whole text so far.

        An override may take ``(self, text, snapshot)`` or, as in the seed document,
        just ``(self, text)``: then it is called with the delta alone and the snapshot
        is never built. Both forms type-check as overrides.
        """

    on_text: Callable[..., Awaitable[None]] = _on_text
    """A text delta (and the block's text so far); see :meth:`_on_text`."""

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

    def statistics(self) -> StreamStatistics:
        """Counters of this stream. Sync; never blocks."""
        producer = self._producer
        engine = producer.engine
        return StreamStatistics(
            attempts=producer.session.attempts,
            retries=producer.session.retries,
            events_received=engine.events_received if engine is not None else 0,
            bytes_received=engine.bytes_received if engine is not None else 0,
            batches_buffered=producer.receive_channel.statistics().current_buffer_used,
            max_buffer_size=producer.max_buffer_size,
            finished=producer.finished,
        )

    # -- consuming ---------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> MessageStreamEvent:
        consumer = self._consumer
        if self._consumer_task is None and not self._overridden:
            # The common case: the event is in the batch at hand and there are no
            # handlers. Nothing here awaits, so no other task can be consuming at the
            # same time; skip the consumer bookkeeping.
            event = consumer.take()
            if event is not None:
                return event
        self._enter_consumer()
        try:
            event = consumer.take()
            while event is None:
                if not await self._refill():
                    raise StopAsyncIteration
                event = consumer.take()
            if self._overridden:
                await self._dispatch(event)
            return event
        finally:
            self._consumer_task = None

    def _enter_consumer(self) -> None:
        task = trio.lowlevel.current_task()
        if self._consumer_task is not None and self._consumer_task is not task:
            raise trio.BusyResourceError(
                "another task is already reading this stream; "
                "one consumer at a time (use text_stream or events from one task)"
            )
        self._consumer_task = task

    async def _refill(self) -> bool:
        """Wait for the next batch and make it the batch at hand. ``False`` at the end
        (after the end hooks); the stream's failure is raised (after the end hooks).

        The wait happens in this frame (a waiting consumer keeps one frame of ours
        below its iterator's)."""
        consumer = self._consumer
        if consumer.exhausted:
            await trio.lowlevel.checkpoint()
            if consumer.error is not None:
                raise consumer.error
            return False
        producer = self._producer
        channel = producer.receive_channel
        try:
            if producer.queued:
                # A batch already waiting is taken without a scheduler round trip (the
                # channel is bounded, so this cannot starve other tasks).
                await trio.lowlevel.checkpoint_if_cancelled()
                batch = _receive_nowait(channel)
                if batch is None:  # (not expected: a queued batch is in the channel)
                    batch = await channel.receive()
            else:
                # Nothing sent is waiting: wait for the next batch (or the end) at once,
                # without first asking the channel (a paced stream's every event).
                batch = await channel.receive()
        except trio.EndOfChannel:
            at_end = True
        except trio.ClosedResourceError:
            if not consumer.closed:
                raise
            at_end = False  # closed by this stream's aclose(): a clean end
        else:
            # Receiving a batch stops the producer extending it (``open_batch``).
            producer.queued -= 1
            producer.open_batch = None
            consumer.refill(batch)
            return True
        if at_end:
            try:
                self._raise_failure()
            except APIError as exc:
                await self._run_hooks(consumer.end_hooks(exc), exc)
                raise
        await self._run_hooks(consumer.end_hooks(None), None)
        return False

    def _raise_failure(self) -> None:
        """At the end of the channel: raise the stream's failure, if it failed."""
        producer = self._producer
        result = producer.result
        if isinstance(result, outcome.Error):
            raise result.error
        if result is None and not self._consumer.closed:
            # The producer was cancelled from outside (its nursery's scope) while
            # this consumer was not: say so rather than end as if complete.
            raise incomplete_if_cancelled(producer)

    async def _run_hooks(self, hooks: list[str], error: BaseException | None) -> None:
        # Every hook runs, even if an earlier one raises; on_end is always last.
        try:
            for name in hooks:
                if name == "on_exception":
                    assert isinstance(error, Exception)
                    await self.on_exception(error)
                elif name != "on_end":
                    await getattr(self, name)()
        finally:
            if "on_end" in hooks:
                await self.on_end()

    async def _dispatch(self, event: MessageStreamEvent) -> None:
        if "on_stream_event" in self._overridden and is_api_event(event):
            await self.on_stream_event(event)
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
            StreamClosedError: The stream was closed before ``message_stop`` (also a
                ``trio.ClosedResourceError``).
        """
        consumer = self._consumer
        while True:
            # Walk each batch locally: no per-event call (handlers run in order).
            self._enter_consumer()
            try:
                if self._overridden:
                    every = "on_stream_event" in self._overridden
                    for event in consumer.take_for_handlers(every):
                        await self._dispatch(event)
                else:
                    consumer.take_rest(events=False)
                more = await self._refill()
            finally:
                self._consumer_task = None
            if not more:
                break
        consumer.result(self._producer.fail)

    async def get_final_message(self) -> Message:
        """Consume the stream to its end and return the accumulated message (with
        ``output_format``, a :class:`~trio_msgstream.ParsedMessage`)."""
        await self.until_done()
        return self._consumer.final(self._producer.fail)

    async def get_final_text(self) -> str:
        """Consume the stream and return the text of all text blocks, concatenated."""
        return joined_text(await self.get_final_message())

    async def aclose(self) -> None:
        """Abort the request and release its connection; then run ``on_end`` once.

        Idempotent and callable from any task. The producer is cancelled and waited
        for; releasing the connection is shielded and bounded, so this returns
        promptly even when the calling task is being cancelled. After ``close()`` an
        iteration in progress ends, and :meth:`get_final_message` raises
        :class:`StreamClosedError` unless the message was already complete.
        """
        hooks = self._consumer.close_hooks()
        try:
            await self._producer.aclose()
        finally:
            if hooks:
                with trio.CancelScope(shield=True):
                    await self._run_hooks(hooks, None)

    async def close(self) -> None:
        """Same as :meth:`aclose` (the SDK's name)."""
        await self.aclose()

    async def _fail_before_start(self, error: BaseException) -> None:
        """The request failed before streaming: the end hooks still run, once."""
        with trio.CancelScope(shield=True):
            await self._run_hooks(self._consumer.end_hooks(error), error)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _receive_nowait(
    channel: trio.MemoryReceiveChannel[list[MessageStreamEvent]],
) -> list[MessageStreamEvent] | None:
    """A batch already in the channel, or ``None``. (Its own frame: an exception caught
    in a waiting coroutine's frame makes that frame keep a frame object, 240 bytes.)"""
    try:
        return channel.receive_nowait()
    except trio.WouldBlock:
        return None


class _TextStream(AsyncIterator[str]):
    __slots__ = ("_stream",)

    def __init__(self, stream: MessageStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextStream:
        return self

    async def __anext__(self) -> str:
        stream = self._stream
        if stream._consumer_task is None and not stream._overridden:
            # The common case, no handlers: the texts of each batch, and the wait for
            # the next batch, right here.
            consumer = stream._consumer
            text = consumer.next_text()
            if text is not None:
                return text
            stream._enter_consumer()
            try:
                while True:
                    if not await stream._refill():
                        raise StopAsyncIteration
                    text = consumer.next_text()
                    if text is not None:
                        return text
            finally:
                stream._consumer_task = None
        while True:  # with handlers: every event goes through them, in order
            event = await stream.__anext__()
            if isinstance(event, TextEvent):
                return event.text
