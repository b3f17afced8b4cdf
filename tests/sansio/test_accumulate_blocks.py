"""The accumulator on the newer block kinds, the grammar table, and linear cost for
every delta kind (counted, never timed)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydantic
import pytest

import trio_msgstream as tms
from trio_msgstream import MessageAccumulator, StreamEngine, parse_event
from trio_msgstream._core.stream.grammar import BEFORE, DONE, OPEN, TRANSITIONS, StreamGrammar
from trio_msgstream.types import (
    CompactionBlock,
    CompactionEvent,
    FallbackBlock,
    MCPToolUseBlock,
    RefusalStopDetails,
    ServerToolUseBlock,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"

START = {
    "type": "message_start",
    "message": {"id": "msg_1", "model": "m", "content": [], "usage": {"input_tokens": 1}},
}


def ev(payload: dict[str, Any]) -> Any:
    return parse_event(payload["type"], json.dumps(payload))


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": body}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def run(events: list[dict[str, Any]]) -> tuple[MessageAccumulator, list[Any]]:
    acc = MessageAccumulator()
    out: list[Any] = []
    for payload in events:
        out.extend(acc.apply(ev(payload)))
    return acc, out


def engine_message(name: str) -> tms.Message:
    engine = StreamEngine()
    engine.receive_data((FIXTURES / name).read_bytes())
    engine.receive_eof()
    message = engine.snapshot()
    assert message is not None
    return message


def test_mcp_tool_use_input_json_is_tracked() -> None:
    message = engine_message("own_mcp_tool_use.sse")
    tool = message.content[1]
    assert isinstance(tool, MCPToolUseBlock)
    assert tool.server_name == "tracker"
    assert tool.input == {"project": "trio", "state": "open", "limit": 5}
    assert tool.partial_json is None


def test_every_block_that_carries_input_gets_input_json() -> None:
    # Including a block type this version does not know, when it has an ``input``.
    acc, out = run(
        [
            START,
            block_start(
                0, {"type": "server_tool_use", "id": "s", "name": "web_fetch", "input": {}}
            ),
            delta(0, {"type": "input_json_delta", "partial_json": '{"url": "u"}'}),
            stop(0),
            block_start(1, {"type": "future_tool_use", "id": "f", "input": {}}),
            delta(1, {"type": "input_json_delta", "partial_json": '{"a": 1}'}),
            stop(1),
        ]
    )
    message = acc.snapshot()
    assert message is not None
    assert isinstance(message.content[0], ServerToolUseBlock)
    assert message.content[0].input == {"url": "u"}
    assert message.content[1].model_dump() == {
        "type": "future_tool_use",
        "id": "f",
        "input": {"a": 1},
    }
    assert [e.type for e in out].count("input_json") == 2


def test_compaction_deltas_replace_and_derive_compaction_events() -> None:
    acc, out = run(
        [
            START,
            block_start(0, {"type": "compaction", "content": None}),
            delta(0, {"type": "compaction_delta", "content": "sum", "encrypted_content": None}),
            delta(0, {"type": "compaction_delta", "content": "summary", "encrypted_content": "E"}),
            stop(0),
        ]
    )
    events = [e for e in out if isinstance(e, CompactionEvent)]
    assert [(e.content, e.encrypted_content, e.index) for e in events] == [
        ("sum", None, 0),
        ("summary", "E", 0),
    ]
    message = acc.snapshot()
    assert message is not None
    block = message.content[0]
    assert isinstance(block, CompactionBlock)
    assert (block.content, block.encrypted_content) == ("summary", "E")


def test_a_fallback_block_sets_the_model_that_served_the_message() -> None:
    message = engine_message("own_beta_fallback_compaction_citations.sse")
    fallback = message.content[0]
    assert isinstance(fallback, FallbackBlock)
    assert fallback.from_.model == "claude-fable-5-2"
    assert message.model == "claude-sonnet-5-5"
    assert message.context_management is not None
    assert message.usage.fallback_credit is not None
    assert message.usage.iterations is not None
    assert [i.type for i in message.usage.iterations] == [
        "message",
        "compaction",
        "fallback_message",
    ]
    text = message.content[2]
    assert isinstance(text, tms.TextBlock)
    assert text.citations is not None
    assert [c.type for c in text.citations] == ["char_location", "page_location"]


def test_stop_details_and_container_come_from_message_delta() -> None:
    refusal = engine_message("own_refusal_stop_details.sse")
    assert isinstance(refusal.stop_details, RefusalStopDetails)
    assert refusal.stop_details.category == "cyber"
    tools = engine_message("own_server_tools.sse")
    assert tools.container is not None
    assert tools.container.id == "container_01"
    assert tools.usage.server_tool_use is not None
    assert tools.usage.server_tool_use.web_fetch_requests == 1
    assert tools.usage.output_tokens_details is not None
    assert tools.usage.service_tier == "priority"


def test_an_input_cut_by_max_tokens_keeps_complete_values_and_the_raw_text() -> None:
    message = engine_message("own_mcp_input_cut_by_max_tokens.sse")
    assert message.stop_reason == "max_tokens"
    tool = message.content[0]
    assert isinstance(tool, MCPToolUseBlock)
    assert tool.input == {"path": "notes.md", "lines": [1, 2, 3]}
    assert tool.partial_json == '{"path": "notes.md", "lines": [1, 2, 3], "text": "unfinis'


def test_invalid_json_in_a_partial_snapshot_is_not_shown_as_an_empty_input() -> None:
    acc, out = run(
        [
            START,
            block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
            delta(0, {"type": "input_json_delta", "partial_json": '{"a" 1'}),
        ]
    )
    message = acc.snapshot()
    assert message is not None
    tool = message.content[0]
    assert isinstance(tool, tms.ToolUseBlock)
    assert tool.input is None
    assert tool.partial_json == '{"a" 1'
    assert out[-1].snapshot is None
    with pytest.raises(tms.StreamProtocolError, match="not valid JSON"):
        acc.apply(ev(stop(0)))


# --- the grammar table ---------------------------------------------------------------


def test_the_grammar_table_names_every_wire_event_that_shapes_a_stream() -> None:
    assert set(TRANSITIONS) == {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
    grammar = StreamGrammar()
    assert grammar.state == BEFORE
    grammar.step("ping")  # not in the table: allowed anywhere
    grammar.step("message_start", initial_blocks=1)
    assert grammar.state == OPEN
    with pytest.raises(tms.StreamProtocolError, match="content block 0, which has stopped"):
        grammar.step("content_block_delta", 0)
    grammar.step("content_block_start", 1)
    grammar.delta(1)
    grammar.step("content_block_stop", 1)
    grammar.step("message_delta")
    grammar.step("message_stop")
    assert grammar.state == DONE
    grammar.step("brand_new_event")
    with pytest.raises(tms.StreamProtocolError, match="message_delta after message_stop"):
        grammar.step("message_delta")


@pytest.mark.parametrize("accumulate", [True, False])
def test_both_modes_reject_the_same_streams(accumulate: bool) -> None:
    # The accumulator and the raw mode read one table, so they agree event by event.
    bad = [
        [block_start(0, {"type": "text", "text": ""})],
        [START, START],
        [START, block_start(1, {"type": "text", "text": ""})],
        [START, delta(0, {"type": "text_delta", "text": "x"})],
        [START, block_start(0, {"type": "text", "text": ""}), stop(0), stop(0)],
    ]
    for events in bad:
        engine = StreamEngine(accumulate=accumulate)
        body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
        with pytest.raises(tms.StreamProtocolError):
            engine.receive_data(body)
    # The stream ends at message_stop: both modes ignore what follows it alike.
    late = [START, {"type": "message_stop"}, {"type": "message_delta", "delta": {}}]
    engine = StreamEngine(accumulate=accumulate)
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in late)
    assert [e.type for e in engine.receive_data(body)][-1] == "message_stop"


# --- linear cost, by counting ----------------------------------------------------------


@contextmanager
def counting_model_work() -> Iterator[dict[str, int]]:
    """Count calls of pydantic's whole-model operations (dump, copy, validate)."""
    counts = {"calls": 0}
    names = ("model_dump", "model_copy", "model_validate")
    saved = {name: vars(pydantic.BaseModel)[name] for name in names}

    def wrap(name: str) -> Any:
        original = saved[name]
        function = original.__func__ if isinstance(original, classmethod) else original

        def counted(*args: Any, **kwargs: Any) -> Any:
            counts["calls"] += 1
            return function(*args, **kwargs)

        return classmethod(counted) if isinstance(original, classmethod) else counted

    for name in names:
        setattr(pydantic.BaseModel, name, wrap(name))
    try:
        yield counts
    finally:
        for name, original in saved.items():
            setattr(pydantic.BaseModel, name, original)


