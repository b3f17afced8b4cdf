"""The stream engine: response bytes in, consumer events out, errors typed.

Part of the sans-IO core (no trio, no httpx). Both the trio runtime and the sync client
drive this same object, so decoding, validation, accumulation and the failure rules
exist once.

Theory of operation: :meth:`StreamEngine.receive_data` feeds body bytes to the SSE
decoder, validates each complete SSE event into a typed event, applies it to the
:class:`MessageAccumulator` and returns what the consumer should see. It raises for
everything that is not a clean stream:

- an ``error`` event: the :class:`APIStatusError` subclass its ``error.type`` names,
  marked ``mid_stream``;
- malformed SSE/JSON, bytes that are not UTF-8 (binary garbage; the SSE spec would
  silently replace them), a grammar violation (in raw mode too: a block index that
  was never started or is out of order) or an oversize event:
  :class:`StreamProtocolError`;
- end of data before ``message_stop``: :class:`IncompleteStreamError`.

Every error raised after ``message_start`` carries ``partial_message``. Once an error
has been raised, the engine is failed and raises the same error again when fed.

The stream ends at ``message_stop``. Whatever follows it (the API sends nothing) is
ignored and logged at DEBUG on the ``trio_msgstream`` logger: events of any kind,
``error`` events, malformed or oversize data, bytes that are not UTF-8. The rule is
the same whether those bytes came in the chunk that carried ``message_stop`` or in a
later one, so the result never depends on how the network cut the body.

Framing: how the body is cut into events is a table entry, a :class:`Framing` picked
by the response's media type (:data:`FRAMINGS` holds ``text/event-stream``; a client
adds its own, as the Bedrock client adds AWS event-stream frames). Every framing's
decoder has the :class:`EventDecoder` interface of the SSE decoder and yields the same
``(event, data)`` records, so everything after it is shared.

The hot path: a chunk that is exactly one event skips the decoder's queue, and with
``lazy_deltas`` (the accumulating stream's engine) a canonical delta is applied from
its JSON without building the pydantic event (see :mod:`.lazy_deltas`). A chunk that
is exactly one canonical text or tool input delta in ASCII, as the API sends nearly
every event, is read whole by one regular expression (``match_chunk``) while the
decoder only counts its bytes (``SSEDecoder.skip_event``, refused while a block, a CR
or a BOM is pending); the lazy engine applies it, the raw engine validates its data
with the delta validator alone.
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..exceptions import (
    APIError,
    APIStatusError,
    IncompleteStreamError,
    StreamProtocolError,
    error_class_for_type,
)
from ..redact import redact
from ..schema.models import Message
from .accumulate import MessageAccumulator
from .events import (
    MessageStreamEvent,
    RawContentBlockStartEvent,
    RawErrorEvent,
    RawMessageStartEvent,
    RawMessageStreamEvent,
    parse_event,
    parse_known_delta,
)
from .grammar import StreamGrammar
from .lazy_deltas import PendingDeltaEvent, delta_of_chunk, match_chunk, scan_delta
from .sse import DEFAULT_MAX_EVENT_SIZE, NEED_DATA, NeedData, ServerSentEvent, SSEDecoder

__all__ = ["FRAMINGS", "SSE_FRAMING", "EventDecoder", "Framing", "StreamEngine", "media_type"]

_KEPT_AS_JSON = (RawMessageStartEvent, RawContentBlockStartEvent)
"""Events whose model the accumulator keeps as their JSON text (``keep_as_json``)."""


class EventDecoder(Protocol):
    """What the engine needs of a decoder (the interface of :class:`SSEDecoder`)."""

    @property
    def bytes_received(self) -> int: ...

    @property
    def discarded_at_eof(self) -> bool: ...

    def receive_data(self, data: bytes) -> None: ...

    def receive_single(self, data: bytes) -> tuple[str, str] | None: ...

    def next_event(self) -> ServerSentEvent | NeedData: ...


@dataclass(frozen=True)
class Framing:
    """One way a streaming body is cut into events: an entry of a framing table.

    Attributes:
        media_type: The response ``content-type`` it is chosen by (lower case).
        decoder: Makes the decoder, given ``max_event_size``.
        text: The body is UTF-8 text, checked as it arrives (binary framings check
            their own payloads).
    """

    media_type: str
    decoder: Callable[[int], EventDecoder]
    text: bool


def _sse_decoder(max_event_size: int) -> EventDecoder:
    return SSEDecoder(max_event_size=max_event_size)


SSE_FRAMING = Framing("text/event-stream", _sse_decoder, text=True)
"""Server-Sent Events: the Messages API's own framing."""

