"""The endpoints beside the stream, in both clients, against the fake endpoints:
token counting, the models list (paging) and retrieve, the beta namespace, and the
client options every request carries (API version, auth, default query, with_options).
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    FakeModels,
    FakeTokenCounter,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    text_response,
)

MESSAGES = [{"role": "user", "content": "How many tokens is this?"}]
MODELS = [{"id": f"claude-test-{i}", "display_name": f"Test {i}"} for i in range(5)]


async def test_count_tokens(fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient]) -> None:
    server, client = fake_endpoints
    counted = await client.messages.count_tokens(
        model="claude-sonnet-4-6", messages=MESSAGES, system="Be brief."
    )
    assert counted.input_tokens > 0
    request = server.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/messages/count_tokens")
    assert request.json == {
        "model": "claude-sonnet-4-6",
        "messages": MESSAGES,
        "system": "Be brief.",
    }
    assert "stream" not in request.json
    assert request.header("anthropic-version") == "2026-10-21"


async def test_count_tokens_error_is_typed(
    fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient],
) -> None:
    _, client = fake_endpoints
    with pytest.raises(tms.BadRequestError, match="model and messages are required"):
        await client.messages.count_tokens(model="claude-sonnet-4-6")


async def test_models_list_follows_pages(
    fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient],
) -> None:
    server, client = fake_endpoints
    before = len(server.requests)
    ids = [model.id async for model in client.models.list(limit=2)]
    assert ids == [m["id"] for m in MODELS]
    pages = server.requests[before:]
    assert [r.query for r in pages] == [
        "limit=2",
        "limit=2&after_id=claude-test-1",
        "limit=2&after_id=claude-test-3",
    ]
    page_sizes = [len(page.data) async for page in client.models.list(limit=3).pages()]
    assert page_sizes == [3, 2]
    first = await client.models.list(limit=1).first_page()
    assert first.has_more
    assert first.data[0].display_name == "Test 0"


async def test_models_list_backwards(
    fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient],
) -> None:
    _, client = fake_endpoints
    ids = [model.id async for model in client.models.list(limit=2, before_id="claude-test-4")]
    assert sorted(ids) == [f"claude-test-{i}" for i in range(4)]


async def test_models_retrieve_and_not_found(
    fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient],
) -> None:
    _server, client = fake_endpoints
    model = await client.models.retrieve("claude-test-3")
    assert model.id == "claude-test-3"
    assert model.type == "model"
    with pytest.raises(tms.NotFoundError):
        await client.models.retrieve("no-such-model")
    with pytest.raises(TypeError, match="unexpected"):
        await client.models.retrieve("claude-test-3", limit=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="non-empty"):
        await client.models.retrieve("")


async def test_beta_namespace_sends_the_beta_header(
    fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient],
) -> None:
    server, client = fake_endpoints
    server.enqueue(text_response("beta hello"))
    async with client.beta.messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES, betas=["feature-a", "b"]
    ) as stream:
        assert await stream.get_final_text() == "beta hello"
    request = server.requests[-1]
    assert request.header("anthropic-beta") == "feature-a,b"
    assert "betas" not in request.json
    await client.beta.messages.count_tokens(
        model="claude-sonnet-4-6", messages=MESSAGES, betas=["c"]
    )
    assert server.requests[-1].header("anthropic-beta") == "c"
    await client.beta.models.retrieve("claude-test-0", betas=["d"])
    assert server.requests[-1].header("anthropic-beta") == "d"


async def test_client_options_on_every_request(
    fake_endpoints: tuple[FakeAnthropicServer, tms.AsyncClient],
) -> None:
    server, client = fake_endpoints
    other = client.with_options(
        default_query={"tenant": "t1"},
        default_headers={"x-team": "blue"},
        api_version="2023-06-01",
        max_retries=0,
    )
    assert other.http_client is client.http_client
    assert other.max_retries == 0
    assert other.api_version == "2023-06-01"
    await other.models.retrieve("claude-test-0", extra_query={"q": "1"})
    request = server.requests[-1]
    assert request.query == "tenant=t1&q=1"
    assert request.header("x-team") == "blue"
    assert request.header("anthropic-version") == "2023-06-01"
    assert request.header("x-api-key") == "sk-test"
    with pytest.raises(TypeError, match="unexpected client option"):
        client.with_options(nonsense=1)  # type: ignore[call-arg]


async def test_auth_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok-123")
    async with open_fake_anthropic() as server:
        FakeModels(server, MODELS)
        async with tms.AsyncClient(base_url=server.base_url) as client:
            assert "tok-123" not in repr(client)
            await client.models.retrieve("claude-test-0")
        assert server.requests[-1].header("authorization") == "Bearer tok-123"
        assert server.requests[-1].header("x-api-key") is None


def test_sync_endpoints() -> None:
    with fake_anthropic_in_thread() as server:
        FakeModels(server, MODELS)
        FakeTokenCounter(server, count=lambda body: 42)
        with tms.Client(base_url=server.base_url, api_key="sk-test") as client:
            assert client.messages.count_tokens(model="m", messages=MESSAGES).input_tokens == 42
            assert [m.id for m in client.models.list(limit=2)] == [m["id"] for m in MODELS]
            assert [len(p.data) for p in client.models.list(limit=4).pages()] == [4, 1]
            assert client.models.retrieve("claude-test-2").display_name == "Test 2"
            with pytest.raises(tms.NotFoundError):
                client.models.retrieve("nope")
            client.beta.models.retrieve("claude-test-0", betas=["x"])
            assert server.requests[-1].header("anthropic-beta") == "x"


@pytest.fixture
async def fake_endpoints() -> Any:
    async with open_fake_anthropic() as server:
        FakeModels(server, MODELS)
        FakeTokenCounter(server)
        async with tms.AsyncClient(base_url=server.base_url, api_key="sk-test") as client:
            with trio.fail_after(30):
                yield server, client
