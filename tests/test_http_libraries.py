"""Issue 25 item 1: httpx2 beside httpx, with one glue.

Both clients take either library's client (``http_client=``) and transport
(``transport=``), make their own client of the transport's library (httpx, else
httpx2, when given neither), map either library's exceptions into the typed tree, and
work with httpx absent (a fresh interpreter whose ``import httpx`` fails).

Mocked bodies of both libraries on every entry point are in
``tests/trio/test_mock_transports.py``; the whole suite runs on httpx2 with
``TRIO_MSGSTREAM_TEST_HTTP=httpx2`` (``nox -s tests_httpx2``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import ModuleType

import httpx
import httpx2
import pytest
import trio
from _shared import API_KEY, PARAMS, TEST_HTTP, env_without_anthropic

import trio_msgstream as tms
from trio_msgstream._httpx.library import library_of
from trio_msgstream._httpx.transport import map_httpx_errors, scrub_request
from trio_msgstream.testing import FakeAnthropicServer, text_response

pytestmark = pytest.mark.filterwarnings("error")

LIBRARIES = [httpx, httpx2]


def test_the_run_uses_the_chosen_library(sync_client: tms.Client) -> None:
    """The suite's clients are made with ``TRIO_MSGSTREAM_TEST_HTTP``'s library."""
    lib = library_of(sync_client.http_client)
    assert lib is not None
    assert lib.name == TEST_HTTP


@pytest.mark.parametrize("http", LIBRARIES, ids=lambda m: m.__name__)
async def test_async_client_takes_either_library(
    http: ModuleType, server: FakeAnthropicServer
) -> None:
    """A user's ``httpx2.AsyncClient`` works (it failed on the first request with a
    ``TypeError`` about an ``httpx.Timeout``), and so does a transport of either."""
    server.enqueue(text_response("one"))
    async with http.AsyncClient() as mine:
        client = tms.AsyncClient(base_url=server.base_url, api_key=API_KEY, http_client=mine)
        with trio.fail_after(10):
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == "one"
    transport = http.AsyncHTTPTransport()
    async with tms.AsyncClient(
        base_url=server.base_url, api_key=API_KEY, transport=transport
    ) as client:
        assert type(client.http_client) is http.AsyncClient
        with trio.fail_after(10):
            assert (await client.messages.create(**PARAMS)).content


@pytest.mark.parametrize("http", LIBRARIES, ids=lambda m: m.__name__)
def test_sync_client_takes_either_library(
    http: ModuleType, sync_server: FakeAnthropicServer
) -> None:
    sync_server.enqueue(text_response("one"))
    with http.Client() as mine:
        client = tms.Client(base_url=sync_server.base_url, api_key=API_KEY, http_client=mine)
        with client.messages.stream(**PARAMS) as stream:
            assert stream.get_final_text() == "one"
        with client.messages.create(**PARAMS, stream=True) as events:
            assert type(events.response) is http.Response
    with tms.Client(
        base_url=sync_server.base_url, api_key=API_KEY, transport=http.HTTPTransport()
    ) as client:
        assert type(client.http_client) is http.Client
        assert client.messages.create(**PARAMS).content


@pytest.mark.parametrize("http", LIBRARIES, ids=lambda m: m.__name__)
async def test_either_librarys_connection_errors_are_typed(http: ModuleType) -> None:
    async with http.AsyncClient() as mine:
        client = tms.AsyncClient(
            base_url="http://127.0.0.1:9", api_key=API_KEY, http_client=mine, max_retries=0
        )
        with trio.fail_after(10), pytest.raises(tms.APIConnectionError) as info:
            await client.messages.create(**PARAMS)
    assert type(info.value.__cause__) is http.ConnectError
    with http.Client() as sync_mine:
        sync = tms.Client(
            base_url="http://127.0.0.1:9", api_key=API_KEY, http_client=sync_mine, max_retries=0
        )
        with pytest.raises(tms.APIConnectionError) as sync_info:
            sync.messages.create(**PARAMS)
    assert type(sync_info.value.__cause__) is http.ConnectError


@pytest.mark.parametrize("http", LIBRARIES, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    ("name", "in_body", "expected"),
    [
        ("ConnectTimeout", False, tms.APITimeoutError),
        ("ReadTimeout", True, tms.APITimeoutError),
        ("PoolTimeout", False, tms.APITimeoutError),
        ("ReadError", True, tms.IncompleteStreamError),
        ("ReadError", False, tms.APIConnectionError),
        ("RemoteProtocolError", True, tms.IncompleteStreamError),
        ("DecodingError", True, tms.StreamProtocolError),
        ("TooManyRedirects", False, tms.APIConnectionError),
        ("ProxyError", False, tms.APIConnectionError),
        ("InvalidURL", False, tms.APIConnectionError),
        ("StreamConsumed", True, tms.IncompleteStreamError),
    ],
)
def test_either_librarys_exceptions_map_to_the_same_errors(
    http: ModuleType, name: str, in_body: bool, expected: type[tms.APIError]
) -> None:
    exc = getattr(http, name)() if name == "StreamConsumed" else getattr(http, name)("boom")
    request = http.Request("POST", "https://api.anthropic.com/v1/messages")
    request.headers["x-api-key"] = API_KEY
    with pytest.raises(expected) as info, map_httpx_errors(request=request, in_body=in_body):
        raise exc
    assert type(info.value) is expected
    assert info.value.__cause__ is exc
    if isinstance(info.value, tms.APITimeoutError):
        assert info.value.which == name.removesuffix("Timeout").lower()
    assert API_KEY not in repr(info.value.request.headers)


@pytest.mark.parametrize("http", LIBRARIES, ids=lambda m: m.__name__)
def test_an_event_hooks_status_error_of_either_library_is_typed(http: ModuleType) -> None:
    response = http.Response(429, request=http.Request("GET", "https://api.anthropic.com"))
    status = http.HTTPStatusError("429", request=response.request, response=response)
    with pytest.raises(tms.RateLimitError), map_httpx_errors():
        raise status


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), map_httpx_errors(in_body=True):
        raise KeyError("not ours")


@pytest.mark.parametrize("http", LIBRARIES, ids=lambda m: m.__name__)
def test_requests_of_either_library_are_scrubbed(http: ModuleType) -> None:
    request = http.Request(
        "POST", "https://x", headers={"x-api-key": API_KEY, "authorization": "Bearer t"}
    )
    clean = scrub_request(request)
    assert type(clean) is http.Request
    assert API_KEY not in str(clean.headers.multi_items())
    assert "Bearer t" not in str(clean.headers.multi_items())


# A fresh interpreter in which one library cannot be imported.
_BLOCKED = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {blocked!r} or name.startswith({blocked!r} + "."):
            raise ImportError("blocked: " + name)
        return None

sys.meta_path.insert(0, Block())
"""

