"""The platform clients' settings and credentials: arguments and environment as the
official SDK reads them, lookups off the event loop, caching and refresh, token
providers, endpoints a platform lacks, and secrets kept out of sight."""

from __future__ import annotations

import contextlib
import datetime
import functools
import os
import pickle
import sys
import threading
from typing import Any

import httpx
import pytest
import trio
import trio.lowlevel
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream._core.platforms.bedrock import AwsCredentialChain
from trio_msgstream.errors import CredentialsError, UnsupportedEndpointError
from trio_msgstream.testing import (
    FakeAnthropicServer,
    FakeBedrock,
    FakeFoundry,
    FakeVertex,
    fake_anthropic_in_thread,
    text_response,
)

BEDROCK = {**PARAMS, "model": "anthropic.claude-sonnet-5-5-v1:0"}


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "AWS_", "CLOUD_ML_", "GOOGLE_")):
            monkeypatch.delenv(key)
    # No developer's ~/.aws files either: botocore reads these paths.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# -- arguments and environment -------------------------------------------------------


def test_bedrock_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "env-bedrock-key")
    client = tms.AnthropicBedrock()
    assert client.base_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert client.api_key == "env-bedrock-key"
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", "https://gateway.example/bedrock/")
    assert tms.AsyncAnthropicBedrock().base_url == "https://gateway.example/bedrock"
    with pytest.raises(ValueError, match="not both"):
        tms.AnthropicBedrock(aws_access_key="AKID", aws_secret_key="s")  # key from the env
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ValueError, match="no AWS region"):
        tms.AnthropicBedrock()


def test_bedrock_region_from_the_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile work]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    client = tms.AnthropicBedrock(aws_profile="work")
    assert client.aws_region == "ap-south-1"


def test_vertex_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="CLOUD_ML_REGION"):
        tms.AnthropicVertex(access_token="t")
    monkeypatch.setenv("CLOUD_ML_REGION", "europe-west4")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "env-project")
    client = tms.AsyncAnthropicVertex(access_token="t")
    assert client.base_url == "https://europe-west4-aiplatform.googleapis.com/v1"
    assert (client.region, client.project_id) == ("europe-west4", "env-project")
    expected = {
        "global": "https://aiplatform.googleapis.com/v1",
        "us": "https://aiplatform.us.rep.googleapis.com/v1",
        "eu": "https://aiplatform.eu.rep.googleapis.com/v1",
    }
    for region, url in expected.items():
        assert tms.AnthropicVertex(region=region, access_token="t").base_url == url
    monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", "https://vertex.example/v1")
    assert tms.AnthropicVertex(access_token="t").base_url == "https://vertex.example/v1"
    with pytest.raises(ValueError, match="non-empty"):
        tms.AnthropicVertex(region="", access_token="t")


def test_foundry_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError, match="ANTHROPIC_FOUNDRY_API_KEY"):
        tms.AnthropicFoundry(resource="r")
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", "env-foundry-key")
    with pytest.raises(ValueError, match="resource"):
        tms.AnthropicFoundry()
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_RESOURCE", "env-resource")
    client = tms.AnthropicFoundry()
    assert client.base_url == "https://env-resource.services.ai.azure.com/anthropic"
    assert client.api_key == "env-foundry-key"
    with pytest.raises(ValueError, match="mutually exclusive"):
        tms.AnthropicFoundry(resource="a", base_url="https://b.example/anthropic")
    monkeypatch.delenv("ANTHROPIC_FOUNDRY_RESOURCE")
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_BASE_URL", "https://f.example/anthropic/")
    assert tms.AsyncAnthropicFoundry().base_url == "https://f.example/anthropic"


