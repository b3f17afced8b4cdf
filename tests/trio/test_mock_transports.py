"""Issue 19 item 1: the mocks SDK users test with work on every entry point.

``httpx.MockTransport`` and respx handlers return ``httpx.Response(200, content=b"...")``
(or ``json=``, ``text=``): httpx reads such a body at once, so it cannot be streamed
again. Each entry point of both clients must take it (and an iterator body) as it takes
a body from the network, and an error status with such a body must be its typed error,
not a broken stream retried as a connection failure.

The answers come from the testing kit's fake server (its routes, not its sockets), so
every endpoint answers as it does over the network (``_mock_support``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import httpx2
import pydantic
import pytest
import respx
import trio
from _mock_support import BODY_MODES, mock_handler, sync_body
from _shared import API_KEY, PARAMS, TEST_HTTP

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    FakeAnthropicServer,
    FakeBatches,
    FakeModels,
    FakeTokenCounter,
    json_response,
    text_response,
    tool_calls_response,
)

pytestmark = pytest.mark.filterwarnings("error")

BASE_URL = "https://api.anthropic.com"

HOWS = [
    pytest.param(httpx, "transport", id="httpx-transport"),
    pytest.param(httpx, "http_client", id="httpx-http_client"),
    pytest.param(
        httpx,
        "respx",
        id="respx",
        marks=pytest.mark.skipif(
            TEST_HTTP != "httpx", reason="respx mocks httpx, not this run's default httpx2"
        ),
    ),
    pytest.param(httpx2, "transport", id="httpx2-transport"),
    pytest.param(httpx2, "http_client", id="httpx2-http_client"),
]
"""How the user's mock is plugged in: a transport or a client of either library, or
respx (which patches httpx's own transport)."""


class Answer(pydantic.BaseModel):
    city: str
    degrees: int


@tms.tool
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)


def _setup(entry: str) -> FakeAnthropicServer:
    """A fake server (never started) that answers ``entry``."""
    server = FakeAnthropicServer()
    if entry == "count_tokens":
        FakeTokenCounter(server)
    elif entry.startswith("models"):
        FakeModels(server)
    elif entry == "batches":
        FakeBatches(server, polls_until_ended=0)
    elif entry == "parse":
        server.responder = Conversation(json_response({"city": "Paris", "degrees": 21}))
    elif entry == "tool_runner":
        server.responder = Conversation(
            tool_calls_response([("add", {"a": 2, "b": 3})]),
            lambda turn: text_response(f"It is {turn.tool_result_text()}."),
        )
    return server


EXPECTED: dict[str, Any] = {
    "open_message_stream": "text",
    "messages.stream": "text",
    "create(stream=True)": "message_stop",
    "create": "text",
    "count_tokens": "tokens",
    "models.list": "models",
    "models.retrieve": "claude-opus-4-6",
    "parse": Answer(city="Paris", degrees=21),
    "batches": ["a", "b"],
    "tool_runner": "It is 5.",
}
ENTRIES = list(EXPECTED)
BATCH = [{"custom_id": k, "params": PARAMS} for k in "ab"]


def _check(entry: str, result: Any) -> None:
    expected = EXPECTED[entry]
    if expected == "text":
        assert isinstance(result, str)
        assert result
    elif expected == "tokens":
        assert isinstance(result, int)
        assert result > 0
    elif expected == "models":
        assert isinstance(result, list)
        assert len(result) > 1
    else:
        assert result == expected


@contextmanager
def _respx(how: str, handler: Any) -> Iterator[None]:
    """With ``how == "respx"``: every request to the API answered by ``handler``."""
    if how != "respx":
        yield
        return
    with respx.mock(base_url=BASE_URL) as router:
        router.route().mock(side_effect=handler)
        yield


# -- the async client ------------------------------------------------------------------


async def _open_message_stream(client: tms.AsyncClient) -> Any:
    try:
        async with trio.open_nursery() as nursery:
            async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
                return await stream.get_final_text()
    except BaseExceptionGroup as group:  # the caller's own nursery wraps what it raises
        [error] = group.exceptions
        raise error from None


async def _stream(client: tms.AsyncClient) -> Any:
    async with client.messages.stream(**PARAMS) as stream:
        return await stream.get_final_text()


async def _raw(client: tms.AsyncClient) -> Any:
    async with await client.messages.create(**PARAMS, stream=True) as events:
        return [event.type async for event in events][-1]


async def _create(client: tms.AsyncClient) -> Any:
    message = await client.messages.create(**PARAMS)
    return tms.Message.model_validate(message).content[0].text  # type: ignore[union-attr]


async def _count(client: tms.AsyncClient) -> Any:
    return (await client.messages.count_tokens(**PARAMS)).input_tokens


async def _models_list(client: tms.AsyncClient) -> Any:
    return [model.id async for model in client.models.list()]


