"""The httpx boundary (issue 10, items 1, 3 and 11): every httpx error comes out typed,
compressed bodies are decoded in bounded steps, non-streaming bodies are bounded.

A corrupt ``Content-Encoding: gzip`` body (at the start, mid-stream, in an error
response) and a redirect loop are served by the real loopback fake server; every entry
point must raise the typed error as itself, and a failing ``open_message_stream`` must
not cancel a sibling task in the user's nursery.
"""

from __future__ import annotations

import gc
import ssl
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import trio
from _failure_support import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream._core.stream.decoding import DEFAULT_MAX_DECODED_CHUNK
from trio_msgstream._core.stream.sse import DEFAULT_MAX_EVENT_SIZE
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    sse_bytes,
    text_response,
)

pytestmark = pytest.mark.filterwarnings("error")

SSE = [("content-type", "text/event-stream; charset=utf-8"), ("content-encoding", "gzip")]
JSON = [("content-type", "application/json"), ("content-encoding", "gzip")]


def gzip_bytes(data: bytes, *, finish: bool = True) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = compressor.compress(data)
    return out + compressor.flush(zlib.Z_FINISH if finish else zlib.Z_SYNC_FLUSH)


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes (no newline, so one endless SSE line), gzipped: ~1000:1."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + compressor.flush()


def corrupt_start() -> ScriptedResponse:
    return ScriptedResponse(headers=SSE, body=b"this is not gzip at all\n\n" * 4)


def corrupt_mid_stream() -> ScriptedResponse:
    events = sse_bytes(
        [
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "m",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi"},
            },
        ]
    )
    good = gzip_bytes(events, finish=False)
    return ScriptedResponse(headers=SSE, chunks=[good, b"\xff" * 64])


def corrupt_error_body() -> ScriptedResponse:
    return ScriptedResponse(status=400, headers=JSON, body=b"\x1f\x8b\x08\x00garbage" * 8)


CASES: dict[str, tuple[Callable[[], ScriptedResponse], type[tms.APIError]]] = {
    "start": (corrupt_start, tms.StreamProtocolError),
    "mid_stream": (corrupt_mid_stream, tms.StreamProtocolError),
    "error_response": (corrupt_error_body, tms.BadRequestError),
}


# -- async entry points --------------------------------------------------------------


async def via_manager(client: tms.AsyncClient) -> Any:
    async with client.messages.stream(**PARAMS) as stream:
        return await stream.get_final_message()


async def via_create(client: tms.AsyncClient) -> Any:
    return await client.messages.create(**PARAMS)


async def via_raw(client: tms.AsyncClient) -> Any:
    async with await client.messages.create(stream=True, **PARAMS) as events:
        return [event async for event in events]


async def via_open(client: tms.AsyncClient) -> Any:
    """open_message_stream in the user's nursery, beside a sibling that must survive."""
    sibling: list[str] = []
    release = trio.Event()

    async def run_sibling() -> None:
        try:
            await release.wait()
        except trio.Cancelled:
            sibling.append("cancelled")
            raise
        sibling.append("finished")

    error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_sibling)
        try:
            async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
                await stream.get_final_message()
        except Exception as exc:
            error = exc
        release.set()
    assert sibling == ["finished"]
    if error is not None:
        raise error


ENTRIES: dict[str, Callable[[tms.AsyncClient], Awaitable[Any]]] = {
    "manager": via_manager,
    "create": via_create,
    "raw": via_raw,
    "open_message_stream": via_open,
}


async def raised_by(fn: Callable[[], Awaitable[Any]]) -> BaseException:
    with pytest.raises(BaseException) as info:  # noqa: PT011 - the exact type is checked
        await fn()
    return info.value


@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("case", list(CASES))
async def test_corrupt_gzip_is_typed(entry: str, case: str) -> None:
    make, expected = CASES[case]
    if entry == "create" and case == "mid_stream":
        expected = tms.StreamProtocolError
    async with open_fake_anthropic() as server:
        server.enqueue(make())
        async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY, max_retries=0) as c:
            with trio.fail_after(10):
                error = await raised_by(lambda: ENTRIES[entry](c))
    assert type(error) is expected, repr(error)
    if case == "error_response":
        assert isinstance(error, tms.APIStatusError)
        assert error.status_code == 400