async def test_the_first_party_key_is_never_sent_to_a_platform(
    server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-first-party-secret")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "first-party-token")
    fake = FakeFoundry(server)
    async with tms.AsyncAnthropicFoundry(
        base_url=fake.base_url, azure_ad_token_provider=lambda: "fake-entra-token"
    ) as client:
        await client.messages.create(**PARAMS)
    sent = server.requests[0].headers
    assert all("first-party" not in value for _, value in sent)
    assert ("authorization", "Bearer fake-entra-token") in sent
    assert client.auth_token is None


def test_with_options_keeps_the_platform() -> None:
    client = tms.AnthropicBedrock(aws_region="us-west-2", api_key="k", max_retries=1)
    other = client.with_options(max_retries=5, timeout=3.0)
    assert isinstance(other, tms.AnthropicBedrock)
    assert (other.aws_region, other.api_key, other.max_retries) == ("us-west-2", "k", 5)
    assert other.http_client is client.http_client
    vertex = tms.AsyncAnthropicVertex(region="us", project_id="p", access_token="t")
    assert vertex.with_options(max_retries=0).project_id == "p"
    with pytest.raises(TypeError, match="unexpected client option"):
        client.with_options(region="x")  # type: ignore[call-arg]


# -- endpoints a platform lacks: refused before anything is sent ---------------------


@pytest.mark.parametrize("platform", ["bedrock", "vertex", "foundry"])
async def test_unsupported_endpoints_raise_before_sending(
    server: FakeAnthropicServer, platform: str
) -> None:
    clients: dict[str, Any] = {
        "bedrock": lambda: tms.AsyncAnthropicBedrock(**FakeBedrock(server).client_kwargs()),
        "vertex": lambda: tms.AsyncAnthropicVertex(**FakeVertex(server).client_kwargs()),
        "foundry": lambda: tms.AsyncAnthropicFoundry(**FakeFoundry(server).client_kwargs()),
    }
    async with clients[platform]() as client:
        calls = [
            lambda: client.messages.batches.create(requests=[{"custom_id": "a", "params": PARAMS}]),
            lambda: client.messages.batches.list().first_page(),
            lambda: client.beta.messages.batches.retrieve("msgbatch_1"),
            lambda: client.models.list().first_page(),
            lambda: client.models.retrieve("claude-sonnet-5-5"),
        ]
        if platform == "bedrock":
            calls.append(lambda: client.messages.count_tokens(model="m", messages=[]))
        for call in calls:
            with pytest.raises(UnsupportedEndpointError) as info:
                await call()
            assert info.value.platform == platform
    assert server.requests == []


def test_unsupported_endpoints_raise_before_sending_in_the_sync_client() -> None:
    transport = httpx.MockTransport(lambda r: pytest.fail("nothing may be sent"))
    client = tms.AnthropicBedrock(aws_region="us-east-1", api_key="k", transport=transport)
    with pytest.raises(UnsupportedEndpointError, match="Token counting"):
        client.messages.count_tokens(model="m", messages=[])
    with pytest.raises(UnsupportedEndpointError, match="Batches"):
        client.messages.batches.list().first_page()
    foundry = tms.AnthropicFoundry(resource="r", api_key="k", transport=transport)
    with pytest.raises(UnsupportedEndpointError, match="Models"):
        foundry.models.retrieve("m")


# -- AWS credentials: looked up off the event loop, cached, refreshed --------------------


async def test_the_aws_chain_is_resolved_in_a_worker_thread_and_cached(
    server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBedrock(server, access_key="AKIDFROMENV", secret_key="env-secret")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    threads: list[bool] = []

    original = AwsCredentialChain.resolve

    def spy(self: AwsCredentialChain) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return original(self)

    monkeypatch.setattr(AwsCredentialChain, "resolve", spy)
    async with tms.AsyncAnthropicBedrock(base_url=fake.base_url, aws_region="us-east-1") as client:
        await client.messages.create(**BEDROCK)
        await client.messages.create(**BEDROCK)
    assert threads == [False]  # once, and not on the event loop's thread
    assert fake.rejections == []


async def test_a_blocking_lookup_does_not_block_the_event_loop(
    server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBedrock(server)
    release = threading.Event()
    original = AwsCredentialChain.resolve

    def slow(self: AwsCredentialChain) -> Any:
        assert release.wait(10)  # an instance metadata call, say
        return original(self)

    monkeypatch.setattr(AwsCredentialChain, "resolve", slow)
    monkeypatch.setattr(AwsCredentialChain, "cached", lambda self: None)
    ticks = 0
    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs()) as client:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(client.messages.create, **BEDROCK))
            while ticks < 20:  # the loop keeps running while the lookup blocks
                await trio.sleep(0.001)
                ticks += 1
            release.set()
    assert len(server.requests) == 1


async def test_cancelling_a_request_waiting_for_credentials_returns_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release, finished = threading.Event(), threading.Event()

    def hang(self: AwsCredentialChain) -> None:
        release.wait(10)  # a metadata server that does not answer
        finished.set()

    monkeypatch.setattr(AwsCredentialChain, "cached", lambda self: None)
    monkeypatch.setattr(AwsCredentialChain, "resolve", hang)
    async with tms.AsyncAnthropicBedrock(
        aws_region="us-east-1", aws_access_key="A", aws_secret_key="s"
    ) as client:
        with trio.move_on_after(0.05) as scope:
            await client.messages.create(**BEDROCK)
    assert scope.cancelled_caught
    assert not finished.is_set()  # the request did not wait for the lookup
    release.set()
    assert finished.wait(10)


def test_temporary_credentials_are_refreshed_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.credentials import RefreshableCredentials

    calls: list[int] = []
    expiry = [datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)]

    def metadata() -> dict[str, str]:
        calls.append(1)
        return {
            "access_key": "AKIDTRIOFAKE",
            "secret_key": "fake-secret-key",
            "token": f"token-{len(calls)}",
            "expiry_time": expiry[0].isoformat(),
        }

    with contextlib.ExitStack() as stack:
        server = stack.enter_context(fake_anthropic_in_thread())
        fake = FakeBedrock(server)
        fake.keys["AKIDTRIOFAKE"] = type(fake.keys["AKIDTRIOFAKE"])("fake-secret-key")
        client = tms.AnthropicBedrock(base_url=fake.base_url, aws_region="us-east-1")
        stack.enter_context(client)
        chain = client.platform.aws  # type: ignore[attr-defined]
        chain._credentials = RefreshableCredentials.create_from_metadata(
            metadata(), refresh_using=metadata, method="test"
        )
        client.messages.create(**BEDROCK)
        assert len(calls) == 1  # fresh: no lookup
        expiry[0] = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
        chain._credentials = RefreshableCredentials.create_from_metadata(
            metadata(), refresh_using=metadata, method="test"
        )
        client.messages.create(**BEDROCK)  # due within the advisory window: refreshed
        assert len(calls) == 3
        tokens = [r.header("x-amz-security-token") for r in server.requests]
        assert tokens == ["token-1", "token-3"]
        assert fake.rejections == []