async def _models_retrieve(client: tms.AsyncClient) -> Any:
    return (await client.models.retrieve("claude-opus-4-6")).id


async def _parse(client: tms.AsyncClient) -> Any:
    return (await client.messages.parse(**PARAMS, output_format=Answer)).parsed_output


async def _batches(client: tms.AsyncClient) -> Any:
    batch = await client.messages.batches.create(requests=BATCH)
    batch = await client.messages.batches.retrieve(batch.id)
    async with client.messages.batches.results(batch.id) as results:
        return [result.custom_id async for result in results]


async def _tool_runner(client: tms.AsyncClient) -> Any:
    final = await client.messages.tool_runner(**PARAMS, tools=[add]).until_done()
    return final.content[0].text  # type: ignore[union-attr]


ASYNC: dict[str, Callable[[tms.AsyncClient], Awaitable[Any]]] = {
    "open_message_stream": _open_message_stream,
    "messages.stream": _stream,
    "create(stream=True)": _raw,
    "create": _create,
    "count_tokens": _count,
    "models.list": _models_list,
    "models.retrieve": _models_retrieve,
    "parse": _parse,
    "batches": _batches,
    "tool_runner": _tool_runner,
}


def _async_client(lib: Any, how: str, handler: Any, **kwargs: Any) -> tms.AsyncClient:
    if how == "http_client":
        http = lib.AsyncClient(transport=lib.MockTransport(handler))
        return tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, http_client=http, **kwargs)
    if how == "transport":
        transport = lib.MockTransport(handler)
        return tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=transport, **kwargs)
    return tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, **kwargs)  # respx


@pytest.mark.parametrize(("lib", "how"), HOWS)
@pytest.mark.parametrize("body", BODY_MODES)
@pytest.mark.parametrize("entry", ENTRIES)
async def test_async_entry_points_take_mocked_bodies(
    entry: str, body: str, lib: Any, how: str
) -> None:
    server = _setup(entry)
    handler = mock_handler(server, body, http=lib)  # type: ignore[arg-type]
    with trio.fail_after(10), _respx(how, handler):
        async with _async_client(lib, how, handler) as client:
            result = await ASYNC[entry](client)
    _check(entry, result)
    assert all(r.path.startswith("/v1/") for r in server.requests)


# -- the sync client -------------------------------------------------------------------


def _s_stream(client: tms.Client) -> Any:
    with client.messages.stream(**PARAMS) as stream:
        return stream.get_final_text()


def _s_raw(client: tms.Client) -> Any:
    with client.messages.create(**PARAMS, stream=True) as events:
        return [event.type for event in events][-1]


def _s_create(client: tms.Client) -> Any:
    return client.messages.create(**PARAMS).content[0].text  # type: ignore[union-attr]


def _s_batches(client: tms.Client) -> Any:
    batch = client.messages.batches.create(requests=BATCH)
    batch = client.messages.batches.retrieve(batch.id)
    with client.messages.batches.results(batch.id) as results:
        return [result.custom_id for result in results]


def _s_tool_runner(client: tms.Client) -> Any:
    final = client.messages.tool_runner(**PARAMS, tools=[add]).until_done()
    return final.content[0].text  # type: ignore[union-attr]


SYNC: dict[str, Callable[[tms.Client], Any]] = {
    "messages.stream": _s_stream,
    "create(stream=True)": _s_raw,
    "create": _s_create,
    "count_tokens": lambda c: c.messages.count_tokens(**PARAMS).input_tokens,
    "models.list": lambda c: [model.id for model in c.models.list()],
    "models.retrieve": lambda c: c.models.retrieve("claude-opus-4-6").id,
    "parse": lambda c: c.messages.parse(**PARAMS, output_format=Answer).parsed_output,
    "batches": _s_batches,
    "tool_runner": _s_tool_runner,
}


def _sync_client(lib: Any, how: str, handler: Any, **kwargs: Any) -> tms.Client:
    if how == "http_client":
        http = lib.Client(transport=lib.MockTransport(handler))
        return tms.Client(api_key=API_KEY, base_url=BASE_URL, http_client=http, **kwargs)
    if how == "transport":
        transport = lib.MockTransport(handler)
        return tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=transport, **kwargs)
    return tms.Client(api_key=API_KEY, base_url=BASE_URL, **kwargs)


@pytest.mark.parametrize(("lib", "how"), HOWS)
@pytest.mark.parametrize("body", BODY_MODES)
@pytest.mark.parametrize("entry", list(SYNC))
def test_sync_entry_points_take_mocked_bodies(entry: str, body: str, lib: Any, how: str) -> None:
    server = _setup(entry)
    handler = mock_handler(server, sync_body(body), http=lib)  # type: ignore[arg-type]
    with _respx(how, handler):
        with _sync_client(lib, how, handler) as client:
            result = SYNC[entry](client)
    _check(entry, result)


