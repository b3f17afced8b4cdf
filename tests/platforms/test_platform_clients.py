"""The platform clients end to end, against the platform fakes on real sockets.

Streams, raw streams, create, parse, handlers, ``open_message_stream``, fan-out and the
tool runner over Bedrock's event-stream frames (SigV4 checked by the fake), Vertex AI
and Foundry; exception frames as typed errors, retried before content; the Bedrock
final message equal to the official SDK's on the same frames. The contract suite
(``tests/contract``) runs its lifecycle, retry, timeout and error cases against each
platform as well.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pydantic
import pytest
import trio
import trio.testing
from _shared import PARAMS, TRANSCRIPTS

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    FakeAnthropicServer,
    FakeBedrock,
    FakeFoundry,
    FakeVertex,
    ScriptedResponse,
    eventstream_bytes,
    fake_anthropic_in_thread,
    json_response,
    open_fake_anthropic,
    text_response,
    tool_calls_response,
)
from trio_msgstream.testing._clouds import bedrock_frames

BEDROCK_MODEL = "anthropic.claude-sonnet-5-5-v1:0"
BEDROCK = {**PARAMS, "model": BEDROCK_MODEL}
EVENTSTREAM = "application/vnd.amazon.eventstream"


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "AWS_", "CLOUD_ML_", "GOOGLE_")):
            monkeypatch.delenv(key)


def _text(message: tms.Message) -> str:
    return "".join(getattr(block, "text", "") for block in message.content)


# -- Bedrock: streams over event-stream frames, SigV4 verified by the fake ------------


async def test_bedrock_stream_signed_with_sigv4(server: FakeAnthropicServer) -> None:
    fake = FakeBedrock(server, session_token="fake-session-token")
    server.enqueue(text_response("Hello from Bedrock"))
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs()) as client:
        async with client.messages.stream(**BEDROCK) as stream:
            texts = [text async for text in stream.text_stream]
            message = await stream.get_final_message()
    assert "".join(texts) == _text(message) == "Hello from Bedrock"
    assert fake.rejections == []
    [request] = server.requests
    assert request.path == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream"
    assert (request.header("authorization") or "").startswith("AWS4-HMAC-SHA256 ")
    assert request.header("x-amz-security-token") == "fake-session-token"
    assert request.json["anthropic_version"] == client.api_version


async def test_bedrock_raw_stream_create_and_beta(server: FakeAnthropicServer) -> None:
    fake = FakeBedrock(server)
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs(api_key=True)) as client:
        server.enqueue(text_response("raw"))
        async with await client.messages.create(**BEDROCK, stream=True) as events:
            kinds = [event.type async for event in events]
        assert kinds[0] == "message_start"
        assert kinds[-1] == "message_stop"
        message = await client.messages.create(**BEDROCK)  # the default responder: JSON
        assert message.content
        beta = await client.beta.messages.create(**BEDROCK, betas=["beta-one"])
        assert beta.content
    assert fake.rejections == []
    assert server.requests[1].path.endswith("/invoke")
    assert server.requests[2].json["anthropic_beta"] == ["beta-one"]
    assert server.requests[2].header("authorization") == "Bearer fake-bedrock-api-key"


async def test_a_wrong_secret_fails_the_signature_the_fake_recomputes(
    server: FakeAnthropicServer,
) -> None:
    fake = FakeBedrock(server)
    kwargs = {**fake.client_kwargs(), "aws_secret_key": "not-the-secret", "max_retries": 0}
    async with tms.AsyncAnthropicBedrock(**kwargs) as client:
        with pytest.raises(tms.PermissionDeniedError) as info:
            await client.messages.create(**BEDROCK)
    assert "signature we calculated does not match" in str(info.value)
    assert "not-the-secret" not in str(info.value)
    assert len(fake.rejections) == 1


async def test_a_tampered_signed_header_is_refused(server: FakeAnthropicServer) -> None:
    # The fake checks the signature over the bytes that arrived: a header changed after
    # signing (here by an httpx event hook) no longer verifies.
    fake = FakeBedrock(server)

    async def tamper(request: httpx.Request) -> None:
        request.headers["content-type"] = "application/json; charset=latin-1"

    http = httpx.AsyncClient(event_hooks={"request": [tamper]})
    async with http, tms.AsyncAnthropicBedrock(**fake.client_kwargs(), http_client=http) as client:
        with pytest.raises(tms.PermissionDeniedError):
            await client.messages.create(**BEDROCK, max_retries=0)
    assert len(fake.rejections) == 1
    assert "signature" in fake.rejections[0]


@pytest.mark.parametrize(
    ("exception", "cls"),
    [
        ("throttlingException", tms.RateLimitError),
        ("serviceUnavailableException", tms.ServiceUnavailableError),
        ("internalServerException", tms.InternalServerError),
        ("modelStreamErrorException", tms.InternalServerError),
        ("modelTimeoutException", tms.errors.RequestTimeoutError),
    ],
)
async def test_exception_frames_before_content_are_retried(
    server: FakeAnthropicServer, autojump_clock: trio.testing.MockClock, exception: str, cls: Any
) -> None:
    fake = FakeBedrock(server)
    server.enqueue(ScriptedResponse.error_event_after(1, text_response("x"), exception))
    server.enqueue(text_response("second time lucky"))
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs()) as client:
        async with client.messages.stream(**BEDROCK) as stream:
            message = await stream.get_final_message()
        assert _text(message) == "second time lucky"
        assert len(server.requests) == 2
        # With no retries left, the same frame is the typed error.
        server.enqueue(ScriptedResponse.error_event_after(1, text_response("x"), exception))
        with pytest.raises(cls) as info:
            async with client.messages.stream(**BEDROCK, max_retries=0) as stream:
                await stream.get_final_message()
    assert info.value.type == exception
    assert info.value.mid_stream


async def test_an_exception_frame_after_content_keeps_the_partial_message(
    server: FakeAnthropicServer,
) -> None:
    fake = FakeBedrock(server)
    # message_start, content_block_start, ping, "one", " two", then throttled.
    server.enqueue(
        ScriptedResponse.error_event_after(5, text_response("one two three"), "rate_limit_error")
    )
    server.enqueue(text_response("never sent"))
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs()) as client:
        with pytest.raises(tms.RateLimitError) as info:
            async with client.messages.stream(**BEDROCK, max_retries=3) as stream:
                await stream.get_final_message()
    assert info.value.type == "throttlingException"
    assert info.value.partial_message is not None
    assert _text(info.value.partial_message) == "one two"
    assert len(server.requests) == 1  # content was delivered: not retried


async def test_a_corrupt_frame_is_a_protocol_error(server: FakeAnthropicServer) -> None:
    fake = FakeBedrock(server)
    frames = bytearray(bedrock_frames(text_response("hello world")).body)
    frames[-10] ^= 0xFF  # inside the last frame
    server.enqueue(ScriptedResponse(headers=[("content-type", EVENTSTREAM)], body=bytes(frames)))
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs(), max_retries=0) as client:
        with pytest.raises(tms.StreamProtocolError, match="CRC") as info:
            async with client.messages.stream(**BEDROCK) as stream:
                await stream.get_final_message()
    assert info.value.partial_message is not None


def test_the_sync_bedrock_client_streams_frames_and_retries() -> None:
    with fake_anthropic_in_thread() as server:
        fake = FakeBedrock(server)
        server.enqueue(
            ScriptedResponse.error_event_after(1, text_response("x"), "throttlingException"),
            text_response("sync over frames"),
        )
        with tms.AnthropicBedrock(**fake.client_kwargs()) as client:
            with client.messages.stream(**BEDROCK) as stream:
                text = "".join(stream.text_stream)
            assert text == "sync over frames"
            with client.messages.create(**BEDROCK, stream=True) as events:
                assert [e.type for e in events][-1] == "message_stop"
            assert client.messages.create(**BEDROCK).content
        assert len(server.requests) == 4
        assert fake.rejections == []


# -- every entry point on a platform client ---------------------------------------------


class Itinerary(pydantic.BaseModel):
    city: str
    days: int


@tms.tool
async def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def test_handlers_open_message_stream_fan_out_parse_and_tool_runner_on_bedrock() -> None:
    conv = Conversation(
        text_response("via open_message_stream"),
        json_response({"city": "Oslo", "days": 3}),
        tool_calls_response([("get_weather", {"city": "Oslo"})]),
        text_response("It is sunny."),
        *(text_response(f"fan {i}") for i in range(3)),
    )
    async with open_fake_anthropic(responder=conv) as server:
        fake = FakeBedrock(server)
        async with tms.AsyncAnthropicBedrock(**fake.client_kwargs()) as client:
            seen: list[str] = []

            class Handler(tms.MessageStream):
                async def on_text(self, text: str, snapshot: str) -> None:
                    seen.append(text)

            async with trio.open_nursery() as nursery:
                async with tms.open_message_stream(
                    nursery, client, event_handler=Handler, **BEDROCK
                ) as opened:
                    await opened.get_final_message()
            assert "".join(seen) == "via open_message_stream"

            parsed = await client.messages.parse(**BEDROCK, output_format=Itinerary)
            assert parsed.parsed_output == Itinerary(city="Oslo", days=3)

            runner = client.beta.messages.tool_runner(**BEDROCK, tools=[get_weather])
            final = await runner.until_done()
            assert _text(final) == "It is sunny."
            assert conv.turns[3].tool_results  # the tool's result went back

            async with tms.open_fan_out(client, max_concurrency=3) as fan:
                for i in range(3):
                    await fan.submit(i, **BEDROCK)
                results = await fan.gather()
            assert sorted(_text(r.message) for r in results.values() if r.message) == [
                "fan 0",
                "fan 1",
                "fan 2",
            ]
    assert fake.rejections == []
    assert all(r.path.startswith("/model/") for r in server.requests)


@pytest.mark.parametrize("flavour", ["vertex", "foundry"])
async def test_vertex_and_foundry_stream_create_count_and_parse(flavour: str) -> None:
    conv = Conversation(
        text_response("streamed"),
        text_response("created"),
        json_response({"city": "Rome", "days": 2}),
    )
    async with open_fake_anthropic(responder=conv) as server:
        fake: FakeVertex | FakeFoundry
        client: tms.AsyncClient
        if flavour == "vertex":
            fake = FakeVertex(server)
            client = tms.AsyncAnthropicVertex(**fake.client_kwargs())
        else:
            fake = FakeFoundry(server)
            client = tms.AsyncAnthropicFoundry(**fake.client_kwargs())
        async with client:
            async with client.messages.stream(**PARAMS) as stream:
                assert _text(await stream.get_final_message()) == "streamed"
            assert _text(await client.messages.create(**PARAMS)) == "created"
            messages = PARAMS["messages"]
            count = await client.messages.count_tokens(model=PARAMS["model"], messages=messages)
            assert count.input_tokens > 0
            parsed = await client.beta.messages.parse(
                **PARAMS, output_format=Itinerary, betas=["b"]
            )
            assert parsed.parsed_output == Itinerary(city="Rome", days=2)
        assert fake.rejections == []


def test_the_sync_vertex_and_foundry_clients() -> None:
    with fake_anthropic_in_thread() as server:
        vertex, foundry = FakeVertex(server), FakeFoundry(server)
        server.enqueue(text_response("from vertex"), text_response("from foundry"))
        with tms.AnthropicVertex(**vertex.client_kwargs()) as v:
            with v.messages.stream(**PARAMS) as stream:
                assert "".join(stream.text_stream) == "from vertex"
            assert v.messages.count_tokens(model="m", messages=PARAMS["messages"]).input_tokens
        with tms.AnthropicFoundry(**foundry.client_kwargs()) as f:
            with f.messages.stream(**PARAMS) as stream:
                assert "".join(stream.text_stream) == "from foundry"
        assert vertex.rejections == foundry.rejections == []


# -- the same frames give the official SDK's final message ------------------------------


def _bedrock_transcript(name: str) -> bytes:
    body = (TRANSCRIPTS / name).read_bytes()
    return bedrock_frames(ScriptedResponse(body=body)).body


BEDROCK_STOP = {
    "type": "message_stop",
    "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 25,
        "outputTokenCount": 12,
        "invocationLatency": 812,
        "firstByteLatency": 401,
    },
}


def _with_bedrock_metrics() -> bytes:
    # A stream as Bedrock sends it: its invocation metrics ride on message_stop.
    lines = (TRANSCRIPTS / "docs_basic_text.sse").read_text().split("\n\n")
    events = []
    for block in filter(None, lines):
        data = json.loads(block.split("data: ", 1)[1])
        events.append(BEDROCK_STOP if data["type"] == "message_stop" else data)
    return eventstream_bytes(events)


SDK_CASES = {
    "docs_tool_use": lambda: _bedrock_transcript("docs_tool_use.sse"),
    "own_refusal_stop_details": lambda: _bedrock_transcript("own_refusal_stop_details.sse"),
    "recorded_tool_runner_a_turn1_tool_use": lambda: _bedrock_transcript(
        "recorded_tool_runner_a_turn1_tool_use.sse"
    ),
    "bedrock_invocation_metrics": _with_bedrock_metrics,
}


@pytest.mark.parametrize("case", sorted(SDK_CASES))
async def test_the_bedrock_final_message_equals_the_sdks(case: str) -> None:
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    body = SDK_CASES[case]()
    params = {"model": BEDROCK_MODEL, "max_tokens": 64, "messages": PARAMS["messages"]}

    def sdk_handler(request: Any) -> Any:
        return httpx2.Response(200, headers={"content-type": EVENTSTREAM}, content=body)

    with httpx2.Client(transport=httpx2.MockTransport(sdk_handler)) as http:
        sdk = anthropic.AnthropicBedrock(api_key="k", aws_region="us-east-1", http_client=http)
        with sdk.messages.stream(**params) as sdk_stream:
            theirs = sdk_stream.get_final_message()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 97):  # frames split across reads
            yield body[i : i + 97]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": EVENTSTREAM}, content=chunks())

    async with tms.AsyncAnthropicBedrock(
        api_key="k", aws_region="us-east-1", transport=httpx.MockTransport(handler)
    ) as client:
        async with client.messages.stream(**params) as stream:
            ours = await stream.get_final_message()

    def sync_chunks() -> Iterator[bytes]:
        yield from (body[i : i + 53] for i in range(0, len(body), 53))

    sync_transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": EVENTSTREAM}, content=sync_chunks())
    )
    with tms.AnthropicBedrock(api_key="k", aws_region="us-east-1", transport=sync_transport) as c:
        with c.messages.stream(**params) as sync_stream:
            ours_sync = sync_stream.get_final_message()

    in_memory = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": EVENTSTREAM}, content=body)
    )
    async with tms.AsyncAnthropicBedrock(
        api_key="k", aws_region="us-east-1", transport=in_memory
    ) as client:
        async with client.messages.stream(**params) as stream:
            ours_in_memory = await stream.get_final_message()

    dump = {"mode": "json", "exclude_none": True, "by_alias": True}
    assert ours_in_memory.model_dump(**dump) == theirs.model_dump(**dump)  # type: ignore[arg-type]
    assert ours.model_dump(**dump) == theirs.model_dump(**dump)  # type: ignore[arg-type]
    assert ours_sync.model_dump(**dump) == theirs.model_dump(**dump)  # type: ignore[arg-type]


# -- middleware sees the first-party request; the platform rewrites and signs after ----


async def test_middleware_runs_before_the_platform_rewrites_and_signs(
    server: FakeAnthropicServer,
) -> None:
    fake = FakeBedrock(server)
    seen: list[tuple[str, str, Any]] = []

    async def trace(request: tms.APIRequest, call_next: tms.AsyncCallNext) -> Any:
        seen.append((request.path, request.json["model"], request.headers.get("authorization")))
        return await call_next(request.copy(headers={"x-trace-id": "t-1"}))

    server.enqueue(text_response("traced"))
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs(), middleware=[trace]) as client:
        async with client.messages.stream(**BEDROCK) as stream:
            assert _text(await stream.get_final_message()) == "traced"
    assert seen == [("/v1/messages", BEDROCK_MODEL, None)]
    [request] = server.requests
    assert request.path.startswith("/model/")
    assert request.header("x-trace-id") == "t-1"
    assert "x-trace-id" in (request.header("authorization") or "")  # signed, as sent
    assert fake.rejections == []
