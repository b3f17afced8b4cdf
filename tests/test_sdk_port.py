"""An SDK app ported with its tests (issue 25 item 5, issue 19): what the port met.

A condensed copy of a small assistant written for the official SDK (a streamed reply,
a tool loop, ``create()`` with ``system``/``stop_sequences``/``metadata``, token counting,
the models list, error handling, ``with_options``, structured output, a beta feature),
ported by changing its imports, with the tests its authors wrote: ``httpx2`` mock
transports (the SDK's HTTP library) with ``json=`` bodies and event streams with and
without a ``content-type``, asserting the requests (headers, whole JSON bodies) and the
results. Each difference the port met is either fixed (a test here) or listed in
``docs/migrating.md`` ("Porting an SDK app").
"""

from __future__ import annotations

import json
import pickle
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

import trio_msgstream as anthropic
from trio_msgstream import AsyncAnthropic
from trio_msgstream.types import Message, MessageParam, ToolParam, ToolResultBlockParam

pytestmark = pytest.mark.filterwarnings("error")

MODEL = "claude-sonnet-5-5"
KEY = "sk-ant-port-test-key"

WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


# -- the app, as written for the SDK (only the imports changed) --------------------------


async def stream_reply(client: AsyncAnthropic, prompt: str) -> tuple[list[str], Message]:
    chunks: list[str] = []
    async with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        async for text in stream.text_stream:
            chunks.append(text)
        return chunks, await stream.get_final_message()


async def run_tools(client: AsyncAnthropic, prompt: str) -> str:
    messages: list[MessageParam] = [{"role": "user", "content": prompt}]
    while True:
        message = await client.messages.create(
            model=MODEL, max_tokens=1024, messages=messages, tools=[WEATHER]
        )
        if message.stop_reason != "tool_use":
            return "".join(b.text for b in message.content if b.type == "text")
        messages.append({"role": "assistant", "content": message.content})
        results: list[ToolResultBlockParam] = []
        for block in message.content:
            if block.type == "tool_use":
                city = str(block.input["city"])
                results.append(
                    {"type": "tool_result", "tool_use_id": block.id, "content": f"sunny in {city}"}
                )
        messages.append({"role": "user", "content": results})


async def summarize(client: AsyncAnthropic, text: str) -> str:
    message = await client.messages.create(
        model=MODEL,
        max_tokens=300,
        system="You summarise support tickets.",
        messages=[{"role": "user", "content": text}],
        stop_sequences=["\n\nHuman:"],
        metadata={"user_id": "u-42"},
        service_tier="standard_only",
    )
    block = message.content[0]
    return block.text if block.type == "text" else ""


async def safe_ask(client: AsyncAnthropic, prompt: str) -> dict[str, Any]:
    try:
        await client.messages.create(
            model=MODEL, max_tokens=256, messages=[{"role": "user", "content": prompt}]
        )
    except anthropic.RateLimitError as e:
        return {
            "kind": "rate_limited",
            "status": e.status_code,
            "request_id": e.request_id,
            "retry_after": e.response.headers.get("retry-after"),
            "api_message": e.api_message,
            "error_code": e.error_code,
            "workspace": e.workspace_id,
        }
    except anthropic.APIStatusError as e:
        return {"kind": "api_error", "status": e.status_code, "type": e.type, "details": e.details}
    return {"kind": "ok"}


async def first_models(client: AsyncAnthropic) -> tuple[list[str], bool]:
    page = await client.models.list(limit=2)
    return [m.id for m in page.data], page.has_more


# -- the app's mocks: an httpx2 MockTransport with a route table -------------------------