# -- error statuses --------------------------------------------------------------------

ERRORS: list[tuple[int, str, type[tms.APIStatusError]]] = [
    (400, "invalid_request_error", tms.BadRequestError),
    (429, "rate_limit_error", tms.RateLimitError),
    (529, "overloaded_error", tms.OverloadedError),
]


def _error_handler(
    status: int, kind: str, calls: list[str], lib: Any = httpx
) -> Callable[[Any], Any]:
    def handle(request: Any) -> Any:
        calls.append(request.url.path)
        error = {"type": "error", "error": {"type": kind, "message": f"mocked {kind}"}}
        return lib.Response(status, json=error, headers={"request-id": "req_mocked"})

    return handle


LIBS = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize(("status", "kind", "error"), ERRORS)
@pytest.mark.parametrize("entry", ENTRIES)
async def test_async_error_status_with_body_in_memory_is_typed(
    entry: str, status: int, kind: str, error: type[tms.APIStatusError], lib: Any
) -> None:
    calls: list[str] = []
    transport = lib.MockTransport(_error_handler(status, kind, calls, lib))
    with trio.fail_after(10):
        async with tms.AsyncClient(
            api_key=API_KEY, base_url=BASE_URL, transport=transport, max_retries=0
        ) as client:
            with pytest.raises(error) as info:
                await ASYNC[entry](client)
    assert type(info.value) is error
    assert info.value.status_code == status
    assert f"mocked {kind}" in str(info.value)
    assert info.value.request_id == "req_mocked"
    assert len(calls) == 1


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize(("status", "kind", "error"), ERRORS)
@pytest.mark.parametrize("entry", list(SYNC))
def test_sync_error_status_with_body_in_memory_is_typed(
    entry: str, status: int, kind: str, error: type[tms.APIStatusError], lib: Any
) -> None:
    calls: list[str] = []
    transport = lib.MockTransport(_error_handler(status, kind, calls, lib))
    with tms.Client(
        api_key=API_KEY, base_url=BASE_URL, transport=transport, max_retries=0
    ) as client:
        with pytest.raises(error) as info:
            SYNC[entry](client)
    assert type(info.value) is error
    assert info.value.status_code == status
    assert f"mocked {kind}" in str(info.value)
    assert len(calls) == 1


async def test_a_refused_request_in_memory_is_not_retried() -> None:
    """A 400 read from memory is the API's answer, not a broken connection: one call."""
    calls: list[str] = []
    transport = httpx.MockTransport(_error_handler(400, "invalid_request_error", calls))
    async with tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        with trio.fail_after(10), pytest.raises(tms.BadRequestError):
            await client.messages.create(**PARAMS)
    with tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=transport) as sync:
        with pytest.raises(tms.BadRequestError):
            sync.messages.create(**PARAMS)
    assert len(calls) == 2


@pytest.mark.parametrize("spelling", ["content", "text", "json"])
async def test_every_response_spelling_in_memory(spelling: str) -> None:
    """``content=``, ``text=`` and ``json=`` bodies, as the SDK's own tests write them."""
    stream_body = text_response("Hello from a mock").body
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": PARAMS["model"],
        "content": [{"type": "text", "text": "Hello from a mock"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 4},
    }

    def handle(request: httpx.Request) -> httpx.Response:
        streaming = b'"stream":true' in request.content
        sse = {"content-type": "text/event-stream"}
        if spelling == "json" and not streaming:
            return httpx.Response(200, json=message)
        if spelling == "text":
            body = stream_body.decode() if streaming else httpx.Response(200, json=message).text
            return httpx.Response(200, text=body, headers=sse if streaming else None)
        body_bytes = stream_body if streaming else httpx.Response(200, json=message).content
        return httpx.Response(200, content=body_bytes, headers=sse if streaming else None)

    transport = httpx.MockTransport(handle)
    async with tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        with trio.fail_after(10):
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == "Hello from a mock"
            reply = await client.messages.create(**PARAMS)
    assert reply.content[0].text == "Hello from a mock"  # type: ignore[union-attr]
    with tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=transport) as sync:
        with sync.messages.stream(**PARAMS) as sync_stream:
            assert sync_stream.get_final_text() == "Hello from a mock"
        assert sync.messages.create(**PARAMS).content[0].text == "Hello from a mock"  # type: ignore[union-attr]


async def test_a_gzip_body_in_memory_is_decoded_once() -> None:
    """httpx decodes a ``content-encoding: gzip`` body it reads: it is not decoded again."""
    import gzip

    body = text_response("Hello gzip").body
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(body), headers=headers)

    transport = httpx.MockTransport(handle)
    async with tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        with trio.fail_after(10):
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == "Hello gzip"
    with tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=transport) as sync:
        with sync.messages.stream(**PARAMS) as sync_stream:
            assert sync_stream.get_final_text() == "Hello gzip"
