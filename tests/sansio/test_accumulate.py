"""MessageAccumulator and StreamEngine: grammar, merging, lazy snapshots, failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

import trio_msgstream as tms
from trio_msgstream import MessageAccumulator, StreamEngine, parse_event
from trio_msgstream.testing import sse_bytes

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
        "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4},
    },
}


def ev(payload: dict[str, Any]) -> Any:
    return parse_event(payload["type"], json.dumps(payload))


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": body}


def text(index: int, value: str) -> dict[str, Any]:
    return delta(index, {"type": "text_delta", "text": value})


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def run(events: list[dict[str, Any]]) -> tuple[MessageAccumulator, list[Any]]:
    acc = MessageAccumulator()
    out: list[Any] = []
    for payload in events:
        out.extend(acc.apply(ev(payload)))
    return acc, out


def test_text_blocks_concatenate_and_usage_merges() -> None:
    acc, out = run(
        [
            START,
            block_start(0, {"type": "text", "text": ""}),
            text(0, "Hel"),
            text(0, "lo"),
            stop(0),
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 7},
            },
            {"type": "message_stop"},
        ]
    )
    message = acc.snapshot()
    assert message is not None
    assert message.content == [tms.TextBlock(text="Hello")]
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 7
    assert message.usage.input_tokens == 10  # kept from message_start
    assert message.usage.cache_read_input_tokens == 4
    assert acc.done
    assert isinstance(out[-1], tms.MessageStopEvent)
    assert out[-1].message == message
    stops = [e for e in out if isinstance(e, tms.ContentBlockStopEvent)]
    assert stops[0].content_block == tms.TextBlock(text="Hello")


def test_text_event_snapshot_is_correct_even_when_read_late() -> None:
    _, out = run(
        [
            START,
            block_start(0, {"type": "text", "text": ""}),
            text(0, "a"),
            text(0, "b"),
            text(0, "c"),
        ]
    )
    texts = [e for e in out if isinstance(e, tms.TextEvent)]
    # Read in reverse: each snapshot is the text as of its own delta.
    assert [e.snapshot for e in reversed(texts)] == ["abc", "ab", "a"]
    assert [e.snapshot for e in texts] == ["a", "ab", "abc"]


def test_tool_input_parsed_once_at_stop_and_partial_before() -> None:
    events = [
        START,
        block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        delta(0, {"type": "input_json_delta", "partial_json": '{"n": 1, "city": "Par'}),
    ]
    acc, out = run(events)
    partial = acc.snapshot()
    assert partial is not None
    block = partial.content[0]
    assert isinstance(block, tms.ToolUseBlock)
    assert block.partial_json == '{"n": 1, "city": "Par'
    # Complete values only, as the official SDK shows an unfinished input.
    assert block.input == {"n": 1}
    json_event = out[-1]
    assert isinstance(json_event, tms.InputJsonEvent)
    # The event's snapshot keeps the string being received (a UI shows it arrive).
    assert json_event.snapshot == {"n": 1, "city": "Par"}
    for payload in [delta(0, {"type": "input_json_delta", "partial_json": 'is"}'}), stop(0)]:
        out.extend(acc.apply(ev(payload)))
    final = acc.snapshot()
    assert final is not None
    done = final.content[0]
    assert isinstance(done, tms.ToolUseBlock)
    assert done.input == {"n": 1, "city": "Paris"}
    assert done.partial_json is None
    assert "partial_json" not in done.model_dump()


def test_tool_without_json_deltas_keeps_its_start_input() -> None:
    acc, _ = run(
        [
            START,
            block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}),
            stop(0),
        ]
    )
    message = acc.snapshot()
    assert message is not None
    assert message.content[0].input == {"a": 1}  # type: ignore[union-attr]


def test_broken_tool_json_at_stop_is_a_protocol_error_and_snapshot_keeps_raw() -> None:
    acc = MessageAccumulator()
    for payload in [
        START,
        block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        delta(0, {"type": "input_json_delta", "partial_json": '{"a": tru'}),
    ]:
        acc.apply(ev(payload))
    with pytest.raises(tms.StreamProtocolError):
        acc.apply(ev(stop(0)))
    snapshot = acc.snapshot()
    assert snapshot is not None
    assert snapshot.content[0].partial_json == '{"a": tru'  # type: ignore[union-attr]


def test_thinking_signature_and_citations() -> None:
    acc, out = run(
        [
            START,
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "hmm "}),
            delta(0, {"type": "thinking_delta", "thinking": "ok"}),
            delta(0, {"type": "signature_delta", "signature": "SIG"}),
            stop(0),
            block_start(1, {"type": "text", "text": "", "citations": []}),
            text(1, "cited"),
            delta(1, {"type": "citations_delta", "citation": {"cited_text": "x"}}),
            stop(1),
        ]
    )
    message = acc.snapshot()
    assert message is not None
    assert message.content[0] == tms.ThinkingBlock(thinking="hmm ok", signature="SIG")
    assert message.content[1] == tms.TextBlock(text="cited", citations=[{"cited_text": "x"}])
    kinds = [e.type for e in out]
    assert kinds.count("thinking") == 2
    assert kinds.count("signature") == 1
    assert kinds.count("citation") == 1


def test_unknown_delta_merges_into_unknown_block() -> None:
    acc, _ = run(
        [
            START,
            block_start(0, {"type": "hologram", "caption": None, "depth": 1}),
            delta(0, {"type": "hologram_delta", "caption": "sum"}),
            delta(0, {"type": "hologram_delta", "caption": "mary", "depth": 2}),
            delta(0, {"type": "hologram_delta", "caption": "!"}),
            stop(0),
        ]
    )
    message = acc.snapshot()
    assert message is not None
    assert message.content[0].model_dump() == {
        "type": "hologram",
        "caption": "summary!",
        "depth": 2,
    }


@pytest.mark.parametrize(
    ("events", "match"),
    [
        ([block_start(0, {"type": "text", "text": ""})], "before message_start"),
        ([START, START], "second message_start"),
        ([START, block_start(1, {"type": "text", "text": ""})], "expected 0"),
        ([START, text(0, "x")], "unknown content block index 0"),
        (
            [START, block_start(0, {"type": "text", "text": ""}), stop(0), text(0, "x")],
            "has stopped",
        ),
        ([START, block_start(0, {"type": "text", "text": ""}), stop(0), stop(0)], "has stopped"),
        (
            [
                START,
                block_start(0, {"type": "text", "text": ""}),
                delta(0, {"type": "input_json_delta", "partial_json": "{"}),
            ],
            "input_json_delta for content block 0 of type text",
        ),
        (
            [START, {"type": "message_stop"}, block_start(0, {"type": "text", "text": ""})],
            "after message_stop",
        ),
    ],
)
def test_grammar_violations_raise(events: list[dict[str, Any]], match: str) -> None:
    acc = MessageAccumulator()
    *valid, last = events
    for payload in valid:
        acc.apply(ev(payload))
    with pytest.raises(tms.StreamProtocolError, match=match):
        acc.apply(ev(last))


def test_engine_error_event_maps_to_typed_error_with_partial() -> None:
    engine = StreamEngine(request_id="req_1")
    body = sse_bytes(
        [
            START,
            block_start(0, {"type": "text", "text": ""}),
            text(0, "so far"),
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
        ]
    )
    with pytest.raises(tms.RateLimitError) as info:
        engine.receive_data(body)
    error = info.value
    assert error.mid_stream
    assert error.status_code == 429
    assert error.request_id == "req_1"
    assert error.partial_message is not None
    assert error.partial_message.content[0].text == "so far"  # type: ignore[union-attr]
    with pytest.raises(tms.RateLimitError):  # failed for good
        engine.receive_data(b"")


def test_engine_eof_before_stop_is_incomplete() -> None:
    engine = StreamEngine()
    engine.receive_data(
        sse_bytes([START, block_start(0, {"type": "text", "text": ""}), text(0, "half")])
    )
    engine.receive_data(b"event: content_block_delta\ndata: {")  # an unterminated event
    with pytest.raises(tms.IncompleteStreamError, match="unterminated event was discarded") as info:
        engine.receive_eof()
    assert info.value.partial_message is not None


def test_engine_raw_mode_keeps_nothing() -> None:
    engine = StreamEngine(accumulate=False)
    events = engine.receive_raw(
        sse_bytes(
            [
                START,
                block_start(0, {"type": "text", "text": ""}),
                text(0, "x"),
                {"type": "message_stop"},
            ]
        )
    )
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "message_stop",
    ]
    assert engine.snapshot() is None
    assert engine.done
    assert engine.receive_eof() == []


def test_accumulation_work_is_linear_in_stream_length() -> None:
    # A quadratic implementation re-joins the block's text on every delta; this one
    # appends pieces and joins once, when a snapshot is asked for.
    n = 20_000
    acc = MessageAccumulator()
    acc.apply(ev(START))
    acc.apply(ev(block_start(0, {"type": "text", "text": ""})))
    payload = ev(text(0, "abcd"))
    for _ in range(n):
        acc.apply(payload)
    # Nothing was joined during accumulation: the state is a list of pieces.
    state = acc._blocks[0].text
    assert state is not None
    assert state._joined_n == 0
    message = acc.snapshot()
    assert message is not None
    assert len(message.content[0].text) == 4 * n  # type: ignore[union-attr]


def test_engine_utf8_check_across_chunks() -> None:
    # A multi-byte character split across chunks is fine; a sequence that an ASCII
    # chunk fails to complete is not (the ASCII fast path must not skip that check).
    engine = StreamEngine()
    chunk = sse_bytes([{"type": "ping", "note": "é"}])
    cut = chunk.index("é".encode()) + 1
    assert engine.receive_data(chunk[:cut]) == []
    assert [e.type for e in engine.receive_data(chunk[cut:])] == ["ping"]
    broken = StreamEngine()
    broken.receive_data(b"event: ping\ndata: \xc3")
    with pytest.raises(tms.StreamProtocolError, match="not UTF-8"):
        broken.receive_data(b'{"type":"ping"}\n\n')


def test_complete_tool_input_is_parsed_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import trio_msgstream._core.stream.accumulate as accumulate_module

    calls: list[str] = []
    real = accumulate_module.from_json

    def counting(data: Any, **kwargs: Any) -> Any:
        calls.append(data)
        return real(data, **kwargs)

    monkeypatch.setattr(accumulate_module, "from_json", counting)
    acc = MessageAccumulator()
    for payload in [
        START,
        block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        delta(0, {"type": "input_json_delta", "partial_json": '{"a": [1, 2'}),
        delta(0, {"type": "input_json_delta", "partial_json": ", 3]}"}),
        stop(0),
    ]:
        acc.apply(ev(payload))
    complete = [c for c in calls if c == '{"a": [1, 2, 3]}']
    assert len(complete) == 1  # at the block's stop
    acc.apply(ev(block_start(1, {"type": "text", "text": ""})))
    for i in range(5):  # later snapshots reuse the finished block
        acc.apply(ev(text(1, str(i))))
        snapshot = acc.snapshot()
        assert snapshot is not None
        assert snapshot.content[0].input == {"a": [1, 2, 3]}  # type: ignore[union-attr]
    acc.apply(ev({"type": "message_stop"}))
    assert len([c for c in calls if c == '{"a": [1, 2, 3]}']) == 1


def test_engine_oversize_event_keeps_the_events_before_it_in_the_partial() -> None:
    engine = StreamEngine(max_event_size=1000)
    chunk = (
        sse_bytes([START, block_start(0, {"type": "text", "text": ""}), text(0, "kept text")])
        + b"event: content_block_delta\ndata: "
        + b"x" * 2000
    )
    with pytest.raises(tms.StreamProtocolError, match="max_event_size") as info:
        engine.receive_data(chunk)
    partial = info.value.partial_message
    assert partial is not None
    assert partial.content[0].text == "kept text"  # type: ignore[union-attr]