class MockAPI:
    """What the app's tests used: answers by (method, path), every request kept."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[httpx2.Response]] = {}
        self.requests: list[httpx2.Request] = []

    def on(self, method: str, path: str, *responses: httpx2.Response) -> None:
        self.routes.setdefault((method, path), []).extend(responses)

    def post(self, *responses: httpx2.Response) -> None:
        self.on("POST", "/v1/messages", *responses)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        queue = self.routes[(request.method, request.url.path)]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def api() -> MockAPI:
    return MockAPI()


@pytest.fixture
async def client(api: MockAPI) -> AsyncIterator[AsyncAnthropic]:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(api))
    async with AsyncAnthropic(api_key=KEY, http_client=http, max_retries=0) as c:
        yield c
    await http.aclose()


def message(content: list[dict[str, Any]], *, stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }


def event_stream(*pieces: str) -> str:
    start = {**message([], stop_reason="end_turn"), "stop_reason": None}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *[
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in pieces
        ],
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def error(status: int, kind: str, text: str, **headers: str) -> httpx2.Response:
    body = {"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_b"}
    return httpx2.Response(status, json=body, headers=headers)


# -- the app's tests, unchanged: they pass on the port -----------------------------------


@pytest.mark.parametrize("content_type", [{"content-type": "text/event-stream"}, {}])
async def test_the_streamed_reply(
    api: MockAPI, client: AsyncAnthropic, content_type: dict[str, str]
) -> None:
    api.on(
        "POST",
        "/v1/messages",
        httpx2.Response(200, text=event_stream("Hel", "lo"), headers=content_type),
    )
    chunks, final = await stream_reply(client, "hi")
    assert chunks == ["Hel", "lo"]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 4)
    (request,) = api.requests
    assert json.loads(request.content) == {
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in request.headers


async def test_the_tool_loop_sends_the_content_back(api: MockAPI, client: AsyncAnthropic) -> None:
    calls = [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    api.on(
        "POST",
        "/v1/messages",
        httpx2.Response(200, json=message(calls, stop_reason="tool_use")),
        httpx2.Response(200, json=message([{"type": "text", "text": "Sunny."}])),
    )
    assert await run_tools(client, "weather?") == "Sunny."
    second = api.bodies()[1]
    assert second["messages"][1:] == [
        {"role": "assistant", "content": calls},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny in Paris"},
            ],
        },
    ]


# -- what the port met, fixed ------------------------------------------------------------


async def test_a_plain_request_body_is_the_sdks(api: MockAPI, client: AsyncAnthropic) -> None:
    """The app's test compares the whole body: no ``"stream": false`` in it."""
    api.on(
        "POST", "/v1/messages", httpx2.Response(200, json=message([{"type": "text", "text": "A."}]))
    )
    assert await summarize(client, "long text") == "A."
    assert api.bodies() == [
        {
            "model": MODEL,
            "max_tokens": 300,
            "system": "You summarise support tickets.",
            "messages": [{"role": "user", "content": "long text"}],
            "stop_sequences": ["\n\nHuman:"],
            "metadata": {"user_id": "u-42"},
            "service_tier": "standard_only",
        }
    ]


def _model(mid: str) -> dict[str, Any]:
    return {"type": "model", "id": mid, "display_name": mid, "created_at": "2026-09-01T00:00:00Z"}


async def test_awaiting_a_list_gives_its_first_page(api: MockAPI, client: AsyncAnthropic) -> None:
    first = {"data": [_model("a"), _model("b")], "has_more": True, "first_id": "a", "last_id": "b"}
    last = {"data": [_model("c")], "has_more": False, "first_id": "c", "last_id": "c"}
    api.on(
        "GET",
        "/v1/models",
        *[httpx2.Response(200, json=first)] * 3,
        httpx2.Response(200, json=last),
    )
    assert await first_models(client) == (["a", "b"], True)
    assert [r.url.params["limit"] for r in api.requests] == ["2"]
    listed = client.models.list()
    assert (await listed).last_id == "b"
    assert len(api.requests) == 2
    assert [m.id async for m in client.beta.models.list()] == ["a", "b", "c"]
    assert api.requests[-1].url.params["after_id"] == "b"


async def test_error_attributes_of_the_sdk(api: MockAPI, client: AsyncAnthropic) -> None:
    """``api_message``, ``error_code``, ``details``, ``workspace_id``; and the class the
    error code picks (a ramp limit is a ``RampLimitExceededError``, a ``RateLimitError``)."""
    body = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": f"Slow down (key {KEY})",
            "details": {"error_code": "ramp_limit_exceeded"},
        },
    }
    headers = {"retry-after": "7", "request-id": "req_1", "anthropic-workspace-id": "wrkspc_1"}
    api.post(httpx2.Response(429, json=body, headers=headers))
    assert await safe_ask(client, "hi") == {
        "kind": "rate_limited",
        "status": 429,
        "request_id": "req_1",
        "retry_after": "7",
        "api_message": "Slow down (key [REDACTED])",
        "error_code": "ramp_limit_exceeded",
        "workspace": "wrkspc_1",
    }
    with pytest.raises(anthropic.errors.RampLimitExceededError) as info:
        await client.messages.create(model=MODEL, max_tokens=8, messages=[])
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.error_code, copy.details, copy.workspace_id) == (
        "ramp_limit_exceeded",
        {"error_code": "ramp_limit_exceeded"},
        "wrkspc_1",
    )
    assert KEY not in repr(vars(copy))

    api.routes.clear()
    api.post(error(400, "invalid_request_error", "max_tokens: too big"))
    assert await safe_ask(client, "hi") == {
        "kind": "api_error",
        "status": 400,
        "type": "invalid_request_error",
        "details": None,
    }
    with pytest.raises(anthropic.BadRequestError) as bad:
        await client.messages.create(model=MODEL, max_tokens=8, messages=[])
    assert (bad.value.api_message, bad.value.error_code, bad.value.workspace_id) == (
        "max_tokens: too big",
        None,
        None,
    )