FRAMINGS: Mapping[str, Framing] = {SSE_FRAMING.media_type: SSE_FRAMING}
"""The framing table of a first-party client: media type -> :class:`Framing`."""


def media_type(content_type: str) -> str:
    """The media type of a ``content-type`` value, lower case, without parameters."""
    return content_type.partition(";")[0].strip().lower()


_logger = logging.getLogger("trio_msgstream")


class StreamEngine:
    """Decode, validate and accumulate one Messages API event stream.

    Args:
        accumulate: Build the message (the default). With ``False`` the engine only
            decodes and validates: the least memory, no snapshot, no derived events.
        max_event_size: The largest SSE event accepted, in bytes.
        request_id: Put on errors raised from this stream.
        secrets: The client's own key and token (see ``HttpxResponseView.secrets``):
            redacted from mid-stream errors, whose text comes from the server.
        framing: How the body is cut into events (SSE unless told; a session sets the
            response's own with :meth:`use_framing` before the body arrives).
        lazy_deltas: With ``accumulate``: a ``content_block_delta`` in its canonical
            shape is applied straight from its JSON, and stands in the returned events
            as a :class:`~trio_msgstream._core.stream.lazy_deltas.PendingDeltaEvent` whose typed
            event is built only if a consumer is handed it (the stream consumer does
            that). Errors, and the typed event once built, are the same.
    """

    __slots__ = (
        "_accumulator",
        "_decoder",
        "_error",
        "_grammar",
        "_lazy",
        "_max_event_size",
        "_skip_event",
        "_stopped",
        "_text",
        "_utf8",
        "_utf8_partial",
        "events_received",
        "request_id",
        "secrets",
    )

    def __init__(
        self,
        *,
        accumulate: bool = True,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        request_id: str | None = None,
        secrets: tuple[str, ...] = (),
        lazy_deltas: bool = False,
        framing: Framing = SSE_FRAMING,
    ) -> None:
        self._max_event_size = max_event_size
        self._decoder: EventDecoder = framing.decoder(max_event_size)
        self._text = framing.text
        self._accumulator = MessageAccumulator() if accumulate else None
        self._lazy = lazy_deltas and accumulate
        self._skip_event: Callable[[int], bool] | None = None
        self._use_fused_path()
        self.request_id: str | None = request_id
        """Put on the errors this engine raises."""
        self.secrets: tuple[str, ...] = secrets
        """Redacted from the errors this engine builds from the stream's text."""
        self._stopped = False
        # Made when first needed (a non-ASCII chunk; raw mode): most streams of an
        # accumulating client never need them, and a waiting stream keeps less.
        self._utf8: codecs.IncrementalDecoder | None = None
        self._utf8_partial = False
        self._grammar: StreamGrammar | None = None if accumulate else StreamGrammar()
        self._error: APIError | None = None
        self.events_received: int = 0
        """Typed events decoded so far (pings included)."""

    def use_framing(self, framing: Framing) -> None:
        """Decode the body with ``framing`` (the response's, chosen by its media type).

        Raises:
            RuntimeError: Body bytes were already received.
        """
        if self._decoder.bytes_received:
            raise RuntimeError("the framing cannot change once the body has begun")
        self._decoder = framing.decoder(self._max_event_size)
        self._text = framing.text
        self._use_fused_path()

    def _use_fused_path(self) -> None:
        # The fused hot path of receive_data needs a decoder that can count a chunk
        # read past it (the SSE decoder), and a lazy or a raw engine: the eager
        # accumulating one builds every event first.
        fused = self._lazy or self._accumulator is None
        self._skip_event = getattr(self._decoder, "skip_event", None) if fused else None

    @property
    def accumulator(self) -> MessageAccumulator | None:
        return self._accumulator

    @property
    def done(self) -> bool:
        """``message_stop`` has been received."""
        return self._stopped

    @property
    def failed(self) -> bool:
        return self._error is not None

    @property
    def bytes_received(self) -> int:
        return self._decoder.bytes_received

    def snapshot(self) -> Message | None:
        """The message accumulated so far (``None`` before ``message_start``)."""
        return self._accumulator.snapshot() if self._accumulator is not None else None

    def receive_data(self, data: bytes) -> list[MessageStreamEvent]:
        """Feed body bytes; return the events now complete, in order.

        The stream ends at ``message_stop``: what follows it, in this chunk or a later
        one, yields nothing and raises nothing (it is logged at DEBUG).

        Raises:
            APIStatusError: A mid-stream ``error`` event (the subclass its type names).
            StreamProtocolError: Malformed or out-of-order data.
        """
        # (The body itself, not a call of a shared helper: this runs once per chunk.)
        if self._error is not None:
            raise self._error
        if self._stopped:
            self._ignore_after_stop(data)
            return []
        try:
            if self._skip_event is not None and not self._utf8_partial:
                # A canonical delta, one ASCII event per chunk: decoded and checked in
                # one match (lazy_deltas.match_chunk), then applied (or, raw, validated),
                # as the decoder, the UTF-8 check and _take would.
                match = match_chunk(data)
                if match is not None and self._skip_event(len(data)):
                    self.events_received += 1
                    accumulator = self._accumulator
                    if accumulator is not None:
                        raw, index, kind, value = delta_of_chunk(match)
                        return accumulator.apply_value(PendingDeltaEvent(raw), index, kind, value)
                    grammar = self._grammar
                    assert grammar is not None
                    event: Any = parse_known_delta(match[1])
                    grammar.delta(int(match[2]))
                    return [event]
            if self._text and (self._utf8_partial or not data.isascii()):
                bad_utf8 = self._check_utf8(data)
            else:
                bad_utf8 = None  # the usual chunk: ASCII, nothing pending
            if bad_utf8 is not None:
                # The bytes before the invalid sequence may complete events: they
                # belong in the partial message whatever the chunking was.
                valid, error = bad_utf8
                out = self._feed_and_salvage(valid)
                if self._stopped:  # the invalid bytes came after message_stop
                    self._log_ignored(f"data that is not UTF-8 ({error})")
                    return out
                raise error
            try:
                single = self._decoder.receive_single(data)
            except StreamProtocolError as exc:
                out = self._salvage()
                if self._stopped:  # the oversize event came after message_stop
                    self._log_ignored(str(exc))
                    return out
                raise
            if single is not None:
                out = []
                self._take(single[0], single[1], out)
                return out
            return self._drain()
        except APIError as exc:
            raise self._fail(exc) from None

    def receive_raw(self, data: bytes) -> list[RawMessageStreamEvent]:
        """Like :meth:`receive_data` for an engine made with ``accumulate=False``."""
        events: list[Any] = self.receive_data(data)
        return events

    def _salvage(self) -> list[Any]:
        # The decoder failed (an oversize event) after completing some events of the
        # same chunk: they still belong in the partial message (and, when they end
        # with message_stop, to the consumer).
        out: list[Any] = []
        try:
            self._drain(out)
        except APIError:
            pass  # the decoder's own error, raised by the caller
        return out

    def _feed_and_salvage(self, data: bytes) -> list[Any]:
        try:
            self._decoder.receive_data(data)
        except StreamProtocolError:
            pass  # the invalid UTF-8 is the error reported
        return self._salvage()

    def _ignore_after_stop(self, data: bytes) -> None:
        # Decode what follows message_stop only to say what it was.
        decoder = self._decoder
        try:
            decoder.receive_data(data)
            while True:
                sse = decoder.next_event()
                if sse is NEED_DATA:
                    return
                assert not isinstance(sse, type(NEED_DATA))
                self._log_ignored(f"a {sse.event!r} event")
        except (APIError, RuntimeError) as exc:
            self._log_ignored(f"undecodable data ({exc})")

    def _log_ignored(self, what: str) -> None:
        _logger.debug("trio_msgstream: ignored %s after message_stop", what)

    def _check_utf8(self, data: bytes) -> tuple[bytes, StreamProtocolError] | None:
        # An event stream is UTF-8 text; binary garbage is a protocol error, not
        # text with U+FFFD in it. A sequence cut at the chunk end is completed by
        # the next chunk (and at EOF it is part of the truncation, not an error).
        # Most chunks are pure ASCII: that needs no decoding, unless a multi-byte
        # sequence from the previous chunk is waiting to be completed.
        # Returns ``None`` for valid text, else the valid prefix and the error.
        if not self._utf8_partial and data.isascii():
            return None
        utf8 = self._utf8
        if utf8 is None:
            utf8 = self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        pending = len(utf8.getstate()[0])
        try:
            utf8.decode(data)
        except UnicodeDecodeError as exc:
            position = self.bytes_received - pending + exc.start
            return data[: max(exc.start - pending, 0)], StreamProtocolError(
                f"the body is not UTF-8 text (byte offset {position})"
            )
        self._utf8_partial = bool(utf8.getstate()[0])
        return None

    def receive_eof(self) -> list[Any]:
        """Signal the end of the body; return any events it completed.

        Raises:
            IncompleteStreamError: The body ended before ``message_stop``.
        """
        if self._error is not None:
            raise self._error
        if self._stopped:
            self._ignore_after_stop(b"")
            return []
        try:
            self._decoder.receive_data(b"")
            out = self._drain()
        except APIError as exc:
            raise self._fail(exc) from None
        if not self._stopped:
            raise self._fail(self._incomplete("the stream ended before message_stop"))
        return out

    def fail(self, exc: APIError) -> APIError:
        """Record a failure that happened outside the engine (a transport error or a
        timeout), attach the partial message, and return the error to raise."""
        if self._error is not None and exc is not self._error:
            return exc
        return self._fail(exc)

    def incomplete(self, reason: str) -> IncompleteStreamError:
        """An :class:`IncompleteStreamError` for a body cut off by the transport."""
        return self._incomplete(reason)

    def _incomplete(self, reason: str) -> IncompleteStreamError:
        detail = f"{reason} ({self._decoder.bytes_received} bytes, {self.events_received} events"
        if self._decoder.discarded_at_eof:
            detail += "; an unterminated event was discarded"
        return IncompleteStreamError(detail + ")")

    def _fail(self, exc: APIError) -> APIError:
        if exc.partial_message is None:
            exc.partial_message = self.snapshot()
        if isinstance(exc, APIStatusError) and exc.request_id is None:
            exc.request_id = self.request_id
        self._error = exc
        return exc

    def _drain(self, out: list[Any] | None = None) -> list[Any]:
        next_event = self._decoder.next_event
        if out is None:
            out = []
        while True:
            try:
                sse = next_event()
            except StreamProtocolError as exc:
                if not self._stopped:
                    raise
                self._log_ignored(str(exc))  # the decoder failed after message_stop
                return out
            if sse is NEED_DATA:
                return out
            assert not isinstance(sse, type(NEED_DATA))
            self._take(sse.event, sse.data, out)

    def _take(self, name: str, data: str, out: list[Any]) -> None:
        # One SSE event: validated, applied, and its consumer events appended to out.
        if self._stopped:
            self._log_ignored(f"a {name!r} event")
            return
        accumulator = self._accumulator
        if self._lazy and name == "content_block_delta":
            scanned = scan_delta(data)
            if scanned is not None:
                assert accumulator is not None
                self.events_received += 1
                out += accumulator.apply_value(PendingDeltaEvent(data), *scanned)
                return
        event = parse_event(name, data)
        self.events_received += 1
        if isinstance(event, RawErrorEvent):
            raise self._error_event(event)
        if accumulator is not None:
            out += accumulator.apply(event)
            self._stopped = accumulator.done
            if event.__class__ in _KEPT_AS_JSON:
                accumulator.keep_as_json(event, data)
            return
        self._check_raw_grammar(event)
        out.append(event)

    def _error_event(self, event: RawErrorEvent) -> APIStatusError:
        cls, status = error_class_for_type(event.error.type)
        body: object = event.model_dump()
        message = event.error.message or event.error.type
        if self.secrets:
            message = redact(message, self.secrets)
            body = json.loads(redact(json.dumps(body), self.secrets))
        return cls(
            message,
            status_code=status,
            type=event.error.type,
            mid_stream=True,
            request_id=self.request_id,
            body=body,
        )

    def _check_raw_grammar(self, event: RawMessageStreamEvent) -> None:
        # Raw mode keeps no message, but checks the stream's shape with the same
        # transition table as the accumulator (one message_start first, blocks
        # started in index order, deltas and stops only for open blocks).
        grammar = self._grammar
        assert grammar is not None
        kind = event.type
        if kind == "content_block_delta":
            grammar.delta(event.index)  # type: ignore[union-attr]
        elif kind == "message_start":
            message = getattr(event, "message", None)
            grammar.step(kind, initial_blocks=len(getattr(message, "content", None) or ()))
        else:
            grammar.step(kind, getattr(event, "index", None))
            self._stopped = grammar.done
