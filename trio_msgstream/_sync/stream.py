"""The synchronous stream: the sans-IO session and consumer, driven in the caller's thread.

There is no background task and no thread: the consumer's own thread pulls the body,
one network chunk at a time, through a generator (the "producer") that feeds the same
:class:`~trio_msgstream._core.request.session.RequestSession` the trio producer feeds, and the
same :class:`~trio_msgstream._core.stream.consumer.StreamConsumer` keeps the position, the
final message and the end-hook rules. A failure before any content reached the
consumer is retried as in the async client.

Timeouts: ``connect``/``read``/``write``/``pool`` go to httpx, clamped by the session
to the request's deadline and the idle deadline; the clock is checked whenever a chunk
arrives. So a stream that keeps sending pings is noticed as idle at the first ping
after its ``content_idle`` ran out. At ``message_stop`` the iteration ends; the rest
of the body is read for at most ``DRAIN_TIMEOUT`` seconds (for the connection's reuse).

Ctrl-C: a :class:`KeyboardInterrupt` raised while reading closes the response (and so
the connection) on its way out; leaving the ``with`` block closes the stream too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._core.config import DRAIN_TIMEOUT
from .._core.exceptions import APIError
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
from .._core.typed_json.structured import OutputParser, OutputTracker
from .request import new_session, open_checked, run_attempts
from .response import SyncHttpxWireResponse

if TYPE_CHECKING:
    from typing import Self

    from .client import Client

__all__ = ["SyncMessageStream", "SyncMessageStreamManager"]

_S = TypeVar("_S", bound="SyncMessageStream")

Batch = list[MessageStreamEvent]


class SyncMessageStream(StreamView):
    """A streaming Messages API response, read synchronously.

    Made by ``client.messages.stream(...)`` on a :class:`Client`; not constructed
    directly. The synchronous twin of :class:`~trio_msgstream.MessageStream`: iterate
    it for every event, use :attr:`text_stream` for the text, or call
    :meth:`get_final_message`. Subclass it and override the ``on_*`` methods (plain
    ``def``) to handle events; pass the class as ``event_handler=``. Handlers run in
    the thread that consumes the stream, in event order.

    The stream is meant to be read by one thread. :meth:`close` may be called from
    another thread to abort a read in progress.
    """

    _on_text_takes_snapshot = True
    _overridden: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._overridden = overridden_handlers(cls, SyncMessageStream)
        cls._on_text_takes_snapshot = on_text_takes_snapshot(cls.on_text)

    def __init__(self, client: Client, spec: RequestSpec) -> None:
        self._producer: _SyncProducer = _SyncProducer(client, spec)
        self._consumer = StreamConsumer()

    # -- handlers (override these) ----------------------------------------------------

    def on_stream_event(self, event: MessageStreamEvent) -> None:
        """Every event the API sent (pings included), once, before the specific handler
        runs; the derived events (``text``, ``input_json``...) only go to their own."""

    def _on_text(self, text: str, snapshot: str) -> None:
        """A text delta and the block's whole text so far.

        An override may take ``(self, text, snapshot)`` or, as in the seed document,
        just ``(self, text)``: then it is called with the delta alone and the snapshot
        is never built. Both forms type-check as overrides.
        """

    on_text: Callable[..., None] = _on_text
    """A text delta (and the block's text so far); see :meth:`_on_text`."""

    def on_input_json(self, partial_json: str, snapshot: Any) -> None:
        """A piece of a tool's JSON input and the partial parse of the input so far."""

    def on_thinking(self, thinking: str, snapshot: str) -> None:
        """A thinking delta and the block's thinking so far."""

    def on_signature(self, signature: str) -> None:
        """The signature of a thinking block."""

    def on_citation(self, citation: Any, snapshot: list[Any]) -> None:
        """A citation and the block's citations so far."""

    def on_content_block(self, content_block: ContentBlock) -> None:
        """A finished content block (``content_block_stop``)."""

    def on_message(self, message: Message) -> None:
        """The finished message (``message_stop``)."""

    def on_exception(self, exception: Exception) -> None:
        """The stream failed with ``exception`` (it is raised to the consumer next)."""

    def on_timeout(self) -> None:
        """A timeout fired (before :meth:`on_exception`)."""

    def on_end(self) -> None:
        """The last call for every stream: after success, failure or close. Exactly once."""

    # -- state -----------------------------------------------------------------------

    # -- consuming ---------------------------------------------------------------------

    def _next_event(self) -> MessageStreamEvent | None:
        consumer = self._consumer
        try:
            event = consumer.take()
            while event is None:
                if not self._refill():
                    return None
                event = consumer.take()
            if self._overridden:
                self._dispatch(event)
            return event
        except (KeyboardInterrupt, SystemExit):
            # Ctrl-C: drop the connection now rather than when the object is collected.
            self.close()
            raise

    def _refill(self) -> bool:
        consumer = self._consumer
        if consumer.exhausted:
            if consumer.error is not None:
                raise consumer.error
            return False
        if consumer.final_message is not None:
            # message_stop was handed out: the stream is over now, without waiting
            # for the end of the body (closing reads it, bounded).
            self._run_hooks(consumer.end_hooks(None), None)
            return False
        try:
            batch = self._producer.next_batch()
        except APIError as exc:
            if consumer.closed:
                # Closed from another thread: the broken read is expected.
                self._run_hooks(consumer.close_hooks(), None)
                return False
            self._run_hooks(consumer.end_hooks(exc), exc)
            raise
        if batch is None:
            self._run_hooks(consumer.end_hooks(None), None)
            return False
        consumer.refill(batch)
        return True

    def _run_hooks(self, hooks: list[str], error: BaseException | None) -> None:
        try:
            for name in hooks:
                if name == "on_exception":
                    assert isinstance(error, Exception)
                    self.on_exception(error)
                elif name != "on_end":
                    getattr(self, name)()
        finally:
            if "on_end" in hooks:
                self.on_end()

    def _dispatch(self, event: MessageStreamEvent) -> None:
        if "on_stream_event" in self._overridden and is_api_event(event):
            self.on_stream_event(event)
        call = handler_call(event, self._overridden, self._on_text_takes_snapshot)
        if call is not None:
            name, args = call
            getattr(self, name)(*args)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> MessageStreamEvent:
        event = self._next_event()
        if event is None:
            raise StopIteration
        return event

    @property
    def text_stream(self) -> Iterator[str]:
        """The text deltas alone (handlers still run)."""
        consumer = self._consumer
        while True:
            if not self._overridden:
                text = consumer.next_text()
                if text is not None:
                    yield text
                    continue
            event = self._next_event()
            if event is None:
                return
            if isinstance(event, TextEvent):
                yield event.text

    def until_done(self) -> None:
        """Consume the stream to its end (running the handlers).

        Raises:
            APIError: The stream failed (the error itself, with ``partial_message``).
            StreamClosedError: The stream was closed before ``message_stop``.
        """
        consumer = self._consumer
        try:
            while True:
                # Walk each batch locally: no per-event call (handlers run in order).
                if self._overridden:
                    every = "on_stream_event" in self._overridden
                    for event in consumer.take_for_handlers(every):
                        self._dispatch(event)
                else:
                    consumer.take_rest(events=False)
                if not self._refill():
                    break
        except (KeyboardInterrupt, SystemExit):
            self.close()
            raise
        consumer.result(self._producer.session.fail)

    def get_final_message(self) -> Message:
        """Consume the stream to its end and return the accumulated message (with
        ``output_format``, a :class:`~trio_msgstream.ParsedMessage`)."""
        self.until_done()
        return self._consumer.final(self._producer.session.fail)

    def get_final_text(self) -> str:
        """Consume the stream and return the text of all text blocks, concatenated."""
        return joined_text(self.get_final_message())

    def close(self) -> None:
        """Abort the request and release its connection; then run ``on_end`` once.

        Idempotent. From the consuming thread it closes the response at once; from
        another thread it closes the response under a read in progress, which then
        ends the iteration quietly.
        """
        self._consumer.mark_closed()
        if self._producer.close():
            self._run_hooks(self._consumer.close_hooks(), None)

    def _fail_before_start(self, error: APIError) -> None:
        self._run_hooks(self._consumer.end_hooks(error), error)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _SyncProducer:
    """The sync stream's request and body: a generator of batches, run on demand."""

    def __init__(self, client: Client, spec: RequestSpec) -> None:
        self.client = client
        self.session = new_session(client, spec, "stream")
        self.response: SyncHttpxWireResponse | None = None
        self._batches: Iterator[Batch] | None = None
        self._chunks: Iterator[bytes] = iter(())
        self.closed = False

    def start(self) -> None:
        """Send the request (with retries) until a 2xx event stream answers."""
        self._open()
        self._batches = self._produce()

    def _open(self) -> None:
        session = self.session
        self.response = run_attempts(session, lambda: open_checked(self.client, session))

    def next_batch(self) -> Batch | None:
        """The next batch of events, or ``None`` at the end."""
        if self._batches is None:
            return None
        return next(self._batches, None)

    def _produce(self) -> Iterator[Batch]:
        session = self.session
        while True:
            response = self.response
            assert response is not None
            try:
                yield from self._pump(response)
                return
            except APIError as exc:
                if self.closed:
                    return  # closed from another thread: the broken read is expected
                delay = session.after_failure(exc, time.monotonic())
            finally:
                if session.done:
                    # The message is complete; its body is read to the end (bounded)
                    # only now, when the stream is closed, so the consumer never
                    # waited for it.
                    response.drain(self._chunks, DRAIN_TIMEOUT)
                response.close()
            time.sleep(delay)
            self._open()

    def _pump(self, response: SyncHttpxWireResponse) -> Iterator[Batch]:
        session = self.session
        chunks = self._chunks = response.iter_chunks()
        for chunk in chunks:
            now = time.monotonic()
            if now >= session.wait_deadline:
                raise session.timeout_error(now)
            events = session.receive_data(chunk, now)
            if not events:
                continue
            if session.done:
                session.succeed(session.engine.snapshot() if session.engine else None)
                yield events
                return
            session.consumer_holds(now)
            yield events
            session.resume_idle(time.monotonic())
        tail = session.receive_eof()
        if tail:
            yield tail

    def close(self) -> bool:
        """Close the body; ``True`` when done here, ``False`` when another thread is
        reading it (its read is cut and that thread ends the iteration)."""
        self.closed = True
        self.session.abandon()  # no-op after the end was recorded
        batches = self._batches
        if batches is not None:
            try:
                batches.close()  # type: ignore[attr-defined]
            except ValueError:
                # The generator is running in another thread: cut its connection.
                if self.response is not None:
                    self.response.abort()
                return False
        # Closing a generator that never started does not run its ``finally``: a
        # stream left unread still holds its response, released here (idempotent).
        if self.response is not None:
            self.response.close()
        return True


class SyncMessageStreamManager(Generic[_S]):
    """What ``client.messages.stream(...)`` returns: ``with`` it for a stream.

    Entering sends the request (with retries) and checks the status, so an error
    status raises there. Leaving closes the stream and its connection.
    """

    def __init__(
        self,
        client: Client,
        event_handler: type[_S],
        spec: RequestSpec,
        output: OutputParser[Any] | None = None,
    ) -> None:
        self._client = client
        self._event_handler = event_handler
        self._spec = spec
        self._stream: _S | None = None
        self._output = output

    def __enter__(self) -> _S:
        if self._stream is not None:
            raise RuntimeError("a SyncMessageStreamManager can be entered once")
        stream = self._event_handler(self._client, self._spec)
        self._stream = stream
        if self._output is not None:
            stream._consumer.output = OutputTracker(self._output)
        try:
            stream._producer.start()
        except APIError as exc:
            # As with the async client: the end hooks run, then the error comes out.
            stream._fail_before_start(exc)
            raise
        return stream

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()
