"""The tool decorator and tool results (the SDK's definitions as oracle)."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import trio_msgstream as tms
from trio_msgstream._core.agents.tool_runner import ToolRunnerState
from trio_msgstream._core.typed_json.tools import (
    MAX_ERROR_TEXT,
    FunctionTool,
    ToolError,
    tool_error_block,
    tool_result_block,
)
from trio_msgstream.types import Message


def get_weather(city: str, unit: Literal["C", "F"] = "C", days: int = 1) -> str:
    """Current weather of a city.

    Looks it up in the weather service.

    Args:
        city: City name, e.g. "Paris".
        unit: The unit of the temperatures.

    Returns:
        A sentence.
    """
    return f"sunny in {city}, {days} day(s), in {unit}"


async def lookup(query: str, limit: int = 3) -> list[str]:
    """Search the index."""
    return [query] * limit


class Point(BaseModel):
    x: int
    y: int


def nearest(point: Point, names: list[str] | None = None) -> Point:
    """Nearest known point."""
    return point


@pytest.mark.parametrize("func", [get_weather, lookup, nearest], ids=lambda f: f.__name__)
def test_definition_is_what_the_sdk_builds(func: Any) -> None:
    import anthropic

    sdk = anthropic.beta_async_tool(func) if func is lookup else anthropic.beta_tool(func)
    ours = tms.tool(func)
    assert json.loads(json.dumps(ours.to_dict())) == json.loads(json.dumps(sdk.to_dict()))


def test_the_sdk_names_are_the_same_decorator() -> None:
    assert tms.beta_tool is tms.tool
    assert tms.beta_async_tool is tms.tool


def test_decorator_with_options() -> None:
    @tms.tool(name="wx", description="Weather.", cache_control={"type": "ephemeral"})
    def weather(city: str) -> str:
        """Ignored docstring."""
        return city

    assert isinstance(weather, FunctionTool)
    assert weather.to_dict()["name"] == "wx"
    assert weather.to_dict()["description"] == "Weather."
    assert weather.to_dict()["cache_control"] == {"type": "ephemeral"}
    assert weather("Paris") == "Paris"  # still callable


def test_call_validates_the_input() -> None:
    weather = tms.tool(get_weather)
    assert weather.call({"city": "Oslo", "days": "2"}) == "sunny in Oslo, 2 day(s), in C"
    with pytest.raises(ToolError) as info:
        weather.call({"cty": "Oslo"})
    assert "city" in str(info.value.content)
    assert "get_weather" in str(info.value.content)
    with pytest.raises(ToolError):
        weather.call(["Oslo"])
    assert tms.tool(nearest).call({"point": {"x": 1, "y": 2}}) == Point(x=1, y=2)


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain", "plain"),
        ([{"type": "text", "text": "a"}], [{"type": "text", "text": "a"}]),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        (Point(x=1, y=2), '{"x":1,"y":2}'),
        (3.5, "3.5"),
        (["a", "b"], '["a", "b"]'),
    ],
)
def test_return_values_become_tool_result_content(value: Any, content: Any) -> None:
    assert tool_result_block("toolu_1", value) == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": content,
    }


def test_none_is_a_result_without_content() -> None:
    assert tool_result_block("toolu_1", None) == {"type": "tool_result", "tool_use_id": "toolu_1"}


def test_exceptions_become_short_error_results_without_secrets() -> None:
    try:
        raise RuntimeError(
            "connect failed with key sk-ant-api03-SECRETSECRET and token t0k3n " * 20
        )
    except RuntimeError as exc:
        block = tool_error_block("toolu_1", exc, secrets=["t0k3n"])
    assert block["is_error"] is True
    text = block["content"]
    assert text.startswith("Error: RuntimeError: connect failed")
    assert "SECRETSECRET" not in text
    assert "t0k3n" not in text
    assert "Traceback" not in text
    assert "\n" not in text
    assert len(text) <= MAX_ERROR_TEXT + len("Error: ")


def test_tool_error_sends_its_own_content() -> None:
    block = tool_error_block("toolu_1", ToolError([{"type": "text", "text": "no such city"}]))
    assert block["content"] == [{"type": "text", "text": "no such city"}]
    assert block["is_error"] is True


def _reply(*blocks: dict[str, Any], stop_reason: str = "tool_use") -> Message:
    return Message.model_validate(
        {"id": "msg", "content": list(blocks), "stop_reason": stop_reason}
    )


def _use(tool_id: str, name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": {"city": "x"}}


def test_runner_state_orders_results_and_answers_unknown_tools() -> None:
    weather = tms.tool(get_weather)
    state = ToolRunnerState(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [weather, {"name": "raw", "input_schema": {"type": "object"}}],
        },
        max_iterations=5,
    )
    assert state.request_params()["tools"][0] == weather.to_dict()
    state.record_reply(_reply(_use("a", "get_weather"), _use("b", "raw"), _use("c", "zzz")))
    calls = state.tool_calls()
    assert [c.id for c in calls] == ["a", "b", "c"]
    assert calls[0].tool is weather
    assert calls[1].tool is None  # a raw definition is not run
    results = {
        "c": state.unknown_result(calls[2]),
        "a": tool_result_block("a", "ok"),
        "b": state.unknown_result(calls[1]),
    }
    state.add_tool_results(results)
    last = state.messages[-1]
    assert last["role"] == "user"
    assert [b["tool_use_id"] for b in last["content"]] == ["a", "b", "c"]
    assert last["content"][2]["is_error"]
    assert "zzz" in last["content"][2]["content"]
    assert state.messages[-2]["role"] == "assistant"
    assert not state.should_stop()


def test_runner_state_stops_on_end_turn_and_max_iterations() -> None:
    params = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    state = ToolRunnerState(params, max_iterations=1)
    state.record_reply(_reply(_use("a", "x")))
    assert state.should_stop()
    state = ToolRunnerState(params)
    state.record_reply(_reply({"type": "text", "text": "bye"}, stop_reason="end_turn"))
    assert state.should_stop()


def test_runner_state_leaves_results_to_a_caller_who_changed_the_conversation() -> None:
    params = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    state = ToolRunnerState(params)
    state.record_reply(_reply(_use("a", "x")))
    state.append_messages(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a"}]}
    )
    state.add_tool_results({"a": tool_result_block("a", "ignored")})
    assert state.messages[-1]["content"] == [{"type": "tool_result", "tool_use_id": "a"}]


def test_disable_parallel_tool_use_is_respected() -> None:
    params = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    assert ToolRunnerState(params).parallel
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    assert not ToolRunnerState({**params, "tool_choice": choice}).parallel
