"""The lazy delta path: a ``content_block_delta`` applied without its pydantic event.

Part of the sans-IO core (no trio, no httpx).

Theory of operation: text, tool input, thinking and signature deltas are nearly every
event of a stream, and most consumers never look at the raw event (``text_stream``,
``get_final_message``, handlers other than ``on_stream_event``). :func:`scan_delta`
checks a delta's JSON for the canonical shape with plain type checks (a text delta or
tool input delta written exactly as the API writes it, with nothing to unescape but
quotes, takes one regular expression instead of the JSON parser) and hands the
accumulator its index, kind and value; :class:`PendingDeltaEvent` then stands where the
raw event goes in the batch, and the stream's consumer builds the typed event
(:func:`~.events.parse_event`, the very same) only when it hands it out. Anything
:func:`scan_delta` does not accept takes the full path, so events, unknown fields and
typed errors are those of the pydantic path (``tests/sansio/test_lazy_deltas.py``
compares both).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from pydantic_core import from_json

from .events import RawContentBlockDeltaEvent, parse_known_delta

__all__ = [
    "SCANNED_DELTAS",
    "PendingDeltaEvent",
    "delta_of_chunk",
    "match_chunk",
    "scan_delta",
]

# The delta kinds the accumulator takes straight from the JSON: kind -> its one field.
SCANNED_DELTAS: Final = {
    "text_delta": "text",
    "input_json_delta": "partial_json",
    "thinking_delta": "thinking",
    "signature_delta": "signature",
}


# A text or tool input delta exactly as the API writes it, its string free of control
# characters (C1 too, to stay on the safe side) and of every escape but ``\"``: then the
# value is the matched characters with each ``\"`` made ``"`` (a backslash in the match
# always starts one), and one regular expression replaces the JSON parser. Text rarely
# has an escape; a tool's JSON has one per quote. Anything else is parsed.
_canonical: Final = re.compile(
    r'\{"type":"content_block_delta","index":(0|[1-9][0-9]{0,8}),'
    r'"delta":\{"type":"(text_delta","text|input_json_delta","partial_json)":"'
    r'([^"\\\x00-\x1f\x7f-\x9f]*(?:\\"[^"\\\x00-\x1f\x7f-\x9f]*)*)"\}\}'
).fullmatch


# The same canonical delta as a whole network chunk, exactly as the API frames it (one
# SSE event, LF line ends) and pure ASCII (any byte past 0x7e is left to the full
# path, which also checks the UTF-8): the SSE decoder, the UTF-8 check and the JSON
# scan of the hot path in one match over the bytes.
match_chunk: Final[Callable[[bytes], re.Match[bytes] | None]] = re.compile(
    rb'event: content_block_delta\ndata: (\{"type":"content_block_delta",'
    rb'"index":(0|[1-9][0-9]{0,8}),"delta":\{"type":"(text_delta","text|input_json_delta",'
    rb'"partial_json)":"([^"\\\x00-\x1f\x7f-\xff]*(?:\\"[^"\\\x00-\x1f\x7f-\xff]*)*)"\}\})\n\n'
).fullmatch
"""The match of a network chunk that is exactly one SSE event carrying a canonical text
or tool input delta in ASCII, else ``None``. Its groups: the event's data field, the
block's index, and what :func:`delta_of_chunk` reads the delta from. For such a chunk
the SSE decoder and :func:`scan_delta` would give the same; the caller must still check
that the decoder is between events (``SSEDecoder.skip_event``)."""


def delta_of_chunk(match: re.Match[bytes]) -> tuple[bytes, int, str, str]:
    """``(data, index, delta kind, value)`` of a :func:`match_chunk` match."""
    data, index, field, raw = match.groups()
    value = raw.decode("ascii")
    if "\\" in value:
        value = value.replace('\\"', '"')
    return data, int(index), "text_delta" if field[0] == 0x74 else "input_json_delta", value


def scan_delta(data: str) -> tuple[int, str, str] | None:
    """``(index, delta kind, value)`` of a ``content_block_delta`` in its canonical
    shape, checked without building the pydantic event; ``None`` otherwise.

    Accepts only what :func:`parse_event` surely validates into a
    :class:`RawContentBlockDeltaEvent` whose delta is a ``text``, ``input_json``,
    ``thinking`` or ``signature`` delta with that value (plain JSON types, an ``int``
    index, a ``str`` value; extra fields are allowed, as the models keep them). Anything
    else, malformed data included, is ``None``: the caller then takes the full path,
    which builds the event or raises the typed error.
    """
    match = _canonical(data)
    if match is not None:
        index, field, value = match.groups()
        if "\\" in value:
            value = value.replace('\\"', '"')
        return int(index), "text_delta" if field[0] == "t" else "input_json_delta", value
    try:
        obj = from_json(data, allow_inf_nan=False)
    except ValueError:
        return None
    if type(obj) is not dict or obj.get("type") != "content_block_delta":
        return None
    index = obj.get("index")
    delta = obj.get("delta")
    if type(index) is not int or type(delta) is not dict or not 0 <= index < 1 << 31:
        return None
    kind = delta.get("type")
    if type(kind) is not str:
        return None
    field = SCANNED_DELTAS.get(kind)
    if field is None:
        return None
    value = delta.get(field)
    if type(value) is not str:
        return None
    if kind == "thinking_delta":
        tokens = delta.get("estimated_tokens")
        if tokens is not None and type(tokens) is not int:
            return None
    return index, kind, value


class PendingDeltaEvent:
    """A ``content_block_delta`` checked by :func:`scan_delta` whose typed event is
    built only when a consumer is handed it (:meth:`build`).

    The accumulating stream puts one in the batch where the raw event goes: a consumer
    that only wants text or the final message never pays for the pydantic event; one
    that iterates every event gets the very event :func:`parse_event` builds. Only the
    consumer (``StreamConsumer``) ever sees this object; it has the event's ``type``
    so that code between the engine and the consumer can tell what it is.
    """

    __slots__ = ("data",)
    type: Final = "content_block_delta"

    def __init__(self, data: str | bytes) -> None:
        self.data = data

    def build(self) -> RawContentBlockDeltaEvent:
        """The typed event (cannot fail: :func:`scan_delta` checked its shape)."""
        event = parse_known_delta(self.data)
        assert isinstance(event, RawContentBlockDeltaEvent)
        return event

    def __repr__(self) -> str:
        return f"PendingDeltaEvent({self.data!r})"
