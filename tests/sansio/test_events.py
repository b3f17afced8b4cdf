"""parse_event: every known type, forward compatibility, and typed failures."""

from __future__ import annotations

import json

import pytest

import trio_msgstream as tms
from trio_msgstream import parse_event
from trio_msgstream.types import UnknownObject


def test_each_known_event_type_parses_to_its_model() -> None:
    cases = {
        "message_start": (
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "m",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 1},
                },
            },
            tms.RawMessageStartEvent,
        ),
        "content_block_start": (
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            tms.RawContentBlockStartEvent,
        ),
        "content_block_delta": (
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "hi"},
            },
            tms.RawContentBlockDeltaEvent,
        ),
        "content_block_stop": (
            {"type": "content_block_stop", "index": 0},
            tms.RawContentBlockStopEvent,
        ),
        "message_delta": (
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 5},
            },
            tms.RawMessageDeltaEvent,
        ),
        "message_stop": ({"type": "message_stop"}, tms.RawMessageStopEvent),
        "ping": ({"type": "ping"}, tms.RawPingEvent),
        "error": (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            tms.RawErrorEvent,
        ),
    }
    for name, (payload, cls) in cases.items():
        event = parse_event(name, json.dumps(payload))
        assert type(event) is cls, name
        assert event.type == name


@pytest.mark.parametrize(
    ("delta", "cls"),
    [
        ({"type": "text_delta", "text": "x"}, tms.TextDelta),
        ({"type": "input_json_delta", "partial_json": "{"}, tms.InputJSONDelta),
        ({"type": "thinking_delta", "thinking": "hm"}, tms.ThinkingDelta),
        ({"type": "signature_delta", "signature": "sig"}, tms.SignatureDelta),
        ({"type": "citations_delta", "citation": {"cited_text": "a"}}, tms.CitationsDelta),
        ({"type": "compaction_delta", "content": "c"}, tms.types.CompactionContentBlockDelta),
        ({"type": "hologram_delta", "depth": 3}, tms.UnknownDelta),
    ],
)
def test_deltas_discriminate_on_type(delta: dict[str, object], cls: type) -> None:
    event = parse_event(
        "content_block_delta",
        json.dumps({"type": "content_block_delta", "index": 2, "delta": delta}),
    )
    assert isinstance(event, tms.RawContentBlockDeltaEvent)
    assert type(event.delta) is cls


def test_unknown_event_type_is_kept_with_all_fields() -> None:
    event = parse_event("brand_new_event", '{"type": "brand_new_event", "answer": 42}')
    assert isinstance(event, tms.UnknownEvent)
    # ``type`` is "unknown" so that narrowing on ``event.type`` works in type checkers;
    # the wire type is kept, and dumps put it back.
    assert event.type == "unknown"
    assert event.event_type == "brand_new_event"
    assert event.model_extra == {"answer": 42}
    assert event.model_dump() == {"type": "brand_new_event", "answer": 42}


def test_unknown_block_type_is_kept() -> None:
    event = parse_event(
        "content_block_start",
        '{"type":"content_block_start","index":0,"content_block":{"type":"hologram","depth":3}}',
    )
    assert isinstance(event, tms.RawContentBlockStartEvent)
    assert isinstance(event.content_block, tms.UnknownBlock)
    assert event.content_block.type == "hologram"
    assert event.content_block.model_dump() == {"type": "hologram", "depth": 3}


def test_unknown_fields_are_preserved_on_known_models() -> None:
    event = parse_event(
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":"refusal","stop_mood":{"category":"x"}},'
        '"usage":{"output_tokens":1,"future_credit":{"status":"ok"}}}',
    )
    assert isinstance(event, tms.RawMessageDeltaEvent)
    assert event.delta.model_extra == {"stop_mood": {"category": "x"}}
    assert event.usage.model_extra == {"future_credit": {"status": "ok"}}


def test_stop_details_and_fallback_credit_are_typed() -> None:
    event = parse_event(
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":"refusal","stop_details":'
        '{"type":"refusal","category":"cyber","explanation":null}},"usage":{"output_tokens":1,'
        '"fallback_credit":{"status":{"type":"redeemed"}}}}',
    )
    assert isinstance(event, tms.RawMessageDeltaEvent)
    assert isinstance(event.delta.stop_details, tms.types.RefusalStopDetails)
    assert event.delta.stop_details.category == "cyber"
    credit = event.usage.fallback_credit
    assert credit is not None
    assert isinstance(credit.status, tms.types.FallbackCreditRedeemed)


