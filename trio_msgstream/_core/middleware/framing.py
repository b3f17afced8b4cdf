"""How a streamed body's bytes become events, and the spliced stream's bytes.

Part of the sans-IO core. The refusal-fallback splice works on decoded events, never
on the wire's text, so it serves any framing the API comes in: Server-Sent Events
(``text/event-stream``) and Bedrock's binary event stream
(``application/vnd.amazon.eventstream``, decoded by ``_core.platforms.eventstream``
when that module is present). A decoder is anything with ``feed(bytes) -> events``
(``b""`` at the end), each event having ``event`` and ``data``; other framings are
added with :func:`register_framing`. What the splice forwards is always encoded as
Server-Sent Events (:func:`encode_sse`), which the stream engine reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Protocol

from ..stream.sse import ServerSentEvent, SSEDecoder

__all__ = ["SSE_CONTENT_TYPE", "EventDecoder", "decoder_for", "encode_sse", "register_framing"]

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
