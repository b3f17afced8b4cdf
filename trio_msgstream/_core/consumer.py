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

from .events import MessageStopEvent, MessageStreamEvent
from .exceptions import APIError, APITimeoutError, IncompleteStreamError, StreamClosedError
from .models import Message, TextBlock

__all__ = ["StreamConsumer", "joined_text"]


def joined_text(message: Message) -> str:
    """The text of all text blocks of ``message``, concatenated."""
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


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
        "position",
    )

    def __init__(
        self, closed_error: Callable[[str], StreamClosedError] = StreamClosedError
    ) -> None:
        self.batch: list[MessageStreamEvent] = []
        self.position = 0
        self.final_message: Message | None = None
        self.finished = False
        """The producer's end was seen (clean or failed)."""
        self.closed = False
        self.end_fired = False
        self.error: APIError | None = None
        self._closed_error = closed_error

    def take(self) -> MessageStreamEvent | None:
        """The next event of the batch at hand, or ``None`` when it is used up."""
        position = self.position
        batch = self.batch
        if position >= len(batch):
            return None
        event = batch[position]
        self.position = position + 1
        if isinstance(event, MessageStopEvent):
            self.final_message = event.message
        return event

    def refill(self, batch: list[MessageStreamEvent]) -> None:
        """A new batch from the producer."""
        self.batch = batch
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
        self.batch = []
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