def test_sse_name_disagreeing_with_payload_type_uses_payload() -> None:
    # A generic "message" event name (or a wrong one) must not mis-type the event.
    event = parse_event("message", '{"type":"ping"}')
    assert isinstance(event, tms.RawPingEvent)
    event = parse_event("content_block_stop", '{"type":"message_stop"}')
    assert isinstance(event, tms.RawMessageStopEvent)


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1, 2]",
        '{"type": "content_block_delta", "index": "zero", '
        '"delta": {"type": "text_delta", "text": ""}}',
        '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}',
        '{"no_type": true}',
    ],
)
def test_malformed_data_raises_stream_protocol_error(data: str) -> None:
    with pytest.raises(tms.StreamProtocolError) as info:
        parse_event("content_block_delta", data)
    assert "content_block_delta" in str(info.value)


def test_bytes_and_str_data_parse_the_same() -> None:
    payload = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"é"}}'
    assert parse_event("content_block_delta", payload) == parse_event(
        "content_block_delta", payload.encode()
    )


def test_unknown_kinds_survive_at_every_level_though_type_checkers_do_not_see_them() -> None:
    # The static unions leave the catch-all out (so ``block.type == "text"`` narrows);
    # the run-time unions still keep every kind this version does not know.
    message = tms.Message.model_validate(
        {
            "id": "msg_1",
            "content": [
                {"type": "hologram", "depth": 3},
                {
                    "type": "text",
                    "text": "hi",
                    "citations": [{"type": "star_chart", "cited_text": "x"}],
                },
                {"type": "tool_use", "id": "t", "name": "n", "caller": {"type": "robot"}},
                {"type": "web_search_tool_result", "content": {"type": "mirage", "n": 1}},
            ],
        }
    )
    hologram, text, tool, search = message.content
    assert isinstance(hologram, tms.UnknownBlock)
    assert hologram.model_dump() == {"type": "hologram", "depth": 3}
    assert isinstance(text, tms.TextBlock)
    assert text.citations is not None
    assert isinstance(text.citations[0], UnknownObject)
    assert text.citations[0].type == "star_chart"
    assert isinstance(tool, tms.ToolUseBlock)
    assert isinstance(tool.caller, UnknownObject)
    assert tool.caller.type == "robot"
    assert isinstance(search, tms.WebSearchToolResultBlock)
    assert isinstance(search.content, UnknownObject)
    assert search.content.model_dump() == {"type": "mirage", "n": 1}
    event = parse_event(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"hologram_delta","d":1}}',
    )
    assert isinstance(event, tms.RawContentBlockDeltaEvent)
    assert isinstance(event.delta, tms.UnknownDelta)
    assert event.delta.model_dump() == {"type": "hologram_delta", "d": 1}


@pytest.mark.parametrize(
    "delta",
    [
        {"type": "text_delta", "text": "hi"},
        {"type": "input_json_delta", "partial_json": '{"a": '},
        {"type": "thinking_delta", "thinking": "so"},
        {"type": "signature_delta", "signature": "c2ln"},
    ],
)
def test_known_deltas_are_validated_without_a_python_call(delta: dict[str, object]) -> None:
    # The delta fast path discriminates inside pydantic-core; had the model's own
    # validator been reused for it (pydantic-core's "prebuilt" shortcut), every delta
    # would call the union's Python discriminator again.
    import sys

    from trio_msgstream._core.stream.events import _FAST_DELTA

    data = json.dumps({"type": "content_block_delta", "index": 0, "delta": delta})
    calls: list[str] = []
    sys.setprofile(lambda frame, what, arg: calls.append(what) if what == "call" else None)
    try:
        event = _FAST_DELTA(data)
    finally:
        sys.setprofile(None)
    assert calls == []
    assert event == parse_event("content_block_delta", data.replace('"index": 0', '"index":0'))
    assert event.delta.__pydantic_fields_set__ == set(delta)