@pytest.mark.parametrize("entry", list(ENTRIES))
async def test_redirect_loop_with_user_http_client_is_typed(entry: str) -> None:
    redirect = ScriptedResponse(status=307, headers=[("location", "/v1/messages")])
    async with open_fake_anthropic() as server:
        server.fail_first(100, redirect)
        http = httpx.AsyncClient(follow_redirects=True, max_redirects=3)
        async with (
            http,
            tms.AsyncClient(
                base_url=server.base_url, api_key=API_KEY, max_retries=0, http_client=http
            ) as client,
        ):
            with trio.fail_after(10):
                error = await raised_by(lambda: ENTRIES[entry](client))
    assert type(error) is tms.APIConnectionError, repr(error)
    assert isinstance(error.__cause__, httpx.TooManyRedirects)
    assert "redirect" in str(error)


async def test_invalid_url_is_typed() -> None:
    async with tms.AsyncClient(base_url="http://[::1", api_key=API_KEY, max_retries=0) as c:
        error = await raised_by(lambda: via_create(c))
    assert type(error) is tms.APIConnectionError, repr(error)


async def test_gzip_stream_decodes() -> None:
    body = text_response("Hello compressed world").body
    async with open_fake_anthropic() as server:
        server.enqueue(ScriptedResponse(headers=SSE, chunks=[gzip_bytes(body)]))
        async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY) as client:
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == "Hello compressed world"
        # Streams do not ask for compression.
        assert server.requests[0].header("accept-encoding") == "identity"


# -- the sync client -----------------------------------------------------------------


@pytest.fixture(scope="module")
def thread_server() -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread() as server:
        yield server


def sync_manager(client: tms.Client) -> Any:
    with client.messages.stream(**PARAMS) as stream:
        return stream.get_final_message()


def sync_create(client: tms.Client) -> Any:
    return client.messages.create(**PARAMS)


def sync_raw(client: tms.Client) -> Any:
    with client.messages.create(stream=True, **PARAMS) as events:
        return list(events)


SYNC_ENTRIES: dict[str, Callable[[tms.Client], Any]] = {
    "manager": sync_manager,
    "create": sync_create,
    "raw": sync_raw,
}


@pytest.mark.parametrize("entry", list(SYNC_ENTRIES))
@pytest.mark.parametrize("case", list(CASES))
def test_sync_corrupt_gzip_is_typed(
    thread_server: FakeAnthropicServer, entry: str, case: str
) -> None:
    make, expected = CASES[case]
    thread_server.reset()
    thread_server.enqueue(make())
    with tms.Client(base_url=thread_server.base_url, api_key=API_KEY, max_retries=0) as client:
        with pytest.raises(BaseException) as info:  # noqa: PT011 - exact type checked
            SYNC_ENTRIES[entry](client)
    assert type(info.value) is expected, repr(info.value)


@pytest.mark.parametrize("entry", list(SYNC_ENTRIES))
def test_sync_redirect_loop_is_typed(thread_server: FakeAnthropicServer, entry: str) -> None:
    thread_server.reset()
    thread_server.fail_first(
        100, ScriptedResponse(status=307, headers=[("location", "/v1/messages")])
    )
    http = httpx.Client(follow_redirects=True, max_redirects=3)
    with (
        http,
        tms.Client(
            base_url=thread_server.base_url, api_key=API_KEY, max_retries=0, http_client=http
        ) as client,
    ):
        with pytest.raises(BaseException) as info:  # noqa: PT011 - exact type checked
            SYNC_ENTRIES[entry](client)
    thread_server.reset()
    assert type(info.value) is tms.APIConnectionError, repr(info.value)
    assert isinstance(info.value.__cause__, httpx.TooManyRedirects)


# -- compression cannot get around the memory bounds (item 3) -----------------------

BOMB_SIZE = 100 << 20
PEAK_LIMIT = DEFAULT_MAX_EVENT_SIZE + 16 * DEFAULT_MAX_DECODED_CHUNK + (8 << 20)
"""The event cap, a channel of decoded pieces, and slack: far below the 100 MB bomb."""


def traced_peak(run: Callable[[], Any]) -> tuple[Any, int]:
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


async def atraced_peak(run: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    gc.collect()
    tracemalloc.start()
    try:
        result = await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb(BOMB_SIZE)
    assert len(data) < BOMB_SIZE // 500
    return data


@pytest.mark.parametrize("entry", ["manager", "raw"])
async def test_gzip_bomb_stream_memory_is_bounded(bomb: bytes, entry: str) -> None:
    async with open_fake_anthropic() as server:
        server.enqueue(ScriptedResponse(headers=SSE, chunks=[bomb]))
        async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY, max_retries=0) as c:

            async def run() -> BaseException:
                with trio.fail_after(60):
                    return await raised_by(lambda: ENTRIES[entry](c))

            error, peak = await atraced_peak(run)
    assert type(error) is tms.StreamProtocolError, repr(error)
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"


