"""The consumer's side of a stream: its position, its final message, its end hooks.

Part of the sans-IO core. The async :class:`~trio_msgstream.MessageStream` and the sync
:class:`~trio_msgstream.SyncMessageStream` keep one :class:`StreamConsumer` each and
ask it what to do; they differ only in how they wait for the next batch and whether
they ``await`` the handlers. So the rules below hold for both clients by construction:

- events are handed out in order from the batch at hand; ``message_stop`` records the
  final message; after ``close()`` none is handed out;
- the end hooks run exactly once per stream: on failure ``on_timeout`` (for a timeout),
  then ``on_exception``, then ``on_end``; on success or close ``on_end`` alone; a
  request that fails before streaming runs them too (its stream object exists);
- after the end, asking for the final message returns it, raises the stream's error,
  or raises :class:`StreamClosedError` when the stream was closed before
  ``message_stop``; a stream whose events simply stopped raises
  :class:`IncompleteStreamError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import APIError, APITimeoutError, IncompleteStreamError, StreamClosedError
from ..schema.models import Message, TextBlock
from ..typed_json.structured import OutputTracker
from .events import MessageStopEvent, MessageStreamEvent, TextEvent
from .lazy_deltas import PendingDeltaEvent

__all__ = ["StreamConsumer", "StreamView", "joined_text"]

_NO_EVENTS: list[Any] = []  # never appended to: every consumer's empty batch


def joined_text(message: Message) -> str:
    """The text of all text blocks of ``message``, concatenated."""
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


def _built(event: Any) -> MessageStreamEvent:
    if event.__class__ is PendingDeltaEvent:
        built: MessageStreamEvent = event.build()
        return built
    typed: MessageStreamEvent = event
    return typed


class StreamConsumer:
    """Position, final message and end-hook bookkeeping of one stream's consumer.

    Args:
        closed_error: Builds the error for a stream closed before ``message_stop``
            (the async client's is also a ``trio.ClosedResourceError``).
    """

    __slots__ = (
        "_closed_error",
        "batch",
        "closed",
        "end_fired",
        "error",
        "final_message",
        "finished",
        "output",
        "position",
    )

    def __init__(
        self, closed_error: Callable[[str], StreamClosedError] = StreamClosedError
    ) -> None:
        self.batch: list[MessageStreamEvent] = _NO_EVENTS
        self.position = 0
        self.final_message: Message | None = None
        self.finished = False
        """The producer's end was seen (clean or failed)."""
        self.closed = False
        self.end_fired = False
        self.error: APIError | None = None
        self._closed_error = closed_error
        self.output: OutputTracker[Any] | None = None
        """Follows the structured output (a stream with ``output_format``)."""

    def take(self) -> MessageStreamEvent | None:
        """The next event of the batch at hand, or ``None`` when it is used up."""
        position = self.position
        batch = self.batch
        if position >= len(batch):
            self._release()
            return None
        event: Any = batch[position]
        self.position = position + 1
        kind = event.__class__
        if kind is PendingDeltaEvent:
            built: MessageStreamEvent = event.build()
            return built
        if kind is MessageStopEvent:
            self.final_message = event.message
        typed: MessageStreamEvent = event
        return typed

    def take_rest(self, *, events: bool = True) -> list[MessageStreamEvent]:
        """The events of the batch at hand not yet handed out, all at once (for
        consumers that walk a batch locally rather than one call per event).

        Args:
            events: The caller looks at the events (``False``: it only needs the
                batch used up and the final message noted, and the lazy deltas in
                the returned list are left unbuilt).
        """
        position = self.position
        batch = self.batch
        rest = batch[position:] if position else batch
        self._release()
        if rest and isinstance(rest[-1], MessageStopEvent):
            self.final_message = rest[-1].message
        else:
            for event in rest:
                if isinstance(event, MessageStopEvent):
                    self.final_message = event.message
        if events:
            rest = [_built(event) for event in rest]
        return rest

    def take_for_handlers(self, every_event: bool) -> list[MessageStreamEvent]:
        """:meth:`take_rest` for a stream with handlers: with ``every_event`` (an
        ``on_stream_event`` override) every event, built; otherwise the lazy deltas are
        left out, as no other handler takes a raw delta."""
        rest: list[Any] = self.take_rest(events=every_event)
        if every_event:
            return rest
        return [event for event in rest if event.__class__ is not PendingDeltaEvent]

    def next_text(self) -> str | None:
        """The text of the next text event in the batch at hand (skipping the other
        events, noting ``message_stop``), or ``None`` when the batch is used up."""
        batch = self.batch
        position = self.position
        end = len(batch)
        while position < end:
            event = batch[position]
            position += 1
            kind = event.__class__
            if kind is TextEvent:
                self.position = position
                return event.text  # type: ignore[union-attr]
            if kind is MessageStopEvent:
                self.final_message = event.message  # type: ignore[union-attr]
        self._release()
        return None

    def _release(self) -> None:
        # A used-up batch is dropped at once: a stream waiting for its next chunk then
        # keeps none of the events (message_start, pings, ...) it already handed out.
        self.batch = _NO_EVENTS
        self.position = 0

    def refill(self, batch: list[MessageStreamEvent]) -> None:
        """A new batch from the producer."""
        self.batch = batch if self.output is None else self.output.observe(batch)
        self.position = 0

    @property
    def exhausted(self) -> bool:
        """Nothing more will come: the end was seen or the stream was closed."""
        return self.finished or self.closed

    def end_hooks(self, error: BaseException | None) -> list[str]:
        """The end hooks to run now, in order, for a stream ending with ``error``
        (``None``: success or close). Marks the stream finished and the hooks fired."""
        self.finished = True
        if isinstance(error, APIError) and self.error is None:
            self.error = error
        if self.end_fired:
            return []
        self.end_fired = True
        if error is None:
            return ["on_end"]
        hooks = ["on_timeout"] if isinstance(error, APITimeoutError) else []
        return [*hooks, "on_exception", "on_end"]

    def mark_closed(self) -> None:
        """The stream is closed: nothing more is handed out, not even the rest of the
        batch at hand (an iteration in progress ends at its next step)."""
        self.closed = True
        self.batch = _NO_EVENTS
        self.position = 0

    def close_hooks(self) -> list[str]:
        """The hooks to run when the stream is closed: ``on_end`` if not yet run."""
        self.mark_closed()
        if self.end_fired:
            return []
        self.end_fired = True
        return ["on_end"]

    def result(self, fail: Callable[[APIError], APIError]) -> Message:
        """The final message once the stream has ended; raises otherwise.

        Args:
            fail: Attaches the partial message to an error (the session's).
        """
        if self.final_message is not None:
            return self.final_message
        if self.error is not None:
            raise self.error
        if self.closed:
            raise self._closed_error("the stream was closed before message_stop")
        raise fail(IncompleteStreamError("the stream ended before message_stop"))

    def final(self, fail: Callable[[APIError], APIError]) -> Message:
        """:meth:`result`, parsed (a ``ParsedMessage``) when the stream has an
        ``output_format``; raises its ``StructuredOutputError`` otherwise."""
        message = self.result(fail)
        return message if self.output is None else self.output.parse_final(message)


class StreamView:
    """The read-only state both clients' streams show, from their producer and consumer.

    Mixed into :class:`~trio_msgstream.MessageStream` and
    :class:`~trio_msgstream.SyncMessageStream`, whose producers both have ``session``
    and ``response`` attributes.
    """

    _producer: Any
    _consumer: StreamConsumer

    @property
    def current_message_snapshot(self) -> Message | None:
        """The message accumulated so far; ``None`` before ``message_start``.

        Readable at any time, including after a failure. In the async client it can
        be ahead of the events the consumer has seen by up to ``max_buffer_size``
        batches (each at most one decoding step of body).
        """
        if self._consumer.final_message is not None:
            return self._consumer.final_message
        engine = self._producer.session.engine
        snapshot: Message | None = engine.snapshot() if engine is not None else None
        return snapshot

    @property
    def partial_output(self) -> Any:
        """With ``output_format``: the output validated from the text seen so far
        (fields not received yet are ``None``); ``None`` otherwise."""
        output = self._consumer.output
        return output.partial_output if output is not None else None

    @property
    def response(self) -> Any:
        """The ``httpx.Response`` of the attempt that is streaming (headers only)."""
        response = self._producer.response
        return response.raw if response is not None else None

    @property
    def request_id(self) -> str | None:
        """The response's request id (its ``request-id`` header, ``x-amzn-RequestId`` on
        Amazon Bedrock), when one arrived."""
        response = self._producer.response
        request_id: str | None = response.request_id if response is not None else None
        return request_id

    @property
    def attempts(self) -> int:
        """Requests sent so far (1 + retries)."""
        attempts: int = self._producer.session.attempts
        return attempts

    @property
    def retries(self) -> int:
        """Retries done so far."""
        retries: int = self._producer.session.retries
        return retries
