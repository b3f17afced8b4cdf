"""Structured outputs through the sync client (fake server in a thread)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    fake_anthropic_in_thread,
    json_response,
    text_response,
)


class Trip(BaseModel):
    city: str
    days: int


PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Plan a trip."}],
}


@pytest.fixture
def conv() -> Conversation:
    return Conversation()


@pytest.fixture
def client(conv: Conversation) -> Iterator[tms.Client]:
    with fake_anthropic_in_thread(responder=conv) as server:
        with tms.Client(base_url=server.base_url, api_key="sk-test") as client:
            yield client


def test_parse(conv: Conversation, client: tms.Client) -> None:
    conv.add(json_response({"city": "Oslo", "days": 2}))
    message = client.messages.parse(**PARAMS, output_format=Trip)
    assert message.parsed_output == Trip(city="Oslo", days=2)
    assert conv.turns[0].body["output_config"]["format"]["type"] == "json_schema"


def test_stream_partial_output(conv: Conversation, client: tms.Client) -> None:
    conv.add(json_response({"city": "Trondheim", "days": 12}, chunk_size=2))
    cities: list[str | None] = []
    with client.messages.stream(**PARAMS, output_format=Trip) as stream:
        for event in stream:
            if event.type == "parsed_output" and event.snapshot is not None:
                cities.append(event.snapshot.city)
        assert stream.partial_output == Trip(city="Trondheim", days=12)
        final = stream.get_final_message()
    assert isinstance(final, tms.ParsedMessage)
    assert final.parsed_output == Trip(city="Trondheim", days=12)
    assert "Tr" in cities
    assert cities[-1] == "Trondheim"


def test_refusal_truncation_and_invalid(conv: Conversation, client: tms.Client) -> None:
    conv.add(
        text_response("No.", stop_reason="refusal"),
        json_response({"city": "Oslo", "days": 2}, stop_reason="max_tokens"),
        json_response(None, raw='{"city": "Oslo"}'),
    )
    with pytest.raises(tms.OutputRefusedError):
        client.messages.parse(**PARAMS, output_format=Trip)
    with pytest.raises(tms.OutputTruncatedError):
        client.messages.parse(**PARAMS, output_format=Trip)
    with client.messages.stream(**PARAMS, output_format=Trip) as stream:
        with pytest.raises(tms.OutputValidationError) as info:
            stream.get_final_message()
    assert info.value.errors[0]["loc"] == ("days",)


def test_sync_tool_runner_through_the_client(conv: Conversation, client: tms.Client) -> None:
    from trio_msgstream.testing import tool_calls_response

    conv.add(tool_calls_response([("double", {"n": 21})]), json_response({"city": "x", "days": 42}))

    @tms.tool
    def double(n: int) -> int:
        """Double it."""
        return 2 * n

    with client.beta.messages.tool_runner(
        **PARAMS, tools=[double], output_format=Trip, betas=["b-1"]
    ) as runner:
        final = runner.until_done()
    assert final.parsed_output == Trip(city="x", days=42)
    assert conv.turns[1].tool_result_text() == "42"
    assert conv.turns[0].request.header("anthropic-beta") == "b-1"
