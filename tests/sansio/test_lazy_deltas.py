"""The lazy delta path (``StreamEngine(lazy_deltas=True)``) against the pydantic path.

The accumulating stream applies a canonical ``content_block_delta`` straight from its
JSON and builds the typed event only when the consumer hands it out. Whatever the
input, the consumer must see exactly what the pydantic path gives: the same classes,
fields (unknown ones kept), derived events, snapshots, and the same typed errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_msgstream._core.exceptions import APIError
from trio_msgstream._core.stream.consumer import StreamConsumer
from trio_msgstream._core.stream.engine import StreamEngine
from trio_msgstream._core.stream.events import RawContentBlockDeltaEvent, parse_event
from trio_msgstream._core.stream.lazy_deltas import (
    PendingDeltaEvent,
    delta_of_chunk,
    match_chunk,
    scan_delta,
)
from trio_msgstream.testing import split_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"
BODIES = sorted(FIXTURES.glob("*.sse"))


def describe(event: Any) -> tuple[Any, ...]:
    """Everything a consumer can see of an event."""
    if hasattr(event, "model_dump"):
        return (
            type(event),
            event.model_dump(),
            event.model_fields_set,
            event.model_extra,
            getattr(getattr(event, "delta", None), "model_extra", None),
            type(getattr(event, "delta", None)),
        )
    snapshot = getattr(event, "snapshot", None)
    return (type(event), repr(event), snapshot)


def run(body: bytes, *, lazy: bool, chunks: list[bytes] | None = None) -> tuple[list[Any], Any]:
    """The events a consumer is handed (and the error, if any) for ``body``."""
    engine = StreamEngine(lazy_deltas=lazy)
    consumer = StreamConsumer()
    seen: list[Any] = []
    error: Any = None
    try:
        for chunk in chunks if chunks is not None else split_events(body):
            consumer.refill(engine.receive_data(chunk))
            while (event := consumer.take()) is not None:
                seen.append(describe(event))
        consumer.refill(engine.receive_eof())
        while (event := consumer.take()) is not None:
            seen.append(describe(event))
    except APIError as exc:
        partial = exc.partial_message
        error = (type(exc), str(exc), partial.model_dump() if partial is not None else None)
    snapshot = engine.snapshot()
    return seen, (error, snapshot.model_dump() if snapshot is not None else None)


@pytest.mark.parametrize("path", BODIES, ids=[p.stem for p in BODIES])
def test_fixtures_are_handed_out_the_same(path: Path) -> None:
    body = path.read_bytes()
    assert run(body, lazy=True) == run(body, lazy=False)
    # All at once (one decoding step of many events) too.
    assert run(body, lazy=True, chunks=[body]) == run(body, lazy=False, chunks=[body])


def sse(*events: Any) -> bytes:
    out = b""
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        name = "content_block_delta"
        if not isinstance(event, str):
            name = event.get("type", "content_block_delta")
        out += f"event: {name}\ndata: {data}\n\n".encode()
    return out


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}
TEXT_BLOCK = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
TOOL_BLOCK = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
}
THINKING_BLOCK = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
}


def delta(payload: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": 0, "delta": payload, **top}


ODD_DELTAS: list[Any] = [
    # unknown fields are kept, on the event and on the delta
    delta({"type": "text_delta", "text": "a", "extra": [1, {"b": None}]}, also=True),
    # shapes the fast path leaves to pydantic (coerced or refused there)
    delta({"type": "text_delta", "text": 5}),
    delta({"type": "text_delta"}),
    delta({"type": "text_delta", "text": "x"}, index="0"),
    delta({"type": "text_delta", "text": "x"}, index=0.0),
    delta({"type": "text_delta", "text": "x"}, index=True),
    delta({"type": "text_delta", "text": "x"}, index=-1),
    delta({"type": "text_delta", "text": "x"}, index=7),
    delta({"type": "text_delta", "text": "x"}, index=2**70),
    {"index": 0, "delta": {"type": "text_delta", "text": "no type"}},
    delta({"type": "input_json_delta", "partial_json": "{"}),  # wrong block kind
    delta({"type": "thinking_delta", "thinking": "t"}),
    delta({"type": "signature_delta", "signature": "s"}),
    delta({"type": "brand_new_delta", "text": "t"}),  # unknown kind: UnknownDelta
    delta({"text": "no kind"}),
    delta(["not", "an", "object"]),  # type: ignore[arg-type]
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":NaN}}',
    '"just a string"',
    "[]",
]


@pytest.mark.parametrize("odd", ODD_DELTAS, ids=[str(i) for i in range(len(ODD_DELTAS))])
@pytest.mark.parametrize(
    "block", [TEXT_BLOCK, TOOL_BLOCK, THINKING_BLOCK], ids=["text", "tool", "thinking"]
)
def test_odd_deltas_give_the_same_events_and_errors(odd: Any, block: dict[str, Any]) -> None:
    body = sse(START, block, odd, delta({"type": "text_delta", "text": "after"}))
    assert run(body, lazy=True) == run(body, lazy=False)


@pytest.mark.parametrize(
    "payload",
    [
        delta({"type": "thinking_delta", "thinking": "t", "estimated_tokens": 3}),
        delta({"type": "thinking_delta", "thinking": "t", "estimated_tokens": None}),
        delta({"type": "thinking_delta", "thinking": "t", "estimated_tokens": "3"}),
        delta({"type": "thinking_delta", "thinking": "t", "estimated_tokens": 3.5}),
        delta({"type": "signature_delta", "signature": "sig"}),
    ],
)
def test_thinking_deltas_give_the_same_events(payload: dict[str, Any]) -> None:
    body = sse(START, THINKING_BLOCK, payload, {"type": "content_block_stop", "index": 0})
    assert run(body, lazy=True) == run(body, lazy=False)


def test_the_lazy_event_is_built_only_when_handed_out() -> None:
    body = sse(START, TEXT_BLOCK, delta({"type": "text_delta", "text": "hi"}))
    batch = StreamEngine(lazy_deltas=True).receive_data(body)
    pending = [event for event in batch if isinstance(event, PendingDeltaEvent)]
    assert len(pending) == 1
    assert pending[0].type == "content_block_delta"
    consumer = StreamConsumer()
    consumer.refill(batch)
    assert [type(e) for e in consumer.take_rest(events=False)].count(PendingDeltaEvent) == 1
    consumer.refill(batch)
    handed = consumer.take_rest()
    assert PendingDeltaEvent not in {type(e) for e in handed}
    built = [e for e in handed if isinstance(e, RawContentBlockDeltaEvent)]
    assert built == [parse_event("content_block_delta", pending[0].data)]


def test_scan_delta_accepts_only_the_canonical_shape() -> None:
    text = '{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"é"}}'
    assert scan_delta(text) == (2, "text_delta", "é")
    for bad in [
        '{"type":"content_block_delta","index":2,"delta":{"type":"citations_delta"}}',
        '{"type":"ping"}',
        '{"type":"content_block_delta","index":"2","delta":{"type":"text_delta","text":""}}',
        "not json",
    ]:
        assert scan_delta(bad) is None


HEAD = '{"type":"content_block_delta","index":'
MID = ',"delta":{"type":"text_delta","text":"'


@pytest.mark.parametrize(
    "data",
    [
        HEAD + "0" + MID + 'plain text"}}',
        HEAD + "12" + MID + '"}}',
        HEAD + "0" + MID + "}}",  # unterminated string
        HEAD + "0" + MID + 'a"}}}',
        HEAD + "00" + MID + 'x"}}',
        HEAD + "٣" + MID + 'x"}}',  # a non-ASCII digit
        HEAD + "0" + MID + 'tab\there"}}',  # a raw control character: not JSON
        HEAD + "0" + MID + 'line\\nbreak \\u00e9 \\"q\\""}}',
        HEAD + "0" + MID + 'emoji 😀 and é"}}',
        HEAD + "0" + MID + 'x","extra":1}}',
        HEAD + "0 " + MID + 'x"}}',
        HEAD + "0" + MID + 'lone \\ud800"}}',
        HEAD + "0" + ',"delta":{"type":"text_delta","text":"x","more":"y"}}',
    ],
)
def test_canonical_text_shortcut_matches_json(data: str) -> None:
    body = sse(START, TEXT_BLOCK, data, delta({"type": "text_delta", "text": "after"}))
    assert run(body, lazy=True) == run(body, lazy=False)
    scanned = scan_delta(data)
    if scanned is not None:
        assert scanned[2] == json.loads(data)["delta"]["text"]


def test_handlers_get_built_deltas_only_when_they_take_every_event() -> None:
    body = sse(START, TEXT_BLOCK, delta({"type": "text_delta", "text": "hi"}))
    batch = StreamEngine(lazy_deltas=True).receive_data(body)
    consumer = StreamConsumer()
    consumer.refill(list(batch))
    every = consumer.take_for_handlers(True)
    assert [e.type for e in every] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "text",
    ]
    assert isinstance(every[2], RawContentBlockDeltaEvent)
    consumer.refill(list(batch))
    assert [e.type for e in consumer.take_for_handlers(False)] == [
        "message_start",
        "content_block_start",
        "text",
    ]


def json_delta(piece: str, *, index: int = 0) -> str:
    """An ``input_json_delta`` written as the API writes it (compact, UTF-8 as is)."""
    delta = {"type": "input_json_delta", "partial_json": piece}
    event = {"type": "content_block_delta", "index": index, "delta": delta}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "piece",
    [
        '{"city": "Par',
        'is", "days": [1, 2',
        "",
        '\\"quoted\\" inside',  # the tool's JSON escaping a quote: \\\" on the wire
        "back\\\\slash",
        "tab\there",  # a raw control character in the piece: escaped on the wire
        'é 😀 "x"',
        "\x7f\x85",
        '"',
        '""',
        "\\",
    ],
)
def test_canonical_tool_input_shortcut_matches_json(piece: str) -> None:
    data = json_delta(piece)
    assert scan_delta(data) == (0, "input_json_delta", piece)
    body = sse(START, TOOL_BLOCK, json_delta('{"a": '), data)
    assert run(body, lazy=True) == run(body, lazy=False)


@pytest.mark.parametrize(
    "data",
    [
        HEAD + '0,"delta":{"type":"input_json_delta","partial_json":"a\\"}}',  # unterminated
        HEAD + '0,"delta":{"type":"input_json_delta","partial_json":"a\\\\\\"b"}}',
        HEAD + '0,"delta":{"type":"input_json_delta","partial_json":"\\u0041"}}',
        HEAD + '0,"delta":{"type":"input_json_delta","partial_json":"x","more":1}}',
        HEAD + '0,"delta":{"type":"input_json_delta","partial_json":"x\\"}}}',
        HEAD + '0,"delta":{"type":"input_json_delta","partial_json":1}}',
    ],
)
def test_odd_tool_input_deltas_match_json(data: str) -> None:
    scanned = scan_delta(data)
    try:
        expected = json.loads(data)["delta"]["partial_json"]
    except (ValueError, KeyError):
        assert scanned is None
        return
    if scanned is not None:
        assert scanned[2] == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab"\\/{}[]:,\n\t\x00\x1f\x7f\x85é😀 u0'), max_size=30))
def test_scanned_deltas_are_what_the_json_parser_reads(piece: str) -> None:
    for kind, field in (("input_json_delta", "partial_json"), ("text_delta", "text")):
        event = {"type": "content_block_delta", "index": 3, "delta": {"type": kind, field: piece}}
        for ascii_only in (False, True):
            data = json.dumps(event, separators=(",", ":"), ensure_ascii=ascii_only)
            assert scan_delta(data) == (3, kind, piece)


def test_canonical_tool_input_deltas_skip_the_json_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tool input deltas are nearly every event of a big tool call: the canonical ones
    # (escaped quotes included) are read by the regular expression alone.
    from trio_msgstream._core.stream import lazy_deltas

    def no_parser(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the JSON parser was called")

    monkeypatch.setattr(lazy_deltas, "from_json", no_parser)
    piece = '{"city": "Paris", "days": [1, 2'
    assert scan_delta(json_delta(piece, index=1)) == (1, "input_json_delta", piece)


# -- the fused path: a whole chunk that is one canonical delta ---------------------------


def scan_chunk(chunk: bytes) -> tuple[bytes, int, str, str] | None:
    match = match_chunk(chunk)
    return None if match is None else delta_of_chunk(match)


def chunk_of(data: str) -> bytes:
    return b"event: content_block_delta\ndata: " + data.encode() + b"\n\n"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from('ab"\\/{}[]:,\n\t\x00\x1f\x7e\x7f\x85é😀 u0'), max_size=30),
    st.sampled_from(["text_delta", "input_json_delta"]),
    st.booleans(),
)
def test_a_matched_chunk_is_the_decoder_and_scan_delta_together(
    piece: str, kind: str, ascii_only: bool
) -> None:
    field = "text" if kind == "text_delta" else "partial_json"
    event = {"type": "content_block_delta", "index": 7, "delta": {"type": kind, field: piece}}
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=ascii_only)
    chunk = chunk_of(data)
    scanned = scan_chunk(chunk)
    if not chunk.isascii() or "\x7f" in data or "\\" in data.replace('\\"', ""):
        # Bytes past 0x7e and every escape but \" take the full path.
        assert scanned is None
    else:
        assert scanned == (data.encode(), 7, kind, piece)
    for other in (chunk[:-1], chunk + b"\n", chunk.replace(b"\n", b"\r\n"), b":c\n" + chunk):
        assert scan_chunk(other) is None


def test_a_canonical_chunk_takes_the_fused_path_and_counts_its_bytes() -> None:
    head = sse(START, TEXT_BLOCK)
    data = json.dumps(delta({"type": "text_delta", "text": 'say "hi"'}), separators=(",", ":"))
    chunk = chunk_of(data)
    engine = StreamEngine(lazy_deltas=True)
    engine.receive_data(head)
    pending, text = engine.receive_data(chunk)
    # The fused path hands the event's data on as the chunk's bytes (the decoder's
    # path, as text): the very same typed event is built from either.
    assert isinstance(pending, PendingDeltaEvent)
    assert pending.data == data.encode()
    assert pending.build() == parse_event("content_block_delta", data)
    assert text.text == 'say "hi"'
    assert engine.bytes_received == len(head) + len(chunk)
    assert engine.events_received == 3


CANONICAL = chunk_of(json.dumps(delta({"type": "text_delta", "text": "x"}), separators=(",", ":")))


@pytest.mark.parametrize(
    "before",
    [
        # the decoder holds part of a block: the canonical chunk continues it
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,',
        b"event: ping\n",
        # a CR ended the last chunk: a LF opening the next one would be dropped
        b'event: ping\r\ndata: {"type":"ping"}\r\n\r',
        # a UTF-8 sequence cut at the chunk's end: the next byte must complete it
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"\xc3',
        b"\xc3",
    ],
)
def test_the_fused_path_only_runs_between_events(before: bytes) -> None:
    head = sse(START, TEXT_BLOCK)
    chunks = [head, before, CANONICAL, CANONICAL, b"\n" + CANONICAL]
    body = b"".join(chunks)
    assert run(body, lazy=True, chunks=chunks) == run(body, lazy=False, chunks=chunks)


def test_a_stream_that_opens_with_a_canonical_delta_is_the_same_error() -> None:
    for chunks in ([CANONICAL], [b"\xef\xbb\xbf", CANONICAL], [b"\xef\xbb", CANONICAL]):
        body = b"".join(chunks)
        lazy = run(body, lazy=True, chunks=chunks)
        assert lazy == run(body, lazy=False, chunks=chunks)
        assert lazy[1][0] is not None  # a grammar error: no message_start


def run_raw(chunks: list[bytes]) -> tuple[list[Any], Any]:
    """What a raw engine (``create(stream=True)``) hands out for ``chunks``, and the
    error it raised (type and text) with the events it had decoded then."""
    engine = StreamEngine(accumulate=False)
    seen: list[Any] = []
    try:
        for chunk in chunks:
            seen += [describe(event) for event in engine.receive_data(chunk)]
        seen += [describe(event) for event in engine.receive_eof()]
    except APIError as exc:
        return seen, (type(exc), str(exc), engine.events_received)
    return seen, (None, engine.bytes_received, engine.events_received)


def assert_raw_same(chunks: list[bytes]) -> Any:
    # One event per chunk takes the fused path for its canonical deltas; the body in
    # one chunk takes the decoder's. The same events, or the same error (a chunk that
    # raises hands out none of its events, so only the events before it differ).
    fused, whole = run_raw(chunks), run_raw([b"".join(chunks)])
    assert fused[1] == whole[1]
    if fused[1][0] is None:
        assert fused[0] == whole[0]
    return fused[1][0]


@pytest.mark.parametrize("path", BODIES, ids=[p.stem for p in BODIES])
def test_raw_events_are_the_same_one_per_chunk_and_all_at_once(path: Path) -> None:
    assert_raw_same(split_events(path.read_bytes()))


def test_a_raw_delta_for_a_block_never_started_is_the_same_error() -> None:
    bad = CANONICAL.replace(b'"index":0', b'"index":1')
    assert assert_raw_same([sse(START, TEXT_BLOCK), CANONICAL, bad]) is not None


def test_a_known_delta_the_fast_validator_refuses_takes_the_full_path() -> None:
    # parse_known_delta's fallback: the same event or typed error as parse_event.
    from trio_msgstream._core.exceptions import StreamProtocolError
    from trio_msgstream._core.stream.events import parse_known_delta

    odd = '{"type":"content_block_delta","index":0,"delta":{"type":"mystery_delta","x":1}}'
    assert parse_known_delta(odd) == parse_event("content_block_delta", odd)
    with pytest.raises(StreamProtocolError):
        parse_known_delta('{"type":"content_block_delta","index":"zero"}')
