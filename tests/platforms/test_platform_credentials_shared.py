"""``with_options()`` (and ``copy()``) on Bedrock and Vertex AI clients share the
original's credential cache: the copy looks up nothing the original already has.

The credential sources count their lookups: botocore's chain (``get_credentials`` of a
botocore session) for Bedrock, Application Default Credentials (``google.auth.default``
and ``refresh``) for Vertex AI; on both clients.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    FakeBedrock,
    FakeVertex,
    fake_anthropic_in_thread,
)

BEDROCK = {**PARAMS, "model": "anthropic.claude-sonnet-5-5-v1:0"}


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "AWS_", "CLOUD_ML_", "GOOGLE_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """AWS's chain finds keys in the environment; each lookup is counted (its profile)."""
    from botocore.session import Session

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    lookups: list[str | None] = []
    original = Session.get_credentials

    def counting(self: Any) -> Any:
        lookups.append(self.profile)
        return original(self)

    monkeypatch.setattr(Session, "get_credentials", counting)
    return lookups


class CountingGoogleCredentials:
    """google-auth credentials whose refreshes are counted."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.expired = False
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = "adc-token"


@pytest.fixture
def adc(monkeypatch: pytest.MonkeyPatch) -> tuple[CountingGoogleCredentials, list[int]]:
    """Application Default Credentials (naming a project); each load is counted."""
    import google.auth

    credentials = CountingGoogleCredentials()
    loads: list[int] = []

    def default(scopes: Any) -> tuple[CountingGoogleCredentials, str]:
        loads.append(1)
        return credentials, "adc-project"

    monkeypatch.setattr(google.auth, "default", default)
    return credentials, loads


async def test_bedrock_with_options_shares_the_aws_chain(
    server: FakeAnthropicServer, aws_lookups: list[str | None]
) -> None:
    fake = FakeBedrock(server, access_key="AKIDFROMENV", secret_key="env-secret")
    async with tms.AsyncAnthropicBedrock(base_url=fake.base_url, aws_region="us-east-1") as client:
        await client.messages.create(**BEDROCK)
        other = client.with_options(max_retries=5, timeout=30.0)
        copied = client.copy(default_headers={"x-team": "a"})
        await other.messages.create(**BEDROCK)
        await copied.messages.create(**BEDROCK)
        assert other.platform.aws is copied.platform.aws is client.platform.aws  # type: ignore[attr-defined]
        # Another region signs differently but with the same credentials: shared.
        moved = client.with_options(aws_region="eu-west-1")
        assert moved.platform.aws is client.platform.aws  # type: ignore[attr-defined]
        # Other credentials are other credentials.
        keyed = client.with_options(aws_access_key="AKIDOTHER", aws_secret_key="other")
        profiled = client.with_options(aws_profile="elsewhere")
        assert keyed.platform.aws is not client.platform.aws  # type: ignore[attr-defined]
        assert profiled.platform.aws is not client.platform.aws  # type: ignore[attr-defined]
    assert aws_lookups == [None]  # one lookup for the three clients that sent
    assert fake.rejections == []


async def test_bedrock_with_options_before_the_first_lookup(
    server: FakeAnthropicServer, aws_lookups: list[str | None]
) -> None:
    # The copy is made first and resolves: the original then has the credentials too.
    fake = FakeBedrock(server, access_key="AKIDFROMENV", secret_key="env-secret")
    async with tms.AsyncAnthropicBedrock(base_url=fake.base_url, aws_region="us-east-1") as client:
        other = client.with_options(max_retries=0)
        await other.messages.create(**BEDROCK)
        await client.messages.create(**BEDROCK)
    assert aws_lookups == [None]


def test_sync_bedrock_with_options_shares_the_aws_chain(aws_lookups: list[str | None]) -> None:
    with fake_anthropic_in_thread() as server:
        fake = FakeBedrock(server, access_key="AKIDFROMENV", secret_key="env-secret")
        with tms.AnthropicBedrock(base_url=fake.base_url, aws_region="us-east-1") as client:
            client.messages.create(**BEDROCK)
            other = client.with_options(max_retries=1)
            other.messages.create(**BEDROCK)
            client.copy().messages.create(**BEDROCK)
        assert aws_lookups == [None]
        assert fake.rejections == []


async def test_vertex_with_options_shares_the_default_credentials(
    server: FakeAnthropicServer, adc: tuple[CountingGoogleCredentials, list[int]]
) -> None:
    credentials, loads = adc
    fake = FakeVertex(server, project="adc-project", access_token="adc-token")
    async with tms.AsyncAnthropicVertex(region=fake.region, base_url=fake.base_url) as client:
        await client.messages.create(**PARAMS)
        other = client.with_options(max_retries=5)
        assert other.project_id == "adc-project"  # the project the credentials named
        await other.messages.create(**PARAMS)
        await client.copy(timeout=20.0).messages.create(**PARAMS)
        given = client.with_options(credentials=CountingGoogleCredentials())
        assert given.platform.google is not client.platform.google  # type: ignore[attr-defined]
    assert (len(loads), credentials.refreshes) == (1, 1)
    assert fake.rejections == []
    assert all("/projects/adc-project/" in r.path for r in server.requests)


def test_sync_vertex_with_options_shares_the_default_credentials(
    adc: tuple[CountingGoogleCredentials, list[int]],
) -> None:
    credentials, loads = adc
    with fake_anthropic_in_thread() as server:
        fake = FakeVertex(server, project="adc-project", access_token="adc-token")
        with tms.AnthropicVertex(region=fake.region, base_url=fake.base_url) as client:
            client.messages.create(**PARAMS)
            client.with_options(max_retries=1).messages.create(**PARAMS)
        assert (len(loads), credentials.refreshes) == (1, 1)
        assert fake.rejections == []
