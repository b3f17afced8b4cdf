"""Regenerate ../fixtures/platforms/sdk_requests.json: the official SDK's platform requests.

Run from the repository root with the SDK installed (a test-only oracle)::

    python tests/platforms/sdk_capture.py

Each case calls one SDK client over a mock transport of the SDK's HTTP library that
records the request and answers 400 (so nothing is retried). Recorded: method, URL,
headers (the SDK's own ``x-stainless-*``, ``user-agent``, ``content-length`` and
``connection`` left out; secrets and the SigV4 date and signature masked) and the JSON
body. The SDK signs SigV4 through boto3; where boto3 is not installed, a stand-in
``boto3.Session`` over botocore (the same signer) is used.
"""

from __future__ import annotations

import json
import os
import re
import sys
import types
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "platforms" / "sdk_requests.json"
KW: dict[str, Any] = {"max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-7"

CASES: list[dict[str, Any]] = [
    {
        "name": "bedrock_create_sigv4",
        "client": "bedrock",
        "args": {
            "aws_access_key": "AKIDEXAMPLE",
            "aws_secret_key": "secret-key",
            "aws_session_token": "session-token",
            "aws_region": "us-east-1",
        },
        "call": "messages.create",
        "kwargs": {"model": "anthropic.claude-opus-4-7-v1:0", **KW},
    },
    {
        "name": "bedrock_stream_arn",
        "client": "bedrock",
        "args": {
            "aws_access_key": "AKIDEXAMPLE",
            "aws_secret_key": "secret-key",
            "aws_region": "us-east-1",
        },
        "call": "messages.create",
        "kwargs": {"model": ARN, "stream": True, **KW},
    },
    {
        "name": "bedrock_beta",
        "client": "bedrock",
        "args": {
            "aws_access_key": "AKIDEXAMPLE",
            "aws_secret_key": "secret-key",
            "aws_region": "us-east-1",
        },
        "call": "beta.messages.create",
        "kwargs": {
            "model": "anthropic.claude-opus-4-7-v1:0",
            "betas": ["beta-one", "beta-two"],
            **KW,
        },
    },
    {
        "name": "bedrock_api_key",
        "client": "bedrock",
        "args": {"api_key": "bedrock-api-key", "aws_region": "eu-west-1"},
        "call": "messages.create",
        "kwargs": {"model": "anthropic.claude-opus-4-7-v1:0", **KW},
    },
    {
        "name": "vertex_create",
        "client": "vertex",
        "args": {"region": "us-east5", "project_id": "my-project", "access_token": "ya29.token"},
        "call": "messages.create",
        "kwargs": {"model": "claude-opus-4-7@20260101", **KW},
    },
    {
        "name": "vertex_stream_global",
        "client": "vertex",
        "args": {"region": "global", "project_id": "my-project", "access_token": "ya29.token"},
        "call": "messages.create",
        "kwargs": {"model": "claude-opus-4-7", "stream": True, **KW},
    },
    {
        "name": "vertex_count_tokens_eu",
        "client": "vertex",
        "args": {"region": "eu", "project_id": "my-project", "access_token": "ya29.token"},
        "call": "messages.count_tokens",
        "kwargs": {"model": "claude-opus-4-7", "messages": KW["messages"]},
    },
    {
        "name": "vertex_beta_us",
        "client": "vertex",
        "args": {"region": "us", "project_id": "my-project", "access_token": "ya29.token"},
        "call": "beta.messages.create",
        "kwargs": {"model": "claude-opus-4-7", "betas": ["beta-one"], **KW},
    },
    {
        "name": "foundry_create",
        "client": "foundry",
        "args": {"resource": "my-resource", "api_key": "foundry-key"},
        "call": "messages.create",
        "kwargs": {"model": "claude-opus-4-7", **KW},
    },
    {
        "name": "foundry_stream",
        "client": "foundry",
        "args": {"resource": "my-resource", "api_key": "foundry-key"},
        "call": "messages.create",
        "kwargs": {"model": "claude-opus-4-7", "stream": True, **KW},
    },
    {
        "name": "foundry_count_tokens",
        "client": "foundry",
        "args": {"resource": "my-resource", "api_key": "foundry-key"},
        "call": "messages.count_tokens",
        "kwargs": {"model": "claude-opus-4-7", "messages": KW["messages"]},
    },
    {
        "name": "foundry_entra_beta",
        "client": "foundry",
        "args": {"resource": "my-resource", "azure_ad_token_provider": "entra-token"},
        "call": "beta.messages.create",
        "kwargs": {"model": "claude-opus-4-7", "betas": ["beta-one"], **KW},
    },
]

DROPPED = {"user-agent", "content-length", "connection", "traceparent", "tracestate"}
"""Headers that say nothing of the platform's wire format (the W3C trace context is
sent by the SDK whenever another test has set an OpenTelemetry tracer provider)."""
SECRET_VALUES = (
    "secret-key",
    "session-token",
    "bedrock-api-key",
    "ya29.token",
    "foundry-key",
    "entra-token",
)


def normalize_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as recorded: without transport detail, secrets and time masked."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        name = name.lower()
        if name in DROPPED or name.startswith("x-stainless-"):
            continue
        if name == "authorization" and value.startswith("AWS4-HMAC-SHA256"):
            value = re.sub(r"/\d{8}/", "/<date>/", value)
            value = re.sub(r"Signature=[0-9a-f]+", "Signature=<signature>", value)
            signed = re.search(r"SignedHeaders=([^,]+)", value)
            assert signed is not None
            kept = [h for h in signed.group(1).split(";") if not h.startswith("x-stainless-")]
            value = value.replace(signed.group(1), ";".join(kept))
        elif name == "x-amz-date":
            value = "<date>"
        for secret in SECRET_VALUES:
            value = value.replace(secret, "<" + secret + ">")
        out[name] = value
    return dict(sorted(out.items()))


def _boto3_stand_in() -> bool:
    """Install a stand-in for boto3 if it is missing; whether one was installed."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        import botocore.credentials
        import botocore.session

        class Session:
            def __init__(
                self,
                profile_name=None,
                region_name=None,
                aws_access_key_id=None,
                aws_secret_access_key=None,
                aws_session_token=None,
            ):
                self._session = botocore.session.Session(profile=profile_name)
                self.region_name = region_name
                self._credentials = (
                    botocore.credentials.Credentials(
                        aws_access_key_id, aws_secret_access_key, aws_session_token
                    )
                    if aws_access_key_id
                    else None
                )

            def get_credentials(self):
                return self._credentials or self._session.get_credentials()

        sys.modules["boto3"] = types.SimpleNamespace(Session=Session)  # type: ignore[assignment]
        return True
    return False


def capture() -> list[dict[str, Any]]:
    import anthropic
    import httpx2

    saved = {k: v for k, v in os.environ.items() if k.startswith(("ANTHROPIC_", "AWS_", "CLOUD_"))}
    for key in saved:
        del os.environ[key]
    stand_in = _boto3_stand_in()
    try:
        return _capture(anthropic, httpx2)
    finally:
        os.environ.update(saved)
        if stand_in:
            del sys.modules["boto3"]


def _capture(anthropic: Any, httpx2: Any) -> list[dict[str, Any]]:
    classes = {
        "bedrock": anthropic.AnthropicBedrock,
        "vertex": anthropic.AnthropicVertex,
        "foundry": anthropic.AnthropicFoundry,
    }
    records: list[dict[str, Any]] = []
    for case in CASES:
        seen: list[Any] = []

        def handler(request: Any, seen: list[Any] = seen) -> Any:
            seen.append(request)
            return httpx2.Response(
                400,
                json={"type": "error", "error": {"type": "invalid_request_error", "message": "x"}},
            )

        args = dict(case["args"])
        if "azure_ad_token_provider" in args:
            token = args["azure_ad_token_provider"]
            args["azure_ad_token_provider"] = lambda token=token: token
        with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
            client = classes[case["client"]](http_client=http, max_retries=0, **args)
            target: Any = client
            for part in case["call"].split("."):
                target = getattr(target, part)
            try:
                target(**case["kwargs"])
            except anthropic.BadRequestError:
                pass
        [request] = seen
        records.append(
            {
                "name": case["name"],
                "client": case["client"],
                "args": case["args"],
                "call": case["call"],
                "kwargs": case["kwargs"],
                "request": {
                    "method": request.method,
                    "url": str(request.url),
                    "headers": normalize_headers(dict(request.headers)),
                    "body": json.loads(request.content),
                },
            }
        )
    return records


if __name__ == "__main__":
    import anthropic

    data = {"sdk_version": anthropic.__version__, "cases": capture()}
    OUT.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(data['cases'])} cases to {OUT}")