async def test_gzip_bomb_read_body_is_bounded(bomb: bytes) -> None:
    limit = 8 << 20
    async with open_fake_anthropic() as server:
        server.enqueue(ScriptedResponse(headers=JSON, body=bomb))
        async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY) as client:
            spec = client.build_spec({**PARAMS, "max_retries": 0}, stream=False)
            response: Any = await client.open_response(spec)

            async def run() -> BaseException:
                try:
                    with trio.fail_after(60):
                        return await raised_by(lambda: response.read_body(limit))
                finally:
                    await response.aclose()

            error, peak = await atraced_peak(run)
    assert type(error) is tms.StreamProtocolError
    assert f"limit of {limit} bytes" in str(error)
    assert peak < limit + (8 << 20), f"peak {peak / 2**20:.1f} MiB"


def test_sync_gzip_bomb_is_bounded(thread_server: FakeAnthropicServer, bomb: bytes) -> None:
    thread_server.reset()
    thread_server.enqueue(ScriptedResponse(headers=SSE, chunks=[bomb]))
    with tms.Client(base_url=thread_server.base_url, api_key=API_KEY, max_retries=0) as client:

        def run() -> BaseException:
            with pytest.raises(BaseException) as info:  # noqa: PT011 - exact type checked
                sync_raw(client)
            return info.value

        error, peak = traced_peak(run)
    assert type(error) is tms.StreamProtocolError, repr(error)
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"


# -- non-streaming bodies are read whole, bounded, joined once (item 11) ------------


async def test_read_body_returns_the_decoded_body_and_bounds_it() -> None:
    payload = b'{"hello": "' + b"x" * 300_000 + b'"}'
    async with open_fake_anthropic() as server:
        async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY) as client:
            spec = client.build_spec({**PARAMS, "max_retries": 0}, stream=False)
            server.enqueue(ScriptedResponse(headers=JSON, body=gzip_bytes(payload)))
            response: Any = await client.open_response(spec)
            try:
                assert await response.read_body(len(payload)) == payload
            finally:
                await response.aclose()
            assert server.requests[-1].header("accept-encoding") == "gzip, deflate"
            server.enqueue(ScriptedResponse(headers=JSON, body=gzip_bytes(payload)))
            response = await client.open_response(spec)
            try:
                with pytest.raises(tms.StreamProtocolError, match="larger than the limit"):
                    await response.read_body(len(payload) - 1)
            finally:
                await response.aclose()


def test_sync_read_body_returns_the_decoded_body_and_bounds_it(
    thread_server: FakeAnthropicServer,
) -> None:
    payload = b'{"hello": "' + b"y" * 300_000 + b'"}'
    thread_server.reset()
    with tms.Client(base_url=thread_server.base_url, api_key=API_KEY) as client:
        spec = client.build_spec({**PARAMS, "max_retries": 0}, stream=False)
        timeout = (10.0, 10.0, 10.0, 10.0)
        for limit, ok in ((len(payload), True), (len(payload) - 1, False)):
            thread_server.enqueue(ScriptedResponse(headers=JSON, body=gzip_bytes(payload)))
            response = client._send(spec, timeout)
            try:
                if ok:
                    assert response.read_body(limit) == payload
                else:
                    with pytest.raises(tms.StreamProtocolError, match="larger than the limit"):
                        response.read_body(limit)
            finally:
                response.close()


# -- TLS: one SSL context for every client ---------------------------------------------------


def _ssl_context_of(http_client: httpx.AsyncClient | httpx.Client) -> object:
    return http_client._transport._pool._ssl_context  # type: ignore[attr-defined]


async def test_clients_share_one_ssl_context_made_as_httpx_makes_it() -> None:
    # Loading the CA bundle costs ~25 ms of CPU: made once, not once per client.
    from trio_msgstream._httpx.transport import default_ssl_context

    context = default_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    async with tms.AsyncClient(api_key=API_KEY) as first:
        second = first.with_options(max_retries=0)  # shares the httpx client
        with tms.Client(api_key=API_KEY) as sync_client:
            async with tms.AsyncClient(api_key=API_KEY) as third:
                for client in (first, second, sync_client, third):
                    assert _ssl_context_of(client.http_client) is context
    assert default_ssl_context() is context


async def test_proxies_from_the_environment_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with tms.AsyncClient(api_key=API_KEY) as client:
        mounts = client.http_client._mounts  # type: ignore[attr-defined]
        assert any(transport is not None for transport in mounts.values())