DELTAS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "text": ({"type": "text", "text": ""}, {"type": "text_delta", "text": "abcd"}),
    "thinking": (
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "thinking_delta", "thinking": "abcd"},
    ),
    "signature": (
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "signature_delta", "signature": "abcd"},
    ),
    "input_json": (
        {"type": "mcp_tool_use", "id": "m", "name": "n", "server_name": "s", "input": {}},
        {"type": "input_json_delta", "partial_json": " "},
    ),
    "citations": (
        {"type": "text", "text": ""},
        {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "ab"}},
    ),
    "compaction": (
        {"type": "compaction", "content": None},
        {"type": "compaction_delta", "content": "abcd", "encrypted_content": None},
    ),
    "unknown": (
        {"type": "hologram", "caption": ""},
        {"type": "hologram_delta", "caption": "abcd"},
    ),
}


def _apply_n(kind: str, n: int) -> tuple[int, int]:
    """Model operations and retained bytes for ``n`` deltas of one kind (all output
    events kept alive, as a consumer that stores them would)."""
    start, body = DELTAS[kind]
    acc = MessageAccumulator()
    acc.apply(ev(START))
    acc.apply(ev(block_start(0, start)))
    payload = ev(delta(0, body))
    kept: list[Any] = []
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with counting_model_work() as counts:
        for _ in range(n):
            kept.extend(acc.apply(payload))
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert acc.snapshot() is not None
    return counts["calls"], retained


