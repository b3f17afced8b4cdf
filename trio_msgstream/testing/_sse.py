"""Server-Sent Events as the Messages API sends them: encoding and network chunking.

Pure functions on bytes, used by the scripted responses and by tests that build
streams by hand.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "JSON_CONTENT_TYPE",
    "SSE_CONTENT_TYPE",
    "chunked",
    "compact_json",
    "looks_like_sse",
    "split_events",
    "sse_bytes",
]

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"


def compact_json(payload: Any) -> str:
    """JSON without spaces, non-ASCII kept (as the API writes it)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def sse_bytes(events: Iterable[Mapping[str, Any] | tuple[str, Mapping[str, Any] | str]]) -> bytes:
    """Encode events as a ``text/event-stream`` body.

    Args:
        events: Each item is either a mapping, encoded as ``event: <d["type"]>`` followed by
            ``data: <compact JSON>``, or a ``(name, payload)`` tuple giving the event name
            explicitly. In a tuple, a mapping payload is JSON-encoded and a string payload is
            sent verbatim as the data (one ``data:`` line per line of the string), which lets
            you send malformed JSON on purpose.

    Returns:
        The UTF-8 encoded body; every event is terminated by a blank line (``\\n\\n``).

    Raises:
        ValueError: If a mapping has no string ``"type"`` key.

    Example:
        >>> sse_bytes([{"type": "ping"}, ("error", "not json")])
        b'event: ping\\ndata: {"type":"ping"}\\n\\nevent: error\\ndata: not json\\n\\n'
    """
    parts: list[str] = []
    for item in events:
        if isinstance(item, tuple):
            name, payload = item
            data = payload if isinstance(payload, str) else compact_json(payload)
        else:
            name = item.get("type")  # type: ignore[assignment]
            if not isinstance(name, str):
                raise ValueError(f"event mapping without a string 'type': {item!r}")
            data = compact_json(item)
        lines = data.split("\n")
        parts.append(f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n")
    return "".join(parts).encode("utf-8")


def chunked(data: bytes, splits: Sequence[int]) -> list[bytes]:
    """Split ``data`` at the given byte offsets.

    Args:
        data: The bytes to split.
        splits: Absolute offsets into ``data`` (any order, duplicates allowed). Offsets ``0``
            and ``len(data)`` are accepted and produce no empty pieces.

    Returns:
        The non-empty pieces, in order; ``b"".join(result) == data``.

    Raises:
        ValueError: If an offset is outside ``0..len(data)``.

    Example:
        >>> chunked(b"abcdef", [2, 3])
        [b'ab', b'c', b'def']
    """
    points = sorted(set(splits))
    for point in points:
        if not 0 <= point <= len(data):
            raise ValueError(f"split offset {point} outside 0..{len(data)}")
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def split_events(data: bytes) -> list[bytes]:
    """Split an SSE body into one chunk per event, as the real API sends it.

    Each piece ends right after the blank line that terminates an event (``\\n\\n`` or
    ``\\r\\n\\r\\n``). Trailing bytes without a terminating blank line form a last piece.

    Args:
        data: A ``text/event-stream`` body.

    Returns:
        The non-empty pieces, in order; ``b"".join(result) == data``.
    """
    return chunked(data, [m.end() for m in _BLANK_LINE.finditer(data)])


def looks_like_sse(body: bytes) -> bool:
    return body.startswith((b"event:", b"data:", b":", b"id:", b"retry:"))
