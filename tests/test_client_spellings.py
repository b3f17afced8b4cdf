"""Issue 19 item 4: the client spellings an SDK port uses exist on both clients.

``await client.close()`` (``AsyncAnthropic``), ``client.close()`` (``Anthropic``),
``is_closed()``, ``copy()`` and ``with_options()`` with the SDK's merging of
``default_headers``/``default_query`` (``set_default_*`` replace them), and the
``default_headers``/``default_query`` properties.
"""

from __future__ import annotations

import httpx
import pytest
import trio
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import FakeAnthropicServer


async def test_async_close_is_the_sdk_spelling_of_aclose(server: FakeAnthropicServer) -> None:
    client = tms.AsyncAnthropic(base_url=server.base_url, api_key=API_KEY)
    with trio.fail_after(10):
        await client.messages.create(**PARAMS)
        assert not client.is_closed()
        await client.close()
    assert client.is_closed()
    assert client.http_client.is_closed
    await client.close()  # idempotent


async def test_close_leaves_a_borrowed_http_client_open(server: FakeAnthropicServer) -> None:
    async with httpx.AsyncClient() as http:
        client = tms.AsyncAnthropic(base_url=server.base_url, api_key=API_KEY, http_client=http)
        await client.close()
        assert not client.is_closed()
        assert not http.is_closed
    assert client.is_closed()


def test_sync_close_and_is_closed(sync_server: FakeAnthropicServer) -> None:
    client = tms.Anthropic(base_url=sync_server.base_url, api_key=API_KEY)
    assert client.messages.create(**PARAMS).stop_reason == "end_turn"
    assert not client.is_closed()
    client.close()
    assert client.is_closed()


@pytest.mark.parametrize("cls", [tms.AsyncClient, tms.Client])
def test_copy_merges_default_headers_and_query_as_the_sdk(cls: type[tms.AsyncClient]) -> None:
    client = cls(
        api_key=API_KEY,
        base_url="http://127.0.0.1:9",
        default_headers={"x-team": "blue", "x-app": "a"},
        default_query={"tenant": "t1"},
    )
    merged = client.copy(default_headers={"x-app": "b"}, default_query={"region": "eu"})
    assert merged.default_headers == {"x-team": "blue", "x-app": "b"}
    assert merged.default_query == {"tenant": "t1", "region": "eu"}
    assert merged.http_client is client.http_client
    replaced = client.with_options(set_default_headers={"x-app": "c"}, set_default_query={})
    assert replaced.default_headers == {"x-app": "c"}
    assert replaced.default_query == {}
    assert client.default_headers == {"x-team": "blue", "x-app": "a"}  # unchanged
    assert client.copy(max_retries=5).max_retries == 5
    with pytest.raises(ValueError, match="not both"):
        client.copy(default_headers={}, set_default_headers={})
    spec = merged.build_request("GET", "/v1/models")
    assert spec.headers["x-team"] == "blue"
    assert spec.headers["x-app"] == "b"
    assert dict(spec.query) == {"tenant": "t1", "region": "eu"}


def test_sdk_client_spellings_exist() -> None:
    """The spellings a port uses, on both clients (the SDK's low-level request methods,
    raw-response wrappers and other API namespaces are not part of this library)."""
    for name in ("close", "copy", "with_options", "is_closed", "__aenter__", "__aexit__"):
        assert callable(getattr(tms.AsyncAnthropic, name)), name
    for name in ("close", "copy", "with_options", "is_closed", "__enter__", "__exit__"):
        assert callable(getattr(tms.Anthropic, name)), name
    for cls in (tms.AsyncAnthropic, tms.Anthropic):
        client = cls(api_key=API_KEY, default_headers={"x": "1"})
        assert client.api_key == API_KEY
        assert client.base_url == "https://api.anthropic.com"
        assert client.max_retries == 2
        assert isinstance(client.timeout, tms.Timeout)
        assert client.default_headers == {"x": "1"}
        assert client.default_query == {}


async def test_a_request_on_a_closed_async_client_is_a_typed_error(
    server: FakeAnthropicServer,
) -> None:
    client = tms.AsyncAnthropic(base_url=server.base_url, api_key=API_KEY, max_retries=3)
    await client.close()
    with trio.fail_after(10):
        with pytest.raises(tms.errors.ClientClosedError, match="closed"):
            await client.messages.create(**PARAMS)
        with pytest.raises(tms.errors.ClientClosedError):  # a RuntimeError too
            async with client.messages.stream(**PARAMS) as stream:
                await stream.get_final_message()
    assert server.requests == []


def test_a_request_on_a_closed_sync_client_is_a_typed_error(
    sync_server: FakeAnthropicServer,
) -> None:
    with httpx.Client() as http:
        client = tms.Anthropic(base_url=sync_server.base_url, api_key=API_KEY, http_client=http)
    with pytest.raises(tms.errors.ClientClosedError, match="closed"):
        client.messages.create(**PARAMS)
    with pytest.raises(tms.errors.ClientClosedError):
        with client.messages.stream(**PARAMS) as stream:
            stream.get_final_message()
    assert sync_server.requests == []