@pytest.mark.parametrize("kind", sorted(DELTAS))
def test_every_delta_kind_costs_the_same_per_delta(kind: str) -> None:
    calls_n, bytes_n = _apply_n(kind, 500)
    calls_4n, bytes_4n = _apply_n(kind, 2000)
    # No whole-model work per delta (a quadratic accumulator dumps or copies the block
    # on every delta)...
    assert calls_n == calls_4n == 0
    # ...and what a delta leaves behind does not grow with the deltas before it (a
    # per-delta copy of the citations so far would make this 16x, not 4x).
    assert bytes_4n < 5 * bytes_n + 4096, (bytes_n, bytes_4n)


def test_unknown_delta_strings_are_kept_as_pieces_not_concatenated() -> None:
    start, body = DELTAS["unknown"]
    acc = MessageAccumulator()
    acc.apply(ev(START))
    acc.apply(ev(block_start(0, start)))
    payload = ev(delta(0, body))
    for _ in range(1000):
        acc.apply(payload)
    pieces = acc._blocks[0].unknown
    assert pieces is not None
    assert len(pieces["caption"].chunks) == 1000
    message = acc.snapshot()
    assert message is not None
    assert message.content[0].model_dump()["caption"] == "abcd" * 1000


def test_citation_snapshots_are_read_lazily_and_correct() -> None:
    _, body = DELTAS["citations"]
    _, out = run([START, block_start(0, {"type": "text", "text": ""})] + [delta(0, body)] * 3)
    citations = [e for e in out if e.type == "citation"]
    assert [len(e.snapshot) for e in citations] == [1, 2, 3]
    citations[0].snapshot.append("mutating a snapshot")
    assert len(citations[0].snapshot) == 1  # each read is a new list