def test_the_error_code_picks_the_class_on_the_sync_client_too() -> None:
    body = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "no",
            "details": {"error_code": "organization_on_hold"},
        },
    }

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, json=body, headers={"anthropic-workspace-id": "w"})

    with anthropic.Anthropic(api_key=KEY, transport=httpx2.MockTransport(answer)) as client:
        with pytest.raises(anthropic.errors.OrganizationOnHoldError) as info:
            client.messages.create(model=MODEL, max_tokens=8, messages=[])
    assert isinstance(info.value, anthropic.BadRequestError)
    assert (info.value.error_code, info.value.api_message, info.value.workspace_id) == (
        "organization_on_hold",
        "no",
        "w",
    )


async def test_request_id_to_dict_and_to_json(api: MockAPI, client: AsyncAnthropic) -> None:
    """``message._request_id``, ``to_dict()`` and ``to_json()``, as on the SDK's models."""
    reply = message([{"type": "text", "text": "Hi"}])
    api.on(
        "POST", "/v1/messages", httpx2.Response(200, json=reply, headers={"request-id": "req_7"})
    )
    created = await client.messages.create(model=MODEL, max_tokens=8, messages=[])
    assert created._request_id == "req_7"
    assert created.to_dict() == reply
    assert created.content[0].to_dict() == {"type": "text", "text": "Hi"}
    assert json.loads(created.to_json()) == reply
    assert created.to_json().startswith('{\n  "id": "msg_01"')
    assert created.usage.to_dict(exclude_unset=False)["cache_read_input_tokens"] is None

    class Reply(BaseModel):
        word: str

    api.routes.clear()
    typed = message([{"type": "text", "text": '{"word": "yes"}'}])
    api.on(
        "POST", "/v1/messages", httpx2.Response(200, json=typed, headers={"request-id": "req_8"})
    )
    parsed = await client.messages.parse(
        model=MODEL, max_tokens=8, messages=[], output_format=Reply
    )
    assert parsed.parsed_output == Reply(word="yes")
    assert parsed._request_id == "req_8"

    api.routes.clear()
    stream_headers = {"request-id": "req_9", "content-type": "text/event-stream"}
    api.on(
        "POST",
        "/v1/messages",
        httpx2.Response(200, text=event_stream("ok"), headers=stream_headers),
    )
    _, final = await stream_reply(client, "hi")
    assert final._request_id == "req_9"
    assert Message(id="m")._request_id is None


def test_request_id_on_the_sync_client() -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        if b'"stream":true' in request.content:
            return httpx2.Response(200, text=event_stream("ok"), headers={"request-id": "req_s"})
        return httpx2.Response(200, json=message([]), headers={"request-id": "req_c"})

    with anthropic.Anthropic(api_key=KEY, transport=httpx2.MockTransport(answer)) as client:
        assert client.messages.create(model=MODEL, max_tokens=8, messages=[])._request_id == "req_c"
        with client.messages.stream(model=MODEL, max_tokens=8, messages=[]) as stream:
            assert stream.get_final_message()._request_id == "req_s"


async def test_an_httpx_timeout_as_the_sdk_takes_it(api: MockAPI, client: AsyncAnthropic) -> None:
    """``timeout=httpx.Timeout(60.0, read=5.0, write=10.0, connect=2.0)`` (the SDK's
    README) keeps its limits; a stream then runs with them."""
    sdk_style = httpx2.Timeout(60.0, read=5.0, write=10.0, connect=2.0)
    patient = client.with_options(max_retries=5, timeout=sdk_style)
    assert patient.max_retries == 5
    assert patient.timeout == anthropic.Timeout(
        connect=2.0, read=5.0, write=10.0, pool=60.0, content_idle=5.0
    )
    assert client.with_options(timeout=20.0).timeout == anthropic.Timeout.of(20.0)
    no_limit = anthropic.AsyncAnthropic(api_key=KEY, timeout=httpx2.Timeout(None))
    assert no_limit.timeout == anthropic.Timeout.of(None)
    api.post(httpx2.Response(200, text=event_stream("in", " time")))
    chunks, _ = await stream_reply(patient, "hi")
    assert chunks == ["in", " time"]
    with pytest.raises(TypeError, match="timeout= takes seconds"):
        anthropic.AsyncAnthropic(api_key=KEY, timeout="20")  # type: ignore[arg-type]


def test_equality_ignores_the_request_id() -> None:
    first, second = Message(id="m"), Message(id="m")
    second._request_id = "req_2"
    assert first == second
    assert second == first
    assert second != Message(id="other")
