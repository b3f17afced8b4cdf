"""The testing kit: errors out of its context managers as themselves (issue 10), the
route table of the fake server and the one embedded-server rule (issue 9, item 5)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx
import pytest
import trio

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    RecordedRequest,
    ScriptedResponse,
    _routes,
    error_response,
    open_demo_client,
    open_fake_anthropic,
    register_route,
)
from trio_msgstream.testing._embedded import open_embedded_server_unless_key

pytestmark = pytest.mark.filterwarnings("error")

PARAMS = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hi"}],
}


# -- the body's exception comes out as itself ---------------------------------------


async def test_open_fake_anthropic_raises_the_body_error_as_itself() -> None:
    with pytest.raises(tms.BadRequestError) as info:  # noqa: PT012 - the block is the test
        async with open_fake_anthropic() as server:
            server.enqueue(error_response(400, "invalid_request_error", "nope"))
            async with tms.AsyncClient(base_url=server.base_url, api_key="k") as client:
                await client.messages.create(**PARAMS)
    assert type(info.value) is tms.BadRequestError
    assert not isinstance(info.value.__context__, BaseExceptionGroup)


async def test_open_fake_anthropic_keeps_the_body_errors_chain() -> None:
    def fail() -> None:
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise ValueError("outer") from exc

    with pytest.raises(ValueError, match="outer") as info:
        async with open_fake_anthropic():
            fail()
    assert isinstance(info.value.__cause__, KeyError)
    assert isinstance(info.value.__context__, KeyError)


async def test_open_fake_anthropic_lets_cancelled_out_as_itself() -> None:
    with trio.CancelScope() as scope:
        async with open_fake_anthropic():
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught


async def test_open_demo_client_raises_the_body_error_as_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(tms.BadRequestError) as info:
        async with open_demo_client(api_key="k") as client:
            await client.messages.create(model="m", max_tokens=1, messages=[])
    assert type(info.value) is tms.BadRequestError


async def test_open_demo_client_lets_cancelled_out_as_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with trio.CancelScope() as scope:
        async with open_demo_client(api_key="k"):
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught


# -- the route table -----------------------------------------------------------------


def get_model(
    server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
) -> ScriptedResponse:
    body = {"type": "model", "id": params["model_id"], "query": request.query}
    return ScriptedResponse(
        headers=[("content-type", "application/json")], body=json.dumps(body).encode()
    )


def broken(
    server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
) -> ScriptedResponse:
    raise RuntimeError("handler bug")


async def test_routes_added_to_one_server() -> None:
    async with open_fake_anthropic() as server, httpx.AsyncClient(base_url=server.base_url) as http:
        server.add_route("GET", "/v1/models/{model_id}", get_model)
        server.add_route("post", "/v1/broken", broken)
        with trio.fail_after(10):
            found = await http.get("/v1/models/claude-x?limit=2")
            assert found.json() == {"type": "model", "id": "claude-x", "query": "limit=2"}
            # One segment per placeholder; methods must match; errors are 500s.
            assert (await http.get("/v1/models/a/b")).status_code == 404
            assert (await http.post("/v1/models/claude-x")).status_code == 404
            failed = await http.post("/v1/broken")
            assert failed.status_code == 500
            assert "handler bug" in failed.json()["error"]["message"]
            # The built-in messages route is unchanged, query string and all.
            ok = await http.post("/v1/messages?beta=true", json={**PARAMS, "stream": False})
            assert ok.status_code == 200
            assert ok.json()["type"] == "message"
            assert (await http.get("/v1/messages")).status_code == 404
        assert [r.path for r in server.requests][-2:] == ["/v1/messages", "/v1/messages"]


async def test_routes_registered_for_every_server_and_overridable() -> None:
    register_route(
        "POST",
        "/v1/messages/count_tokens",
        lambda s, r, p: ScriptedResponse(
            headers=[("content-type", "application/json")], body=b'{"input_tokens": 7}'
        ),
    )
    try:
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as http,
        ):
            with trio.fail_after(10):
                counted = await http.post("/v1/messages/count_tokens", json=PARAMS)
                assert counted.json() == {"input_tokens": 7}
                # A server's own route comes first: a test can override any endpoint.
                server.add_route(
                    "POST", "/v1/messages", lambda s, r, p: error_response(529, "overloaded_error")
                )
                assert (await http.post("/v1/messages", json=PARAMS)).status_code == 529
    finally:
        _routes._registry[:] = [
            r for r in _routes._registry if r.pattern != "/v1/messages/count_tokens"
        ]


def test_route_patterns_are_checked_when_added() -> None:
    with pytest.raises(ValueError, match="starts with"):
        register_route("GET", "v1/models", get_model)


# -- one embedded-server rule --------------------------------------------------------


async def test_embedded_server_unless_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    async with open_embedded_server_unless_key(base_url="http://example.invalid") as url:
        assert url == "http://example.invalid"
    async with open_embedded_server_unless_key() as url:
        assert url is not None
        assert url.startswith("http://127.0.0.1:")
        async with tms.AsyncClient(base_url=url, api_key="k") as client:
            with trio.fail_after(10):
                message = await client.messages.create(**PARAMS)
        assert message.content
    assert "embedded local server" in capsys.readouterr().err
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-demo")
    async with open_embedded_server_unless_key() as url:
        assert url is None
    assert capsys.readouterr().err == ""
