"""Structured outputs in the core: request form (the SDK as oracle), final and partial parsing."""

from __future__ import annotations

import datetime
import enum
import json
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from trio_msgstream._core.schema.models import Message
from trio_msgstream._core.stream.events import TextEvent
from trio_msgstream._core.typed_json.structured import (
    OutputParser,
    OutputRefusedError,
    OutputTracker,
    OutputTruncatedError,
    OutputValidationError,
    ParsedMessage,
    ParsedOutputEvent,
    output_format_param,
    prepare_output_format,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sdk_oracle import sdk_request_body


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    """One line of an order."""

    name: str = Field(description="What it is", min_length=2)
    qty: int = Field(ge=0)
    tags: list[str] = Field(default_factory=list, min_length=3)
    when: datetime.date | None = None
    color: Color = Color.RED


class Order(BaseModel):
    customer: str
    items: list[Item]
    kind: Literal["pickup", "delivery"]
    ref: int | str
    parent: Order | None = None


FORMATS: list[Any] = [Order, list[Item], int, dict[str, int], Literal["x", "y"], str]
BASE = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.parametrize("output_format", FORMATS, ids=repr)
def test_request_body_is_what_the_sdk_sends(output_format: Any) -> None:
    theirs = sdk_request_body("messages.parse", **BASE, output_format=output_format)
    ours, parser = prepare_output_format({**BASE, "output_format": output_format})
    assert parser is not None
    assert json.loads(json.dumps(ours)) == theirs


def test_output_config_keeps_its_other_keys_as_the_sdk_does() -> None:
    config = {"effort": "low"}
    theirs = sdk_request_body("messages.parse", **BASE, output_config=config, output_format=Item)
    ours, _ = prepare_output_format({**BASE, "output_config": config, "output_format": Item})
    assert ours == theirs
    assert ours["output_config"]["effort"] == "low"


def test_beta_parse_sends_the_same_form() -> None:
    theirs = sdk_request_body("beta.messages.parse", **BASE, output_format=Order)
    ours, _ = prepare_output_format({**BASE, "output_format": Order})
    assert ours["output_config"] == theirs["output_config"]


def test_without_output_format_nothing_changes() -> None:
    params, parser = prepare_output_format(BASE)
    assert params == BASE
    assert parser is None


def test_a_schema_dict_is_refused() -> None:
    with pytest.raises(TypeError, match="must be a type"):
        output_format_param({"type": "object"})


def _message(text: str, stop_reason: str | None = "end_turn") -> Message:
    return Message.model_validate(
        {"id": "msg_1", "content": [{"type": "text", "text": text}], "stop_reason": stop_reason}
    )


ORDER_JSON = '{"customer": "Ada", "items": [{"name": "tea", "qty": 2}], "kind": "pickup", "ref": 7}'


def test_final_parse_gives_a_typed_parsed_message() -> None:
    parsed = OutputParser(Order).parse_message(_message(ORDER_JSON))
    assert isinstance(parsed, ParsedMessage)
    assert isinstance(parsed, Message)
    assert isinstance(parsed.parsed_output, Order)
    assert parsed.parsed_output.items[0].qty == 2
    # left out of dumps, so the message goes back into a conversation unchanged
    assert "parsed_output" not in parsed.model_dump()
    assert parsed.model_dump() == _message(ORDER_JSON).model_dump()


def test_validation_failure_carries_raw_text_and_pydantic_errors() -> None:
    raw = '{"customer": 5, "items": []}'
    with pytest.raises(OutputValidationError) as info:
        OutputParser(Order).parse_message(_message(raw))
    error = info.value
    assert error.raw_text == raw
    locations = {err["loc"] for err in error.errors}
    assert ("customer",) in locations
    assert ("kind",) in locations
    assert error.final_message.id == "msg_1"
    assert "Order" in str(error)


def test_text_that_is_not_json_is_a_validation_error() -> None:
    with pytest.raises(OutputValidationError) as info:
        OutputParser(Order).parse_message(_message("Sure! Here it is"))
    assert info.value.errors[0]["type"] == "json_invalid"


def test_refusal_is_reported_as_a_refusal() -> None:
    with pytest.raises(OutputRefusedError) as info:
        OutputParser(Order).parse_message(_message("I can't help with that.", "refusal"))
    assert not isinstance(info.value, OutputValidationError)
    assert info.value.raw_text == "I can't help with that."


def test_max_tokens_is_reported_as_truncation() -> None:
    with pytest.raises(OutputTruncatedError) as info:
        OutputParser(Order).parse_message(_message('{"customer": "Ad', "max_tokens"))
    assert info.value.stop_reason == "max_tokens"
    assert not isinstance(info.value, OutputValidationError)


def test_a_tool_use_turn_carries_no_output() -> None:
    parsed = OutputParser(Order).parse_message(_message("Let me look.", "tool_use"))
    assert parsed.parsed_output is None


class _Source:
    def snapshot_at(self, n: int) -> str:
        return ""


def _text_events(text: str, size: int) -> list[Any]:
    return [TextEvent(text[i : i + size], 0, _Source(), 0) for i in range(0, len(text), size)]


def test_partial_output_grows_field_by_field() -> None:
    tracker = OutputTracker(OutputParser(Order))
    events = tracker.observe(_text_events(ORDER_JSON, 5))
    parsed = [e for e in events if isinstance(e, ParsedOutputEvent)]
    assert len(parsed) == len(events) // 2  # one after each text delta
    snapshots = [e.snapshot for e in parsed]
    assert snapshots[0] is None or isinstance(snapshots[0], Order)
    # typed as the model throughout, with the missing fields None
    middle = next(s for s in snapshots if s is not None and s.customer == "Ada")
    assert isinstance(middle, Order)
    assert middle.kind is None
    assert isinstance(snapshots[-1], Order)
    assert snapshots[-1] == Order.model_validate_json(ORDER_JSON)
    assert tracker.partial_output == snapshots[-1]


def test_partial_strings_and_items_show_as_they_arrive() -> None:
    tracker = OutputTracker(OutputParser(Order))
    events = tracker.observe(_text_events('{"customer": "Ada Love', 100))
    assert events[1].snapshot.customer == "Ada Love"
    assert tracker.partial_output is not None
    assert tracker.partial_output.customer == "Ada Love"
    tracker.observe(_text_events('lace", "items": [{"name": "tea", "qty": 2}, {"name": "sc', 100))
    items = tracker.partial_output.items  # type: ignore[union-attr]
    assert [item.name for item in items] == ["tea", "sc"]
    assert items[1].qty is None


def test_partial_output_of_non_json_is_none() -> None:
    tracker = OutputTracker(OutputParser(Order))
    tracker.observe(_text_events("Sure, here", 3))
    assert tracker.partial_output is None


def test_reading_no_snapshot_costs_no_parsing() -> None:
    tracker = OutputTracker(OutputParser(Order))
    tracker.observe(_text_events(ORDER_JSON, 1))
    assert tracker._fed == 0  # nothing was handed to the JSON parser yet
    assert isinstance(tracker.partial_output, Order)
    assert tracker._fed == len(ORDER_JSON)
