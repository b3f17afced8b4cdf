"""``parse()`` on a middleware's response when the request streams, on both clients.

A streamed body parses to the message the stream accumulates (through the same stream
engine and framing table as the caller's stream: Server-Sent Events, Bedrock's
event-stream frames), the caller's stream then replays it; an ``error`` event in it is
its typed error. The same holds for the refusal-fallback middleware's spliced stream,
for an ``httpx.Response`` a test double returned (the middleware before it gets a
response object, not the bare ``httpx.Response``), and for a non-streaming request
(``create``, ``messages.parse``) that a test double answers with a stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest
import trio
from _fallback_wire import (
    FALLBACK,
    FALLBACKS,
    PRIMARY,
    STOP,
    STREAM_A,
    STREAM_B,
    Both,
    end,
    refusal,
    sse,
    start,
    text,
)
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.middleware import BetaFallbackState, BetaRefusalFallbackMiddleware
from trio_msgstream.testing import (
    FakeBedrock,
    ScriptedResponse,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    sse_bytes,
    text_response,
)


class City(pydantic.BaseModel):
    city: str
    days: int


@pytest.fixture(params=["async", "sync"])
async def both(request: pytest.FixtureRequest) -> AsyncIterator[Both]:
    async with open_fake_anthropic() as server:
        yield Both(str(request.param), server)


def parsing(seen: list[Any]) -> Any:
    """A middleware (with its sync twin) that parses every response it passes on."""

    async def parse_async(request: tms.APIRequest, call_next: tms.AsyncCallNext) -> Any:
        response = await call_next(request)
        seen.append(await response.parse())
        return response

    def parse_sync(request: tms.APIRequest, call_next: tms.CallNext) -> Any:
        response = call_next(request)
        seen.append(response.parse())
        return response

    parse_async.sync = parse_sync  # type: ignore[attr-defined]
    return parse_async


def answering(body: bytes, content_type: str | None = "text/event-stream") -> Any:
    """A test double (with its sync twin) answering every request with ``body``."""
    headers = {"content-type": content_type} if content_type else {}

    async def double_async(request: tms.APIRequest, call_next: tms.AsyncCallNext) -> Any:
        return httpx.Response(200, headers=headers, content=body)

    def double_sync(request: tms.APIRequest, call_next: tms.CallNext) -> Any:
        return httpx.Response(200, headers=headers, content=body)

    double_async.sync = double_sync  # type: ignore[attr-defined]
    return double_async


def _text(message: Any) -> str:
    return "".join(getattr(block, "text", "") for block in message.content)


@pytest.mark.parametrize("operation", ["final", "events"])
async def test_parse_on_a_streamed_response_is_the_accumulated_message(
    both: Both, operation: str
) -> None:
    seen: list[Any] = []
    both.server.enqueue(text_response("hello there"))
    result = await both.run([parsing(seen)], operation, surface="plain")
    [parsed] = seen
    assert isinstance(parsed, tms.Message)
    assert _text(parsed) == "hello there"
    assert parsed.stop_reason == "end_turn"
    if operation == "final":  # the caller's stream replays the same events
        assert result.model_dump() == parsed.model_dump()
    else:
        assert [e.type for e in result][-1] == "message_stop"


async def test_parse_raises_the_streams_typed_error(both: Both) -> None:
    seen: list[Any] = []
    both.server.enqueue(
        ScriptedResponse.error_event_after(4, text_response("one two three"), "overloaded_error")
    )
    with pytest.raises(tms.OverloadedError) as info:
        await both.run([parsing(seen)], "final", surface="plain")
    assert info.value.mid_stream
    assert info.value.partial_message is not None
    assert seen == []


async def test_parse_over_the_refusal_fallback_splice(both: Both) -> None:
    seen: list[Any] = []
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    middleware = [parsing(seen), BetaRefusalFallbackMiddleware(FALLBACKS)]
    final = await both.run(middleware, "final", state=BetaFallbackState())
    [parsed] = seen
    assert parsed.model == FALLBACK
    assert [b.type for b in parsed.content] == ["thinking", "text", "fallback", "text"]
    assert parsed.model_dump() == final.model_dump()
    assert [b["model"] for b in both.bodies] == [PRIMARY, FALLBACK]


async def test_structured_output_over_the_splice_with_a_parsing_middleware(both: Both) -> None:
    seen: list[Any] = []
    refused = [start(), *text(0, '{"city": "Os'), refusal(), STOP]
    serving = [start(FALLBACK, "msg_b"), *text(0, 'lo", "days": 3}'), *end()]
    both.server.enqueue(sse(refused), sse(serving))
    middleware = [parsing(seen), BetaRefusalFallbackMiddleware(FALLBACKS)]
    final = await both.run(middleware, "final", state=BetaFallbackState(), output_format=City)
    assert final.parsed_output == City(city="Oslo", days=3)
    assert _text(seen[0]) == '{"city": "Oslo", "days": 3}'


STREAMED = sse_bytes([start(), *text(0, '{"city": "Rome", "days": 2}'), *end()])


@pytest.mark.parametrize("content_type", ["text/event-stream", None])
async def test_a_test_doubles_stream_is_a_response_to_the_middleware_before_it(
    both: Both, content_type: str | None
) -> None:
    seen: list[Any] = []
    middleware = [parsing(seen), answering(STREAMED, content_type)]
    final = await both.run(middleware, "final", surface="plain")
    assert _text(final) == _text(seen[0]) == '{"city": "Rome", "days": 2}'
    assert both.server.requests == []


async def test_messages_parse_answered_with_a_stream(both: Both) -> None:
    # A non-streaming request that a (recording, say) test double answers with a
    # stream: create() and messages.parse get the accumulated message.
    seen: list[Any] = []
    message = await both.run([parsing(seen), answering(STREAMED)], "create", surface="plain")
    assert _text(message) == '{"city": "Rome", "days": 2}'
    assert isinstance(seen[0], tms.Message)

    async with tms.AsyncClient(
        base_url=both.server.base_url, api_key="k", middleware=[answering(STREAMED)]
    ) as client:
        parsed = await client.messages.parse(**PARAMS, output_format=City)
    assert parsed.parsed_output == City(city="Rome", days=2)

    def in_thread() -> Any:
        twin = answering(STREAMED).sync
        with tms.Client(base_url=both.server.base_url, api_key="k", middleware=[twin]) as sync:
            return sync.messages.parse(**PARAMS, output_format=City)

    assert (await trio.to_thread.run_sync(in_thread)).parsed_output == City(city="Rome", days=2)


BEDROCK = {**PARAMS, "model": "anthropic.claude-sonnet-5-5-v1:0"}


async def test_parse_reads_bedrock_event_stream_frames(server: Any) -> None:
    seen: list[Any] = []
    fake = FakeBedrock(server)
    server.enqueue(text_response("framed hello"))
    async with tms.AsyncAnthropicBedrock(
        **fake.client_kwargs(api_key=True), middleware=[parsing(seen)]
    ) as client:
        async with client.messages.stream(**BEDROCK) as stream:
            final = await stream.get_final_message()
    assert _text(seen[0]) == _text(final) == "framed hello"
    assert server.requests[0].path.endswith("/invoke-with-response-stream")


def test_parse_reads_bedrock_event_stream_frames_sync() -> None:
    seen: list[Any] = []
    with fake_anthropic_in_thread() as server:
        fake = FakeBedrock(server)
        server.enqueue(text_response("framed hello"))
        with tms.AnthropicBedrock(
            **fake.client_kwargs(api_key=True), middleware=[parsing(seen).sync]
        ) as client:
            with client.messages.stream(**BEDROCK) as stream:
                final = stream.get_final_message()
    assert _text(seen[0]) == _text(final) == "framed hello"
