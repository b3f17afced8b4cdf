"""Sans-IO decoder (and encoder) for AWS event-stream frames: Bedrock's streaming body.

Part of the sans-IO core (no trio, no httpx, stdlib only). Amazon Bedrock answers a
streaming request (``invoke-with-response-stream``) with
``application/vnd.amazon.eventstream``: a sequence of binary frames instead of
Server-Sent Events. :class:`EventStreamDecoder` turns those frames into the same
``(event, data)`` records the SSE decoder yields, so the stream engine, the
accumulator, the error rules and the retries are the ones of a first-party stream.

Theory of operation
-------------------
A frame (AWS calls it a message) is::

    prelude:  total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32)
    headers:  headers-length bytes of (name length u8, name, value type u8, value)
    payload:  total - headers - 16 bytes
    trailer:  CRC32 of everything before it (u32)

all integers big-endian. :meth:`EventStreamDecoder.receive_data` appends to one
buffer; as soon as 12 bytes are in, the prelude is checked (its CRC, and a total length
between 16 bytes and ``max_event_size``), so a corrupt or oversize frame fails before
its body is buffered. Once the whole frame is in, its trailer CRC is checked, its
headers parsed and the frame translated by ``:message-type``:

=================  =====================================================================
``event``          ``:event-type`` ``chunk``: the payload is ``{"bytes": base64(JSON)}``
                   and the JSON is one Messages API event; it is queued as
                   ``(json["type"], json text)``. Other event types carry no content
                   (logged and skipped).
``exception``      ``:exception-type`` (``throttlingException``, ...) and the payload's
                   ``message``: queued as an ``error`` event whose ``error.type`` is the
                   exception type, so the engine raises the typed error it maps to
                   (:data:`~trio_msgstream._core.error_codes.TYPE_CLASS_NAMES`) with
                   the partial message, and a failure before content is retried.
``error``          ``:error-code`` and ``:error-message`` headers: the same.
=================  =====================================================================

Anything else (bad CRC, a header of an unknown type, a chunk that is not base64 JSON
of an event, a frame larger than ``max_event_size``) is a
:class:`~trio_msgstream.StreamProtocolError`, after which the decoder is broken for
good. Events completed before the failure are still handed out. Results never depend
on how the body is split into reads.

Frame layout: https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html
(the same encoding for every AWS event stream).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import struct
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final, NoReturn

from ..exceptions import StreamProtocolError
from ..stream.sse import DEFAULT_MAX_EVENT_SIZE, NEED_DATA, NeedData, ServerSentEvent

__all__ = [
    "EVENTSTREAM_CONTENT_TYPE",
    "EventStreamDecoder",
    "HeaderValue",
    "encode_chunk",
    "encode_exception",
    "encode_frame",
]

logger = logging.getLogger("trio_msgstream")

EVENTSTREAM_CONTENT_TYPE: Final = "application/vnd.amazon.eventstream"

_PRELUDE: Final = struct.Struct(">III")
_PRELUDE_SIZE: Final = 12
_OVERHEAD: Final = 16  # prelude and trailer
_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")

HeaderValue = bool | int | bytes | str
"""A decoded header value (timestamps as milliseconds, UUIDs as 16 bytes)."""

# value type -> (fixed size or None for a u16-length-prefixed value, reader of the bytes)
_HEADER_TYPES: Final[dict[int, tuple[int | None, Callable[[bytes], HeaderValue]]]] = {
    0: (0, lambda _: True),
    1: (0, lambda _: False),
    2: (1, lambda b: int.from_bytes(b, "big", signed=True)),
    3: (2, lambda b: int.from_bytes(b, "big", signed=True)),
    4: (4, lambda b: int.from_bytes(b, "big", signed=True)),
    5: (8, lambda b: int.from_bytes(b, "big", signed=True)),
    6: (None, bytes),
    7: (None, lambda b: b.decode("utf-8")),
    8: (8, lambda b: int.from_bytes(b, "big", signed=True)),
    9: (16, bytes),
}


class _Corrupt(Exception):
    """A frame that does not parse (turned into StreamProtocolError with context)."""


def _parse_headers(raw: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    at, end = 0, len(raw)
    try:
        while at < end:
            (name_len,) = _U8.unpack_from(raw, at)
            name = raw[at + 1 : at + 1 + name_len].decode("utf-8")
            at += 1 + name_len
            (kind,) = _U8.unpack_from(raw, at)
            at += 1
            if kind not in _HEADER_TYPES:
                raise _Corrupt(f"header {name!r} has an unknown value type {kind}")
            size, read = _HEADER_TYPES[kind]
            if size is None:
                (size,) = _U16.unpack_from(raw, at)
                at += 2
            if at + size > end:
                raise _Corrupt(f"header {name!r} runs past the headers")
            headers[name] = read(raw[at : at + size])
            at += size
    except (struct.error, UnicodeDecodeError) as exc:
        raise _Corrupt(f"malformed headers ({exc})") from None
    return headers


def _error_data(error_type: str, message: str) -> str:
    return json.dumps({"type": "error", "error": {"type": error_type, "message": message}})


def _chunk_event(payload: bytes) -> tuple[str, str]:
    try:
        wrapper = json.loads(payload)
        raw = base64.b64decode(wrapper["bytes"], validate=True)
        text = raw.decode("utf-8")
        event = json.loads(text)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _Corrupt(f"a chunk is not base64-encoded event JSON ({exc!r})") from None
    kind = event.get("type") if isinstance(event, dict) else None
    if not isinstance(kind, str) or not kind:
        raise _Corrupt("a chunk's event has no type")
    return kind, text


def _exception_event(headers: Mapping[str, HeaderValue], payload: bytes) -> tuple[str, str]:
    kind = headers.get(":exception-type")
    try:
        body = json.loads(payload) if payload else {}
    except ValueError:
        body = payload.decode("utf-8", "replace")
    message = body.get("message", body.get("Message")) if isinstance(body, dict) else body
    return "error", _error_data(
        kind if isinstance(kind, str) else "exception",
        message if isinstance(message, str) and message else str(kind),
    )


def _error_frame_event(headers: Mapping[str, HeaderValue], payload: bytes) -> tuple[str, str]:
    code = headers.get(":error-code")
    message = headers.get(":error-message")
    return "error", _error_data(
        code if isinstance(code, str) else "error",
        message if isinstance(message, str) else payload.decode("utf-8", "replace"),
    )


def _event_frame(headers: Mapping[str, HeaderValue], payload: bytes) -> tuple[str, str] | None:
    kind = headers.get(":event-type")
    if kind == "chunk":
        return _chunk_event(payload)
    logger.debug("skipping an event-stream event of type %r", kind)
    return None


_BY_MESSAGE_TYPE: Final[
    dict[str, Callable[[Mapping[str, HeaderValue], bytes], tuple[str, str] | None]]
] = {
    "event": _event_frame,
    "exception": _exception_event,
    "error": _error_frame_event,
}


class EventStreamDecoder:
    """Incremental, sans-IO decoder of an AWS event stream into Messages API events.

    The same interface as :class:`~trio_msgstream._core.stream.sse.SSEDecoder` (the stream
    engine drives either): :meth:`receive_data` (``b""`` is EOF), :meth:`next_event`,
    :meth:`receive_single`, :meth:`feed`. Each event is a
    :class:`~trio_msgstream._core.stream.sse.ServerSentEvent` whose ``event`` is the Messages
    event type (``error`` for an exception frame) and whose ``data`` is its JSON.

    Args:
        max_event_size: The largest frame accepted, in bytes (prelude to trailer).
    """

    __slots__ = (
        "_buf",
        "_bytes_received",
        "_discarded_at_eof",
        "_eof",
        "_error",
        "_events",
        "_max",
        "_need",
    )

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size < _OVERHEAD:
            raise ValueError(f"max_event_size must be at least {_OVERHEAD}, got {max_event_size}")
        self._max = max_event_size
        self._buf = bytearray()
        self._need = _PRELUDE_SIZE  # bytes the buffer must hold before the next step
        self._events: deque[ServerSentEvent] = deque()
        self._bytes_received = 0
        self._eof = False
        self._discarded_at_eof = False
        self._error: str | None = None

    @property
    def bytes_received(self) -> int:
        """The number of raw bytes received so far."""
        return self._bytes_received

    @property
    def discarded_at_eof(self) -> bool:
        """Whether EOF cut off a frame, which was then thrown away."""
        return self._discarded_at_eof

    @property
    def eof(self) -> bool:
        """Whether EOF (``receive_data(b"")``) has been received."""
        return self._eof

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the body; ``b""`` means EOF.

        Raises:
            StreamProtocolError: A corrupt or oversize frame, or the decoder already
                failed.
            RuntimeError: Data arrived after EOF.
        """
        if self._error is not None:
            self._raise_broken()
        if self._eof:
            raise RuntimeError("data received after EOF")
        if not data:
            self._eof = True
            self._discarded_at_eof = bool(self._buf)
            self._buf = bytearray()
            return
        self._bytes_received += len(data)
        buf = self._buf
        buf += data
        while len(buf) >= self._need:
            if self._need == _PRELUDE_SIZE:
                self._need = self._check_prelude(buf)
                continue
            self._take_frame(buf, self._need)
            del buf[: self._need]
            self._need = _PRELUDE_SIZE

    def receive_single(self, data: bytes) -> tuple[str, str] | None:
        """:meth:`receive_data`, but a read that is exactly one frame, while nothing is
        buffered or queued, is not queued: its ``(event, data)`` is returned at once
        (a stream read one frame per network read). ``None`` otherwise."""
        if (
            not self._buf
            and not self._events
            and self._error is None
            and not self._eof
            and len(data) >= _OVERHEAD
        ):
            total = int.from_bytes(data[:4], "big")
            if total == len(data):
                self._bytes_received += total
                self._check_prelude(data)
                return self._decode_frame(data)
        self.receive_data(data)
        return None

    def next_event(self) -> ServerSentEvent | NeedData:
        """The next complete event, or :data:`NEED_DATA`.

        Raises:
            StreamProtocolError: The decoder failed earlier (once the events completed
                before the failure have been handed out).
        """
        if self._events:
            return self._events.popleft()
        if self._error is not None:
            self._raise_broken()
        return NEED_DATA

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Receive ``data`` and return every event that is now complete."""
        self.receive_data(data)
        out = list(self._events)
        self._events.clear()
        return out

    # -- internals ------------------------------------------------------------------

    def _raise_broken(self) -> NoReturn:
        raise StreamProtocolError(f"event-stream decoder is in an error state: {self._error}")

    def _fail(self, message: str) -> NoReturn:
        self._error = message
        self._buf = bytearray()
        raise StreamProtocolError(message)

    def _check_prelude(self, buf: bytes | bytearray) -> int:
        total, headers_len, crc = _PRELUDE.unpack_from(buf, 0)
        if zlib.crc32(memoryview(buf)[:8]) != crc:
            self._fail("event-stream frame: prelude CRC mismatch")
        if total > self._max:
            self._fail(f"event-stream frame of {total} bytes exceeds max_event_size ({self._max})")
        if total < _OVERHEAD or headers_len > total - _OVERHEAD:
            self._fail(f"event-stream frame: bad lengths (total {total}, headers {headers_len})")
        return int(total)

    def _take_frame(self, buf: bytearray, total: int) -> None:
        decoded = self._decode_frame(memoryview(buf)[:total])
        if decoded is not None:
            event = ServerSentEvent(event=decoded[0], data=decoded[1])
            self._events.append(event)

    def _decode_frame(self, frame: bytes | bytearray | memoryview) -> tuple[str, str] | None:
        total = len(frame)
        (crc,) = struct.unpack_from(">I", frame, total - 4)
        if zlib.crc32(frame[: total - 4]) != crc:
            self._fail("event-stream frame: message CRC mismatch")
        (headers_len,) = struct.unpack_from(">I", frame, 4)
        end_headers = _PRELUDE_SIZE + headers_len
        try:
            headers = _parse_headers(bytes(frame[_PRELUDE_SIZE:end_headers]))
            kind = headers.get(":message-type", "event")
            translate = _BY_MESSAGE_TYPE.get(kind) if isinstance(kind, str) else None
            if translate is None:
                raise _Corrupt(f"unknown :message-type {kind!r}")
            return translate(headers, bytes(frame[end_headers : total - 4]))
        except _Corrupt as exc:
            self._fail(f"event-stream frame: {exc}")


# -- the encoder (for fakes and tests) ---------------------------------------------------


def _encode_header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode("utf-8")
    head = _U8.pack(len(raw_name)) + raw_name
    if isinstance(value, bool):
        return head + _U8.pack(0 if value else 1)
    if isinstance(value, int):
        return head + _U8.pack(4) + value.to_bytes(4, "big", signed=True)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return head + _U8.pack(7) + _U16.pack(len(raw)) + raw
    return head + _U8.pack(6) + _U16.pack(len(value)) + value


def encode_frame(headers: Mapping[str, HeaderValue], payload: bytes) -> bytes:
    """One event-stream frame (strings as type 7, bytes as type 6, ints as type 4)."""
    raw_headers = b"".join(_encode_header(k, v) for k, v in headers.items())
    total = _OVERHEAD + len(raw_headers) + len(payload)
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def encode_chunk(event_json: str | bytes) -> bytes:
    """The frame Bedrock sends for one Messages API event (its JSON text)."""
    raw = event_json.encode("utf-8") if isinstance(event_json, str) else event_json
    payload = json.dumps({"bytes": base64.b64encode(raw).decode("ascii")}).encode()
    return encode_frame(
        {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
        payload,
    )


def encode_exception(exception_type: str, message: str) -> bytes:
    """The frame Bedrock sends for an in-stream exception (``throttlingException``, ...)."""
    return encode_frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )
