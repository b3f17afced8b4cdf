"""Structured outputs through the async client and the fake server: the request is the
SDK's, partial output on a chunked JSON reply, typed failures."""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from pydantic import BaseModel

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    FakeAnthropicServer,
    json_response,
    open_fake_anthropic,
    text_response,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sdk_oracle import sdk_request_body


class Stop(BaseModel):
    name: str
    minutes: int


class Itinerary(BaseModel):
    city: str
    stops: list[Stop]
    note: str | None = None


REPLY = {
    "city": "Kyoto",
    "stops": [{"name": "Fushimi Inari", "minutes": 90}, {"name": "Gion", "minutes": 45}],
    "note": "Go early.",
}
PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Plan a day in Kyoto."}],
}


@pytest.fixture
async def conv_server() -> AsyncIterator[tuple[Conversation, FakeAnthropicServer]]:
    conv = Conversation()
    async with open_fake_anthropic(responder=conv) as server:
        yield conv, server


@pytest.fixture
async def client(
    conv_server: tuple[Conversation, FakeAnthropicServer],
) -> AsyncIterator[tms.AsyncClient]:
    async with tms.AsyncClient(base_url=conv_server[1].base_url, api_key="sk-test") as client:
        yield client


def _without_stream(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "stream"}


async def test_parse_sends_what_the_sdk_sends_and_returns_the_object(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(json_response(REPLY))
    with trio.fail_after(10):
        message = await client.messages.parse(**PARAMS, output_format=Itinerary)
    theirs = sdk_request_body("messages.parse", **PARAMS, output_format=Itinerary)
    assert _without_stream(conv.turns[0].body) == _without_stream(theirs)
    assert conv.turns[0].body["output_config"]["format"]["schema"]["additionalProperties"] is False
    assert isinstance(message, tms.ParsedMessage)
    assert message.parsed_output == Itinerary.model_validate(REPLY)


async def test_stream_sends_the_same_schema(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(json_response(REPLY))
    with trio.fail_after(10):
        async with client.messages.stream(**PARAMS, output_format=Itinerary) as stream:
            await stream.until_done()
    theirs = sdk_request_body("messages.parse", **PARAMS, output_format=Itinerary)
    assert conv.turns[0].body["output_config"] == theirs["output_config"]
    assert conv.turns[0].body["stream"] is True


async def test_partial_output_on_a_chunked_json_reply(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(json_response(REPLY, chunk_size=3))
    seen: list[dict[str, Any]] = []
    parsed_output_events = 0
    with trio.fail_after(10):
        async with client.messages.stream(**PARAMS, output_format=Itinerary) as stream:
            assert stream.partial_output is None
            # Only the events' snapshots are read while streaming: reading
            # ``stream.partial_output`` (all the text the producer has received, which
            # can be ahead of the consumer) would let later snapshots start from there.
            async for event in stream:
                if event.type == "parsed_output":
                    parsed_output_events += 1
                    snapshot = event.snapshot
                    assert snapshot is None or isinstance(snapshot, Itinerary)
                    if snapshot is not None:
                        seen.append(snapshot.model_dump())
            final = await stream.get_final_message()
            assert await stream.get_final_message() is final  # parsed once
            partial_at_end = stream.partial_output
    assert isinstance(final, tms.ParsedMessage)
    assert final.parsed_output == Itinerary.model_validate(REPLY)
    assert isinstance(partial_at_end, Itinerary)
    assert partial_at_end.model_dump() == final.parsed_output.model_dump()
    text_deltas = len(range(0, len(final.content[0].text), 3))  # type: ignore[union-attr]
    assert parsed_output_events == text_deltas  # one parsed_output event per text delta
    # Fields fill in as they arrive, never go back, and end as the final object.
    cities = [s["city"] for s in seen if s["city"] is not None]
    assert cities[0] != "Kyoto"  # a partial string was shown
    assert cities[-1] == "Kyoto"
    assert all(b.startswith(a) for a, b in itertools.pairwise(cities))
    stop_counts = [len(s["stops"] or []) for s in seen]
    assert stop_counts == sorted(stop_counts)
    assert any(s["stops"] and s["stops"][-1]["minutes"] is None for s in seen)
    assert seen[-1] == final.parsed_output.model_dump()  # type: ignore[union-attr]


async def test_validation_failure_is_typed(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    raw = '{"city": "Kyoto", "stops": [{"name": "Gion", "minutes": "soon"}]}'
    conv.add(json_response(None, raw=raw), json_response(None, raw=raw))
    with trio.fail_after(10):
        with pytest.raises(tms.OutputValidationError) as info:
            await client.messages.parse(**PARAMS, output_format=Itinerary)
        assert info.value.raw_text == raw
        assert info.value.errors[0]["loc"] == ("stops", 0, "minutes")
        async with client.messages.stream(**PARAMS, output_format=Itinerary) as stream:
            with pytest.raises(tms.OutputValidationError) as info2:
                await stream.get_final_message()
            # the partial view stays lenient
            assert stream.partial_output.stops[0].minutes is None
    assert info2.value.final_message.content[0].text == raw  # type: ignore[union-attr]


async def test_refusal_and_max_tokens_are_reported_as_such(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(
        text_response("I can't help with that.", stop_reason="refusal"),
        json_response(REPLY, stop_reason="max_tokens"),
        text_response("I can't help with that.", stop_reason="refusal"),
    )
    with trio.fail_after(10):
        with pytest.raises(tms.OutputRefusedError):
            await client.messages.parse(**PARAMS, output_format=Itinerary)
        with pytest.raises(tms.OutputTruncatedError) as info:
            await client.messages.create(**PARAMS, output_format=Itinerary)
        assert info.value.stop_reason == "max_tokens"
        async with client.messages.stream(**PARAMS, output_format=Itinerary) as stream:
            with pytest.raises(tms.OutputRefusedError):
                await stream.get_final_message()


async def test_beta_messages_parse_and_tool_objects_in_create(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(json_response(REPLY), text_response("ok"))

    @tms.tool
    def lookup(place: str) -> str:
        """Look a place up."""
        return place

    with trio.fail_after(10):
        message = await client.beta.messages.parse(
            **PARAMS, output_format=Itinerary, betas=["some-beta-2025-01-01"]
        )
        await client.messages.create(**PARAMS, tools=[lookup])
    assert message.parsed_output is not None
    assert conv.turns[0].request.header("anthropic-beta") == "some-beta-2025-01-01"
    assert conv.turns[1].body["tools"] == [lookup.to_dict()]


async def test_without_output_format_nothing_changes(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(json_response(REPLY))
    with trio.fail_after(10):
        async with client.messages.stream(**PARAMS) as stream:
            kinds = {event.type async for event in stream}
            message = await stream.get_final_message()
    assert "parsed_output" not in kinds
    assert stream.partial_output is None
    assert type(message) is tms.types.Message
    assert "output_config" not in conv.turns[0].body
