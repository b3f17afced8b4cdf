"""Client middleware on the sync client: the async suite's cases, without async.

Against the fake server in a thread (real HTTP), plus ``httpx.MockTransport`` for a
test double.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream.middleware import APIRequest, APIResponse, AsyncCallNext, CallNext, Middleware
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    text_response,
)


def message_body(model: str = "claude-opus-4-8") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def json_reply(body: Any, status: int = 200) -> ScriptedResponse:
    return ScriptedResponse(status=status, body=json.dumps(body).encode())


@pytest.fixture
def on(sync_server: FakeAnthropicServer) -> Iterator[Any]:
    clients: list[tms.Client] = []

    def make(*middleware: Any, **options: Any) -> tms.Client:
        client = tms.Client(
            base_url=sync_server.base_url, api_key=API_KEY, middleware=middleware, **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


class Recording(Middleware):
    def __init__(self, name: str = "m", events: list[str] | None = None) -> None:
        self.name = name
        self.events = events if events is not None else []
        self.requests: list[APIRequest] = []
        self.results: list[Any] = []

    def handle(self, request: APIRequest, call_next: CallNext) -> Any:
        self.requests.append(request)
        self.events.append(f"{self.name}:enter")
        result = call_next(request)
        self.events.append(f"{self.name}:exit")
        self.results.append(result)
        return result


class Boom(Exception):
    pass


def test_the_chain_sees_request_and_response(on: Any, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(json_reply(message_body()))
    events: list[str] = []
    outer, inner = Recording("outer", events), Recording("inner", events)
    parsed: list[Any] = []

    def parse_inside(request: APIRequest, call_next: CallNext) -> Any:
        response = call_next(request.copy(headers={"x-trace-id": "abc"}))
        assert isinstance(response, APIResponse)
        parsed.append(response.parse())
        return response

    message = on(outer, inner, parse_inside).messages.create(**PARAMS)
    assert message is parsed[0]
    assert events == ["outer:enter", "inner:enter", "inner:exit", "outer:exit"]
    request = outer.requests[0]
    assert (request.method, request.url, request.stream) == ("post", "/v1/messages", False)
    assert request.headers["authorization"] == "[secure]"
    assert API_KEY not in repr(request)
    assert sync_server.requests[0].header("x-trace-id") == "abc"
    assert sync_server.requests[0].header("authorization") == f"Bearer {API_KEY}"


def test_a_529_is_answered_with_another_model(on: Any, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(error_response(529, "overloaded_error"), json_reply(message_body("b")))
    dropped: list[APIResponse] = []

    def fallback(request: APIRequest, call_next: CallNext) -> Any:
        response = call_next(request)
        if response.status_code == 529:
            dropped.append(response)
            return call_next(request.copy(body={**request.json, "model": "claude-sonnet-4-6"}))
        return response

    assert on(fallback, max_retries=0).messages.create(**PARAMS).model == "b"
    assert sync_server.requests[1].json["model"] == "claude-sonnet-4-6"
    assert dropped[0].is_closed


def test_per_attempt_runs_typed_errors_and_own_errors(
    on: Any, sync_server: FakeAnthropicServer
) -> None:
    sync_server.enqueue(error_response(500, "api_error"), error_response(500, "api_error"))
    attempts: list[tuple[int, int]] = []

    def record(request: APIRequest, call_next: CallNext) -> Any:
        response = call_next(request)
        attempts.append((request.retries_taken, response.status_code))
        return response

    on(record, max_retries=2).messages.create(**PARAMS)
    assert attempts == [(0, 500), (1, 500), (2, 200)]

    sync_server.enqueue(error_response(400, "invalid_request_error", "bad request"))
    with pytest.raises(tms.BadRequestError, match="bad request"):
        on(record, max_retries=2).messages.create(**PARAMS)

    def explode(request: APIRequest, call_next: CallNext) -> Any:
        raise Boom("middleware failure")

    before = len(sync_server.requests)
    with pytest.raises(Boom):
        on(explode, max_retries=2).messages.create(**PARAMS)
    with pytest.raises(Boom):
        with on(explode).messages.stream(**PARAMS):
            pass
    assert len(sync_server.requests) == before

    tries: list[int] = []

    def give_up(request: APIRequest, call_next: CallNext) -> Any:
        tries.append(request.retries_taken)
        raise tms.errors.RetryableError("try again")

    with pytest.raises(tms.errors.RetryableError):
        on(give_up, max_retries=2).messages.create(**PARAMS)
    assert tries == [0, 1, 2]


def test_short_circuits_and_test_doubles(on: Any, sync_server: FakeAnthropicServer) -> None:
    cached = tms.Message.model_validate(message_body("cached"))

    def from_cache(request: APIRequest, call_next: CallNext) -> Any:
        return cached

    assert on(from_cache).messages.create(**PARAMS) is cached

    def double(request: APIRequest, call_next: CallNext) -> Any:
        body = text_response("From the double.").body
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    with on(double).messages.stream(**PARAMS) as stream:
        assert stream.get_final_message().content[0].text == "From the double."  # type: ignore[union-attr]
    with on(double).messages.create(**PARAMS, stream=True) as events:
        assert [e.type for e in events][-1] == "message_stop"
    assert sync_server.requests == []


def test_streams_flow_through_the_chain(on: Any, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(text_response("Through."))
    recorder = Recording()
    with on(recorder).messages.stream(**PARAMS) as stream:
        assert stream.get_final_message().content[0].text == "Through."  # type: ignore[union-attr]
    assert recorder.requests[0].stream is True


def test_the_sync_client_takes_only_sync_middleware() -> None:
    async def async_fn(request: APIRequest, call_next: AsyncCallNext) -> Any:
        return await call_next(request)

    class AsyncOnly(Middleware):
        async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
            return await call_next(request)

    class AsyncHandle(Middleware):
        async def handle(self, request: APIRequest, call_next: CallNext) -> Any:  # type: ignore[override]
            return call_next(request)

    class AsyncCallable:
        async def __call__(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
            return await call_next(request)

    with pytest.raises(TypeError, match="is an async function"):
        tms.Client(api_key=API_KEY, middleware=[async_fn])
    with pytest.raises(TypeError, match="is an async function"):
        tms.Client(api_key=API_KEY, middleware=[AsyncCallable()])
    with pytest.raises(TypeError, match=r"does not implement `handle\(\)`"):
        tms.Client(api_key=API_KEY, middleware=[AsyncOnly()])
    with pytest.raises(TypeError, match=r"defines `handle\(\)` as an async function"):
        tms.Client(api_key=API_KEY, middleware=[AsyncHandle()])
    with pytest.raises(TypeError, match="is not callable"):
        tms.Client(api_key=API_KEY, middleware=[object()])
    client = tms.Client(api_key=API_KEY, middleware=[Recording()])
    with pytest.raises(TypeError):
        client.with_options(middleware=[async_fn])
    assert len(client.with_middleware(Recording()).middleware) == 2
    client.close()