def test_no_aws_credentials_is_a_clear_error() -> None:
    with tms.AnthropicBedrock(aws_region="us-east-1", max_retries=0) as client:
        with pytest.raises(CredentialsError, match="no AWS credentials found"):
            client.messages.create(**BEDROCK)


def test_sigv4_without_botocore_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "botocore" or m.startswith("botocore.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "botocore", None)  # type: ignore[arg-type]
    with pytest.raises(tms.MsgStreamError, match=r"trio_msgstream\[bedrock\]"):
        tms.AnthropicBedrock(aws_region="us-east-1", aws_access_key="A", aws_secret_key="s")
    tms.AnthropicBedrock(aws_region="us-east-1", api_key="k")  # an API key needs none


# -- Vertex AI: access tokens and google-auth credentials ------------------------------


class FakeGoogleCredentials:
    """google-auth credentials: a token that expires, refreshed by ``refresh``."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.expired = False
        self.refreshed_on: list[bool] = []

    def refresh(self, request: Any) -> None:
        self.refreshed_on.append(threading.current_thread() is threading.main_thread())
        self.token = f"refreshed-{len(self.refreshed_on)}"
        self.expired = False


async def test_vertex_credentials_are_refreshed_off_the_loop_when_expired(
    server: FakeAnthropicServer,
) -> None:
    fake = FakeVertex(server)
    fake.access_tokens |= {"refreshed-1", "refreshed-2"}
    credentials = FakeGoogleCredentials()
    kwargs = {**fake.client_kwargs(), "access_token": None, "credentials": credentials}
    async with tms.AsyncAnthropicVertex(**kwargs) as client:
        await client.messages.create(**PARAMS)  # no token yet: refreshed
        await client.messages.create(**PARAMS)  # still valid: not refreshed
        credentials.expired = True
        await client.messages.create(**PARAMS)  # expired: refreshed again
    assert credentials.refreshed_on == [False, False]
    sent = [r.header("authorization") for r in server.requests]
    assert sent == ["Bearer refreshed-1", "Bearer refreshed-1", "Bearer refreshed-2"]
    assert fake.rejections == []


def test_vertex_default_credentials_name_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth

    credentials = FakeGoogleCredentials()
    monkeypatch.setattr(google.auth, "default", lambda scopes: (credentials, "adc-project"))
    with fake_anthropic_in_thread() as server:
        fake = FakeVertex(server, project="adc-project", access_token="refreshed-1")
        with tms.AnthropicVertex(region=fake.region, base_url=fake.base_url) as client:
            assert client.project_id is None
            client.messages.create(**PARAMS)
            assert client.project_id == "adc-project"
        assert fake.rejections == []
        assert "/projects/adc-project/" in server.requests[0].path


def test_vertex_without_a_project_is_a_clear_error() -> None:
    with tms.AnthropicVertex(region="us-east5", access_token="t", max_retries=0) as client:
        with pytest.raises(tms.MsgStreamError, match="ANTHROPIC_VERTEX_PROJECT_ID"):
            client.messages.create(**PARAMS)


async def test_caller_set_authorization_wins_on_vertex(server: FakeAnthropicServer) -> None:
    fake = FakeVertex(server)
    kwargs = {**fake.client_kwargs(), "access_token": "unused"}
    headers = {"authorization": f"Bearer {fake.access_token}"}
    async with tms.AsyncAnthropicVertex(**kwargs, default_headers=headers) as client:
        await client.messages.create(**PARAMS)
    assert fake.rejections == []


# -- Foundry: an Entra ID token provider, sync or async, called per request ------------


async def test_foundry_token_providers_are_called_per_request(
    server: FakeAnthropicServer,
) -> None:
    fake = FakeFoundry(server, entra_tokens=["sync-1", "sync-2", "async-1", "async-2"])
    sync_calls: list[bool] = []

    def sync_provider() -> str:
        sync_calls.append(threading.current_thread() is threading.main_thread())
        return f"sync-{len(sync_calls)}"

    async_calls: list[int] = []

    async def async_provider() -> str:
        await trio.lowlevel.checkpoint()
        async_calls.append(1)
        return f"async-{len(async_calls)}"

    for provider in (sync_provider, async_provider):
        async with tms.AsyncAnthropicFoundry(
            base_url=fake.base_url, azure_ad_token_provider=provider
        ) as client:
            await client.messages.create(**PARAMS)
            await client.messages.create(**PARAMS)
    assert sync_calls == [False, False]  # a plain provider runs in a worker thread
    assert len(async_calls) == 2
    sent = [r.header("authorization") for r in server.requests]
    assert sent == ["Bearer sync-1", "Bearer sync-2", "Bearer async-1", "Bearer async-2"]
    assert fake.rejections == []


def test_the_sync_foundry_client_takes_a_plain_provider_only() -> None:
    with fake_anthropic_in_thread() as server:
        fake = FakeFoundry(server)
        with tms.AnthropicFoundry(
            base_url=fake.base_url, azure_ad_token_provider=lambda: "fake-entra-token"
        ) as client:
            client.messages.create(**PARAMS)
        assert fake.rejections == []

        async def provider() -> str:
            return "fake-entra-token"

        refusing = tms.AnthropicFoundry(base_url=fake.base_url, azure_ad_token_provider=provider)
        with pytest.raises(CredentialsError, match="async token provider"):
            refusing.messages.create(**PARAMS)
        bad = tms.AnthropicFoundry(base_url=fake.base_url, azure_ad_token_provider=lambda: "")
        with pytest.raises(CredentialsError, match="non-empty string"):
            bad.messages.create(**PARAMS)


# -- secrets ---------------------------------------------------------------------------


async def test_secrets_stay_out_of_reprs_errors_and_pickles(server: FakeAnthropicServer) -> None:
    fake = FakeBedrock(server, session_token="session-secret")
    server.enqueue(text_response("x"))
    client = tms.AsyncAnthropicBedrock(**fake.client_kwargs())
    for text in (repr(client), repr(client.platform), repr(client.platform.settings)):  # type: ignore[attr-defined]
        assert "fake-secret-key" not in text
        assert "session-secret" not in text
    with pytest.raises(TypeError):
        pickle.dumps(client)
    bad = tms.AsyncAnthropicBedrock(**{**fake.client_kwargs(), "aws_secret_key": "wrong-secret"})
    async with bad:
        with pytest.raises(tms.PermissionDeniedError) as info:
            await bad.messages.create(**BEDROCK, max_retries=0)
    dumped = pickle.dumps(info.value)
    assert b"wrong-secret" not in dumped
    assert b"session-secret" not in dumped
    assert "session-secret" not in repr(info.value.request.headers)
    foundry = FakeFoundry(server, api_key="foundry-secret")
    wrong = tms.AsyncAnthropicFoundry(base_url=foundry.base_url, api_key="foundry-secret-wrong")
    async with wrong:
        with pytest.raises(tms.AuthenticationError) as auth:
            await wrong.messages.create(**PARAMS, max_retries=0)
    assert "foundry-secret-wrong" not in repr(auth.value.request.headers)
    await client.aclose()
