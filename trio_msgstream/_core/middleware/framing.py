"""How a streamed body's bytes become events, and the spliced stream's bytes.

Part of the sans-IO core. The refusal-fallback splice works on decoded events, never
on the wire's text, so it serves any framing the API comes in: Server-Sent Events
(``text/event-stream``) and Bedrock's binary event stream
(``application/vnd.amazon.eventstream``, decoded by ``_core.platforms.eventstream``
when that module is present). A decoder is anything with ``feed(bytes) -> events``
(``b""`` at the end), each event having ``event`` and ``data``; other framings are
added with :func:`register_framing`. What the splice forwards is always encoded as
Server-Sent Events (:func:`encode_sse`), which the stream engine reads.

:func:`parse_body` is what ``parse()`` on a middleware's response means, for both
clients: the parsed JSON body of a non-streaming request; for a streamed body (by its
content type, or an unlabelled one that reads as Server-Sent Events), the message the
stream accumulates, through the same stream engine (and framing table) as the
caller's stream, so an ``error`` event or a cut stream is the same typed error.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ..schema.models import Message
from ..stream.engine import FRAMINGS, SSE_FRAMING, Framing, StreamEngine, media_type
from ..stream.sse import ServerSentEvent, SSEDecoder, sniff_event_stream

__all__ = [
    "SSE_CONTENT_TYPE",
    "EventDecoder",
    "decoder_for",
    "encode_sse",
    "parse_body",
    "register_framing",
    "stream_message",
]

SSE_CONTENT_TYPE = "text/event-stream"
_EVENTSTREAM = "application/vnd.amazon.eventstream"


class EventDecoder(Protocol):
    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """The events ``data`` completes (``b""``: the end of the body)."""
        ...


_FRAMINGS: dict[str, Callable[[], EventDecoder]] = {SSE_CONTENT_TYPE: SSEDecoder}


def register_framing(content_type: str, factory: Callable[[], EventDecoder]) -> None:
    """Decode bodies of ``content_type`` (a media type, no parameters) with decoders
    made by ``factory``."""
    _FRAMINGS[content_type.lower()] = factory


def _eventstream_decoder() -> Callable[[], EventDecoder] | None:
    try:
        module = importlib.import_module(__name__.rsplit(".", 2)[0] + ".platforms.eventstream")
    except ImportError:
        return None
    factory: Callable[[], EventDecoder] = module.EventStreamDecoder
    return factory


def decoder_for(content_type: str | None) -> EventDecoder:
    """A decoder for a body of ``content_type`` (SSE when unknown or absent, as mocks
    often send no content type)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    factory = _FRAMINGS.get(media)
    if factory is None and media == _EVENTSTREAM:
        factory = _eventstream_decoder()
        if factory is not None:
            _FRAMINGS[media] = factory
    return (factory or SSEDecoder)()


def encode_sse(frames: Iterable[tuple[str, str]]) -> bytes:
    """``(event, data)`` pairs as Server-Sent Events (multi-line data split per line)."""
    parts: list[str] = []
    for name, data in frames:
        lines = data.split("\n")
        parts.append(f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n")
    return "".join(parts).encode("utf-8")


def stream_message(
    body: bytes,
    framing: Framing = SSE_FRAMING,
    *,
    request_id: str | None = None,
    secrets: tuple[str, ...] = (),
) -> Message:
    """The message a whole streamed ``body`` accumulates (``framing`` cuts it).

    Raises:
        APIStatusError: The stream carries an ``error`` event (``mid_stream``).
        StreamProtocolError: Malformed data.
        IncompleteStreamError: The body ends before ``message_stop``.
    """
    engine = StreamEngine(framing=framing, request_id=request_id, secrets=secrets)
    engine.receive_data(body)
    engine.receive_eof()
    message = engine.snapshot()
    assert message is not None  # message_stop came, so message_start did
    return message


def parse_body(
    body: bytes,
    *,
    content_type: str | None,
    stream: bool,
    parser: Callable[[bytes], Any] | None,
    framings: Mapping[str, Framing] = FRAMINGS,
    request_id: str | None = None,
    secrets: tuple[str, ...] = (),
) -> Any:
    """``parse()`` of a middleware's response (see the module notes).

    A streamed body gives the accumulated :class:`Message` (a non-streaming request's
    ``parser`` then reads that message, so a middleware that answers with a stream
    serves ``create()`` and ``parse()`` too); any other body goes to ``parser``, or
    ``json.loads`` on a streamed request whose answer is not a stream.

    Raises:
        APIStatusError, StreamProtocolError, IncompleteStreamError: As
            :func:`stream_message`, for a streamed body.
        ValueError: A body that is not JSON, when there is no ``parser``.
    """
    media = media_type(content_type or "")
    framing = framings.get(media)
    if framing is None and not media and sniff_event_stream(body):
        framing = SSE_FRAMING  # mocks often send no content type
    if framing is None:
        return parser(body) if parser is not None else json.loads(body)
    message = stream_message(body, framing, request_id=request_id, secrets=secrets)
    if parser is None:
        return message
    return parser(message.model_dump_json(by_alias=True).encode("utf-8"))