_ONLY_ONE = """
import trio
import trio_msgstream as tms
from trio_msgstream.testing import fake_anthropic_in_thread

assert {blocked!r} not in sys.modules
P = dict(model="claude-sonnet-5-5", max_tokens=16, messages=[{{"role": "user", "content": "hi"}}])
with fake_anthropic_in_thread() as server:
    with tms.Client(base_url=server.base_url, api_key="k") as sync:
        assert type(sync.http_client).__module__.startswith({used!r})
        with sync.messages.stream(**P) as stream:
            assert stream.get_final_text()
        refused = tms.Client(base_url="http://127.0.0.1:9", api_key="k", max_retries=0)
        try:
            refused.models.retrieve("m")
        except tms.APIConnectionError as exc:
            assert type(exc.__cause__).__module__.startswith({used!r})

    async def main():
        async with tms.AsyncClient(base_url=server.base_url, api_key="k") as client:
            assert type(client.http_client).__module__.startswith({used!r})
            async with client.messages.stream(**P) as stream:
                assert await stream.get_final_text()

    trio.run(main)
assert {blocked!r} not in sys.modules
print("ok")
"""


@pytest.mark.slow
@pytest.mark.parametrize(("blocked", "used"), [("httpx", "httpx2"), ("httpx2", "httpx")])
def test_the_library_works_with_only_one_http_library(blocked: str, used: str) -> None:
    code = textwrap.dedent(_BLOCKED + _ONLY_ONE).format(blocked=blocked, used=used)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_without_anthropic(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.slow
def test_with_neither_library_the_error_says_what_to_install() -> None:
    code = _BLOCKED.format(blocked="httpx") + textwrap.dedent(
        """
        class Block2(Block):
            def find_spec(self, name, path=None, target=None):
                if name.startswith("httpx2"):
                    raise ImportError("blocked: " + name)
                return None
        sys.meta_path.insert(0, Block2())
        import trio_msgstream as tms
        try:
            tms.Client(api_key="k")
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_without_anthropic(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "needs httpx or httpx2" in result.stdout
