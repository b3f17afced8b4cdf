"""Telemetry names the cloud platform: ``gen_ai.provider.name`` and ``server.address``.

Spans, metrics and log records of requests through the platform fakes (Bedrock,
Vertex AI, Foundry) on both clients carry the OpenTelemetry GenAI conventions'
well-known provider value of the platform and the platform's host; on the default
endpoints (mock transports) ``server.address`` is the cloud's own host.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from _otel_support import Telemetry, telemetry_fixture

import trio_msgstream as tms
from trio_msgstream._core.observe import telemetry as observe
from trio_msgstream.testing import (
    FakeAnthropicServer,
    FakeBedrock,
    FakeFoundry,
    FakeVertex,
    eventstream_bytes,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    text_response,
)

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
PROVIDERS = {"bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai", "foundry": "azure.ai.inference"}


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    monkeypatch.delenv(observe.CAPTURE_CONTENT_ENV, raising=False)
    for key in list(__import__("os").environ):
        if key.startswith(("ANTHROPIC_", "AWS_", "CLOUD_ML_", "GOOGLE_")):
            monkeypatch.delenv(key)
    yield from telemetry_fixture()


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropicServer]:
    async with open_fake_anthropic() as server:
        yield server


def _async_client(platform: str, server: FakeAnthropicServer) -> tuple[tms.AsyncClient, Any]:
    if platform == "bedrock":
        bedrock = FakeBedrock(server)
        return tms.AsyncAnthropicBedrock(**bedrock.client_kwargs()), bedrock
    if platform == "vertex":
        vertex = FakeVertex(server)
        return tms.AsyncAnthropicVertex(**vertex.client_kwargs()), vertex
    foundry = FakeFoundry(server)
    return tms.AsyncAnthropicFoundry(**foundry.client_kwargs()), foundry


def _sync_client(platform: str, server: FakeAnthropicServer) -> tuple[tms.Client, Any]:
    if platform == "bedrock":
        bedrock = FakeBedrock(server)
        return tms.AnthropicBedrock(**bedrock.client_kwargs()), bedrock
    if platform == "vertex":
        vertex = FakeVertex(server)
        return tms.AnthropicVertex(**vertex.client_kwargs()), vertex
    foundry = FakeFoundry(server)
    return tms.AnthropicFoundry(**foundry.client_kwargs()), foundry


def _check(telemetry: Telemetry, server: FakeAnthropicServer, platform: str, fake: Any) -> None:
    host, port = server.base_url.split("//", 1)[1].rstrip("/").split(":")
    spans = [s for s in telemetry.finished() if s.name.startswith("chat ")]
    assert len(spans) == 2  # a stream and a create
    for span in spans:
        attributes = dict(span.attributes or {})
        assert attributes["gen_ai.provider.name"] == PROVIDERS[platform]
        assert attributes["gen_ai.system"] == PROVIDERS[platform]
        assert attributes["server.address"] == host
        assert attributes["server.port"] == int(port)
        if platform == "bedrock":
            assert attributes["aws.request_id"] in fake.request_ids
            assert "anthropic.request.id" not in attributes
        else:
            assert str(attributes["anthropic.request.id"]).startswith("req_")
    points = telemetry.points("gen_ai.client.operation.duration")
    assert sum(point.count for point in points) == 2
    for point in points:
        assert point.attributes["gen_ai.provider.name"] == PROVIDERS[platform]
        assert point.attributes["server.address"] == host


@pytest.mark.parametrize("platform", sorted(PROVIDERS))
async def test_async_platform_spans_and_metrics(
    telemetry: Telemetry, server: FakeAnthropicServer, platform: str
) -> None:
    client, fake = _async_client(platform, server)
    server.enqueue(text_response("streamed"))
    async with client:
        async with client.messages.stream(**PARAMS) as stream:
            await stream.get_final_message()
        await client.messages.create(**PARAMS)
    assert fake.rejections == []
    _check(telemetry, server, platform, fake)


@pytest.mark.parametrize("platform", sorted(PROVIDERS))
def test_sync_platform_spans_and_metrics(telemetry: Telemetry, platform: str) -> None:
    with fake_anthropic_in_thread() as server:
        client, fake = _sync_client(platform, server)
        server.enqueue(text_response("streamed"))
        with client:
            with client.messages.stream(**PARAMS) as stream:
                stream.get_final_message()
            client.messages.create(**PARAMS)
        assert fake.rejections == []
        _check(telemetry, server, platform, fake)


async def test_the_first_party_client_stays_anthropic(
    telemetry: Telemetry, server: FakeAnthropicServer
) -> None:
    async with tms.AsyncClient(base_url=server.base_url, api_key="sk-x") as client:
        await client.messages.create(**PARAMS)
    [span] = telemetry.finished()
    assert span.attributes is not None
    assert span.attributes["gen_ai.provider.name"] == "anthropic"


async def test_the_log_record_names_the_provider(
    server: FakeAnthropicServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trio_msgstream")
    client, _ = _async_client("vertex", server)
    async with client:
        await client.messages.create(**PARAMS)
    [end] = [r.trio_msgstream for r in caplog.records if hasattr(r, "trio_msgstream")]  # type: ignore[attr-defined]
    assert end["provider"] == "gcp.vertex_ai"


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/invoke-with-response-stream"):
        body = eventstream_bytes(
            [
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": "claude-sonnet-5-5",
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 3, "output_tokens": 1},
                    },
                },
                {"type": "message_stop"},
            ]
        )
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        return httpx.Response(200, headers=headers, content=body)
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    return httpx.Response(200, json=message)


CLOUD_HOSTS: dict[str, tuple[Any, dict[str, Any], str]] = {
    "bedrock": (
        tms.AsyncAnthropicBedrock,
        {"api_key": "k", "aws_region": "eu-west-3"},
        "bedrock-runtime.eu-west-3.amazonaws.com",
    ),
    "vertex-regional": (
        tms.AsyncAnthropicVertex,
        {"region": "us-east5", "project_id": "p", "access_token": "t"},
        "us-east5-aiplatform.googleapis.com",
    ),
    "vertex-global": (
        tms.AsyncAnthropicVertex,
        {"region": "global", "project_id": "p", "access_token": "t"},
        "aiplatform.googleapis.com",
    ),
    "foundry": (
        tms.AsyncAnthropicFoundry,
        {"resource": "my-resource", "api_key": "k"},
        "my-resource.services.ai.azure.com",
    ),
}


@pytest.mark.parametrize("case", sorted(CLOUD_HOSTS))
async def test_server_address_is_the_clouds_host(telemetry: Telemetry, case: str) -> None:
    cls, kwargs, host = CLOUD_HOSTS[case]
    async with cls(**kwargs, transport=httpx.MockTransport(_answer)) as client:
        await client.messages.create(**PARAMS)
    [span] = telemetry.finished()
    attributes = dict(span.attributes or {})
    assert attributes["server.address"] == host
    assert "server.port" not in attributes  # the scheme's default
    assert attributes["gen_ai.provider.name"] == PROVIDERS[case.split("-")[0]]
