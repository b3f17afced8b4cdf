"""``trio-msgstream --platform bedrock|vertex|foundry``: the CLI over a cloud platform."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from _cli_support import run_cli

from trio_msgstream.testing import (
    FakeBedrock,
    FakeFoundry,
    FakeVertex,
    fake_anthropic_in_thread,
    text_response,
)


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("AWS_", "CLOUD_ML_", "GOOGLE_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_bedrock_from_the_command_line() -> None:
    with fake_anthropic_in_thread() as server:
        fake = FakeBedrock(server, region="eu-west-3")
        server.enqueue(text_response("Bonjour from Bedrock"))
        result = run_cli(
            "--platform", "bedrock", "--region", "eu-west-3", "--base-url", fake.base_url,
            "--model", "anthropic.claude-sonnet-5-5-v1:0", "hi",
            AWS_ACCESS_KEY_ID=fake.access_key,
            AWS_SECRET_ACCESS_KEY="fake-secret-key",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Bonjour from Bedrock"
        assert fake.rejections == []
        assert server.requests[0].path.startswith("/model/anthropic.claude-sonnet-5-5-v1:0/")


class _AdcCredentials:
    """Application Default Credentials as google-auth loads them (a token to refresh)."""

    token: str | None = None
    expired = False

    def refresh(self, request: Any) -> None:
        self.token = "fake-vertex-token"


def test_vertex_and_foundry_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth

    monkeypatch.setattr(google.auth, "default", lambda scopes: (_AdcCredentials(), None))
    with fake_anthropic_in_thread() as server:
        vertex, foundry = FakeVertex(server, region="us-east5"), FakeFoundry(server)
        server.enqueue(text_response("from vertex"), text_response("from foundry"))
        result = run_cli(
            "--platform", "vertex", "--region", "us-east5", "--project", vertex.project,
            "--base-url", vertex.base_url, "hi",
            ANTHROPIC_VERTEX_PROJECT_ID="ignored-the-flag-wins",
        )  # fmt: skip
        assert (result.returncode, result.stdout.strip()) == (0, "from vertex"), result.stderr
        result = run_cli(
            "--platform", "foundry", "--base-url", foundry.base_url, "--json", "hi",
            ANTHROPIC_FOUNDRY_API_KEY=foundry.api_key,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert '"text_delta"' in result.stdout
        assert vertex.rejections == foundry.rejections == []


def _access_token_only(**env: Any) -> dict[str, str]:
    return {"ANTHROPIC_VERTEX_PROJECT_ID": "p", **env}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--region", "us-east-1", "hi"], {}, "--region only applies"),
        (["--platform", "bedrock", "--project", "p", "hi"], {}, "--project only applies"),
        (["--platform", "vertex", "--resource", "r", "hi"], {}, "--resource only applies"),
        (["--platform", "bedrock", "hi"], {}, "no AWS region"),
        (["--platform", "vertex", "hi"], _access_token_only(), "CLOUD_ML_REGION"),
        (["--platform", "foundry", "--resource", "r", "hi"], {}, "ANTHROPIC_FOUNDRY_API_KEY"),
        (["--platform", "azure", "hi"], {}, "invalid choice"),
    ],
)
def test_platform_usage_errors(args: list[str], env: dict[str, str], message: str) -> None:
    result = run_cli(*args, **env)
    assert result.returncode == 2
    assert message in result.stderr
