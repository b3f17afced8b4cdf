"""Client middleware on the async client: the chain around every HTTP attempt.

Against the fake server (real HTTP), plus ``httpx.MockTransport`` where a test double
is the point. Ported from the official SDK's middleware cases (ordering, request
mutation, fallbacks on 529/413, short circuits, per-attempt runs, retryable errors,
typed errors after the chain, with_options / with_middleware), and beyond them: trio
cancellation, errors as themselves from the stream entry points, secrets, fan-out.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream.middleware import (
    APIRequest,
    AsyncAPIResponse,
    AsyncCallNext,
    CallNext,
    Middleware,
)
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    text_response,
)


def message_body(model: str = "claude-opus-4-8", text: str = "Hello!") -> dict[str, Any]:
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def json_reply(body: Any, status: int = 200) -> ScriptedResponse:
    return ScriptedResponse(status=status, body=json.dumps(body).encode())


_CLIENTS: list[tms.AsyncClient] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _CLIENTS:
        await _CLIENTS.pop().aclose()


def on(server: FakeAnthropicServer, *middleware: Any, **options: Any) -> tms.AsyncClient:
    client = tms.AsyncClient(
        base_url=server.base_url, api_key=API_KEY, middleware=list(middleware), **options
    )
    _CLIENTS.append(client)
    return client


async def create(client: tms.AsyncClient, **changes: Any) -> tms.Message:
    return await client.messages.create(**{**PARAMS, **changes})


class Recording(Middleware):
    def __init__(self, name: str = "m", events: list[str] | None = None) -> None:
        self.name = name
        self.events = events if events is not None else []
        self.requests: list[APIRequest] = []
        self.results: list[Any] = []

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
        self.requests.append(request)
        self.events.append(f"{self.name}:enter")
        result = await call_next(request)
        self.events.append(f"{self.name}:exit")
        self.results.append(result)
        return result


class ModelOn(Middleware):
    """Resend with another model when the first answer has ``status``."""

    def __init__(self, status: int, **changes: Any) -> None:
        self.status = status
        self.changes = changes

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
        response = await call_next(request)
        if response.status_code == self.status:
            return await call_next(request.copy(body={**request.json, **self.changes}))
        return response


class AttemptRecorder(Middleware):
    def __init__(self) -> None:
        self.attempts: list[int] = []
        self.statuses: list[int] = []

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
        self.attempts.append(request.retries_taken)
        response = await call_next(request)
        self.statuses.append(response.status_code)
        return response


class Boom(Exception):
    pass


async def explode(request: APIRequest, call_next: AsyncCallNext) -> Any:
    raise Boom("middleware failure")


FAST = tms.Timeout(connect=5, read=5, write=5, pool=5, content_idle=5)


# -- the request a middleware sees -------------------------------------------------------


async def test_the_request_shows_the_attempt_with_credentials_masked(
    server: FakeAnthropicServer,
) -> None:
    recorder = Recording()
    await create(on(server, recorder))
    request = recorder.requests[0]
    assert (request.method, request.url, request.stream, request.retries_taken) == (
        "post",
        "/v1/messages",
        False,
        0,
    )
    assert request.json["model"] == PARAMS["model"]
    assert request.headers["Anthropic-Version"] == "2026-10-21"
    assert request.headers["authorization"] == "[secure]"
    shown = f"{request!r} {request} {dict(request.headers)} {request.headers!r}"
    assert API_KEY not in shown
    assert repr(request) == "<APIRequest method='post' url='/v1/messages' stream=False>"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(request)
    # the key still reached the server
    assert server.requests[0].header("authorization") == f"Bearer {API_KEY}"


async def test_copy_derives_a_request_and_keeps_the_client_headers(
    server: FakeAnthropicServer,
) -> None:
    copies: list[APIRequest] = []

    async def tag(request: APIRequest, call_next: AsyncCallNext) -> Any:
        body = request.json
        body["messages"][0]["content"] = "changed in a copy"
        assert request.json["messages"] == PARAMS["messages"]  # json is a fresh copy
        copied = request.copy(headers={"x-trace-id": "abc-123"}, body={**body, "max_tokens": 7})
        copies.append(copied)
        assert "x-trace-id" not in request.headers
        return await call_next(copied)

    await create(on(server, tag))
    sent = server.requests[0]
    assert sent.header("x-trace-id") == "abc-123"
    # not named: the client's own headers stay (as the SDK's per-request layer)
    assert sent.header("anthropic-version") == "2026-10-21"
    assert sent.header("authorization") == f"Bearer {API_KEY}"
    assert sent.json["max_tokens"] == 7
    assert copies[0].json["messages"][0]["content"] == "changed in a copy"


async def test_spreading_the_masked_headers_keeps_the_real_key_and_none_removes(
    server: FakeAnthropicServer,
) -> None:
    async def spread(request: APIRequest, call_next: AsyncCallNext) -> Any:
        assert request.headers["x-remove-me"] == "1"
        headers: dict[str, str | None] = {**request.headers, "x-remove-me": None, "x-a": "1"}
        return await call_next(request.copy(headers=headers))

    await create(on(server, spread), extra_headers={"x-remove-me": "1"})
    sent = server.requests[0]
    assert sent.header("authorization") == f"Bearer {API_KEY}"
    assert sent.header("x-a") == "1"
    assert sent.header("x-remove-me") is None


# -- the chain -----------------------------------------------------------------------------


async def test_middleware_sees_the_response_and_its_parse_is_the_callers_value(
    server: FakeAnthropicServer,
) -> None:
    server.enqueue(json_reply(message_body()))
    parsed: list[Any] = []

    async def parse_inside(request: APIRequest, call_next: AsyncCallNext) -> Any:
        response = await call_next(request)
        assert isinstance(response, AsyncAPIResponse)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        parsed.append(await response.parse())
        return response

    message = await create(on(server, parse_inside))
    assert message is parsed[0]
    assert message.content[0].text == "Hello!"  # type: ignore[union-attr]


async def test_first_entry_is_outermost(server: FakeAnthropicServer) -> None:
    events: list[str] = []
    client = on(server, Recording("outer", events), Recording("inner", events))
    for _ in range(2):
        await create(client)
    assert events == ["outer:enter", "inner:enter", "inner:exit", "outer:exit"] * 2


async def test_a_529_is_seen_by_the_middleware_and_answered_with_another_model(
    server: FakeAnthropicServer,
) -> None:
    server.enqueue(error_response(529, "overloaded_error"), json_reply(message_body("b")))
    client = on(server, ModelOn(529, model="claude-sonnet-4-6"), max_retries=0)
    message = await create(client)
    assert message.model == "b"
    assert [r.json["model"] for r in server.requests] == [PARAMS["model"], "claude-sonnet-4-6"]


async def test_a_413_is_retried_with_fewer_tokens(server: FakeAnthropicServer) -> None:
    server.enqueue(error_response(413, "request_too_large"), json_reply(message_body()))
    await create(on(server, ModelOn(413, max_tokens=16), max_retries=0))
    assert [r.json["max_tokens"] for r in server.requests] == [PARAMS["max_tokens"], 16]


async def test_a_middleware_answers_without_the_network(server: FakeAnthropicServer) -> None:
    cached = tms.Message.model_validate(message_body("cached"))

    async def from_cache(request: APIRequest, call_next: AsyncCallNext) -> Any:
        return cached

    assert await create(on(server, from_cache)) is cached
    assert server.requests == []


async def test_a_test_double_answers_a_stream_with_an_httpx_response(
    server: FakeAnthropicServer,
) -> None:
    canned = text_response("From the double.").body

    async def double(request: APIRequest, call_next: AsyncCallNext) -> Any:
        assert request.stream
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=canned)

    async with on(server, double).messages.stream(**PARAMS) as stream:
        message = await stream.get_final_message()
    assert message.content[0].text == "From the double."  # type: ignore[union-attr]
    assert server.requests == []


async def test_a_stream_answered_with_a_value_is_a_type_error(server: FakeAnthropicServer) -> None:
    async def wrong(request: APIRequest, call_next: AsyncCallNext) -> Any:
        return tms.Message.model_validate(message_body())

    with pytest.raises(TypeError, match="streaming request"):
        await on(server, wrong).messages.create(**PARAMS, stream=True)


async def test_the_chain_runs_once_per_attempt(server: FakeAnthropicServer) -> None:
    server.enqueue(error_response(500, "api_error"), error_response(500, "api_error"))
    recorder = AttemptRecorder()
    message = await create(on(server, recorder, max_retries=2))
    assert message.content
    assert recorder.attempts == [0, 1, 2]
    assert recorder.statuses == [500, 500, 200]


async def test_changes_do_not_persist_across_attempts(server: FakeAnthropicServer) -> None:
    server.enqueue(error_response(500, "api_error"))

    async def tag(request: APIRequest, call_next: AsyncCallNext) -> Any:
        assert "x-attempt" not in request.headers
        return await call_next(request.copy(headers={"x-attempt": str(request.retries_taken)}))

    await create(on(server, tag, max_retries=2))
    assert [r.header("x-attempt") for r in server.requests] == ["0", "1"]


async def test_an_error_response_becomes_the_typed_error_after_the_chain(
    server: FakeAnthropicServer,
) -> None:
    server.enqueue(error_response(400, "invalid_request_error", "bad request"))
    recorder = AttemptRecorder()
    with pytest.raises(tms.BadRequestError, match="bad request"):
        await create(on(server, recorder, max_retries=2))
    assert recorder.statuses == [400]
    assert len(server.requests) == 1


async def test_a_middleware_error_is_raised_as_itself_and_not_retried(
    server: FakeAnthropicServer,
) -> None:
    recorder = AttemptRecorder()
    with pytest.raises(Boom, match="middleware failure"):
        await create(on(server, recorder, explode, max_retries=2))
    assert recorder.attempts == [0]
    assert server.requests == []


async def test_a_retryable_error_is_retried_then_raised_as_itself(
    server: FakeAnthropicServer,
) -> None:
    attempts: list[int] = []

    async def give_up(request: APIRequest, call_next: AsyncCallNext) -> Any:
        attempts.append(request.retries_taken)
        raise tms.errors.RetryableError("try again")

    with pytest.raises(tms.errors.RetryableError, match="try again"):
        await create(on(server, give_up, max_retries=2))
    assert attempts == [0, 1, 2]


async def test_an_error_raised_from_a_retryable_one_is_retried(
    server: FakeAnthropicServer,
) -> None:
    server.enqueue(error_response(503, "api_error"))

    async def wrap(request: APIRequest, call_next: AsyncCallNext) -> Any:
        response = await call_next(request)
        if response.status_code == 503:
            raise Boom("wrapped") from tms.InternalServerError("503", status_code=503)
        return response

    message = await create(on(server, wrap, max_retries=2))
    assert message.content
    assert len(server.requests) == 2


async def test_streams_flow_through_the_chain(server: FakeAnthropicServer) -> None:
    server.enqueue(error_response(529, "overloaded_error"), text_response("Spliced?"))
    recorder = Recording()
    client = on(server, recorder, ModelOn(529, model="claude-sonnet-4-6"), max_retries=0)
    async with client.messages.stream(**PARAMS) as stream:
        message = await stream.get_final_message()
    assert message.content[0].text == "Spliced?"  # type: ignore[union-attr]
    assert recorder.requests[0].stream is True
    assert server.requests[1].json["model"] == "claude-sonnet-4-6"
    raw = await client.messages.create(**PARAMS, stream=True)
    async with raw:
        assert [e.type async for e in raw][-1] == "message_stop"


async def test_with_options_and_with_middleware(server: FakeAnthropicServer) -> None:
    events: list[str] = []
    outer, extra = Recording("outer", events), Recording("extra", events)
    client = on(server, outer)
    assert client.middleware == (outer,)
    assert client.with_options(max_retries=0).middleware == (outer,)
    assert client.with_options(middleware=[]).middleware == ()
    derived = client.with_middleware(extra)
    assert derived.middleware == (outer, extra)
    assert client.middleware == (outer,)
    await create(derived)
    assert events == ["outer:enter", "extra:enter", "extra:exit", "outer:exit"]


async def test_the_async_client_takes_only_async_middleware() -> None:
    def sync_fn(request: APIRequest, call_next: CallNext) -> Any:
        return call_next(request)

    class SyncOnly(Middleware):
        def handle(self, request: APIRequest, call_next: CallNext) -> Any:
            return call_next(request)

    class SyncHandleAsync(Middleware):
        def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:  # type: ignore[override]
            return call_next(request)

    class CallableObject:
        async def __call__(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
            return await call_next(request)

    make = tms.AsyncClient
    with pytest.raises(TypeError, match="is not an async function"):
        make(api_key=API_KEY, middleware=[sync_fn])
    with pytest.raises(TypeError, match=r"does not implement `handle_async\(\)`"):
        make(api_key=API_KEY, middleware=[SyncOnly()])
    with pytest.raises(TypeError, match=r"defines `handle_async\(\)` as a sync function"):
        make(api_key=API_KEY, middleware=[SyncHandleAsync()])
    with pytest.raises(TypeError, match="is not callable"):
        make(api_key=API_KEY, middleware=[object()])
    with pytest.raises(TypeError, match="is not an async function"):
        make(api_key=API_KEY).with_middleware(sync_fn)
    entries = iter([CallableObject(), explode, Recording()])
    assert len(make(api_key=API_KEY, middleware=entries).middleware) == 3


async def test_default_middleware_passes_the_request_on() -> None:
    seen: list[APIRequest] = []

    async def handler(request: APIRequest) -> Any:
        seen.append(request)
        return "answer"

    client = tms.AsyncClient(api_key=API_KEY, base_url="http://127.0.0.1:9")
    request = APIRequest(client.build_spec(dict(PARAMS), stream=False))
    assert await Middleware().handle_async(request, handler) == "answer"
    assert seen == [request]


# -- trio: scopes, errors as themselves, connections ---------------------------------------


async def test_cancelling_the_stream_cancels_a_waiting_middleware(
    server: FakeAnthropicServer,
) -> None:
    entered, cancelled = trio.Event(), trio.Event()

    async def slow(request: APIRequest, call_next: AsyncCallNext) -> Any:
        entered.set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            cancelled.set()
            raise

    client = on(server, slow)
    with trio.move_on_after(5) as outer:
        async with trio.open_nursery() as nursery:

            async def run() -> None:
                async with client.messages.stream(**PARAMS):
                    pass  # never reached

            nursery.start_soon(run)
            await entered.wait()
            nursery.cancel_scope.cancel()
    assert not outer.cancelled_caught
    assert cancelled.is_set()
    assert server.requests == []


async def test_a_request_deadline_covers_a_waiting_middleware(server: FakeAnthropicServer) -> None:
    async def slow(request: APIRequest, call_next: AsyncCallNext) -> Any:
        await trio.sleep(30)
        return await call_next(request)

    client = on(server, slow, timeout=tms.Timeout(deadline=0.2))
    with pytest.raises(tms.APITimeoutError, match="deadline"):
        await create(client)


async def test_a_middleware_error_leaves_the_stream_entry_points_as_itself(
    server: FakeAnthropicServer,
) -> None:
    client = on(server, explode)
    with pytest.raises(Boom):
        async with client.messages.stream(**PARAMS):
            pass
    async with trio.open_nursery() as nursery:
        with pytest.raises(Boom):
            async with tms.open_message_stream(nursery, client, **PARAMS):
                pass
    with pytest.raises(Boom):
        await client.messages.create(**PARAMS, stream=True)


async def test_a_failing_body_from_a_middleware_ends_the_stream_with_the_error(
    server: FakeAnthropicServer,
) -> None:
    class Breaks(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield text_response("never ends").body[:120]
            raise Boom("the double's body broke")

    async def double(request: APIRequest, call_next: AsyncCallNext) -> Any:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Breaks())

    with pytest.raises(Boom, match="body broke"):
        async with on(server, double).messages.stream(**PARAMS) as stream:
            await stream.get_final_message()


async def test_responses_a_middleware_drops_are_closed(server: FakeAnthropicServer) -> None:
    server.enqueue(error_response(529, "overloaded_error"))
    dropped: list[AsyncAPIResponse] = []

    async def retry_once(request: APIRequest, call_next: AsyncCallNext) -> Any:
        first = await call_next(request)
        dropped.append(first)
        return await call_next(request)

    await create(on(server, retry_once, max_retries=0))
    assert dropped[0].is_closed


async def test_every_fan_out_attempt_runs_the_chain(server: FakeAnthropicServer) -> None:
    recorder = Recording()
    async with tms.open_fan_out(on(server, recorder)) as fan_out:
        handles = [await fan_out.submit(i, **PARAMS) for i in range(3)]
        for handle in handles:
            assert (await handle.wait()) is not None
    assert len(recorder.requests) == 3
