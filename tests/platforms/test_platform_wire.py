"""Each platform client sends what the official SDK sends (method, URL, headers, body).

The SDK's requests were captured over a mock transport (``sdk_capture.py``, stored in
``tests/fixtures/platforms/sdk_requests.json``); here the same calls go through our
async and sync clients over ``httpx.MockTransport`` and the requests are compared after
the same normalization (the SigV4 date and signature, and secrets, masked). Where the
two differ by design the difference is named in ``DIFFERENCES``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_capture import OUT as FIXTURE
from sdk_capture import normalize_headers

import trio_msgstream as tms

CASES: list[dict[str, Any]] = json.loads(Path(FIXTURE).read_text(encoding="utf-8"))["cases"]
ERROR = json.dumps(
    {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}
).encode()

DIFFERENCES = {
    # A stream asks for an unencoded body (an event stream gains little from
    # compression, and each event should arrive as soon as it is sent)...
    "accept-encoding",
    # ... and asks caches not to store it (as every stream of the first-party client).
    "cache-control",
}
CASE_DIFFERENCES = {
    # Foundry serves the first-party API: a stream asks for what it is, an event stream
    # (the official SDK asks every request for application/json).
    "foundry_stream": {"accept"},
}


def _args(case: dict[str, Any]) -> dict[str, Any]:
    args = dict(case["args"])
    if "azure_ad_token_provider" in args:
        token = args["azure_ad_token_provider"]
        args["azure_ad_token_provider"] = lambda: token
    return args


def _comparable(request: dict[str, Any], case: str) -> dict[str, Any]:
    ignored = DIFFERENCES | CASE_DIFFERENCES.get(case, set())
    headers = {k: v for k, v in request["headers"].items() if k not in ignored}
    signed = re.search(r"SignedHeaders=([^,]+)", headers.get("authorization", ""))
    if signed is not None:
        kept = [h for h in signed.group(1).split(";") if h not in DIFFERENCES]
        headers["authorization"] = headers["authorization"].replace(signed.group(1), ";".join(kept))
    return {**request, "headers": headers}


def _record(request: httpx.Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": str(request.url),
        "headers": normalize_headers(dict(request.headers)),
        "body": json.loads(request.content),
    }


def _target(client: Any, call: str) -> Any:
    for part in call.split("."):
        client = getattr(client, part)
    return client


@pytest.fixture(autouse=True)
def _no_platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "AWS_", "CLOUD_ML_")):
            monkeypatch.delenv(key)


CLIENTS = {
    "bedrock": (tms.AsyncAnthropicBedrock, tms.AnthropicBedrock),
    "vertex": (tms.AsyncAnthropicVertex, tms.AnthropicVertex),
    "foundry": (tms.AsyncAnthropicFoundry, tms.AnthropicFoundry),
}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_the_async_client_sends_what_the_sdk_sends(case: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []

    async def body() -> AsyncIterator[bytes]:
        yield ERROR

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, headers={"content-type": "application/json"}, content=body())

    cls = CLIENTS[case["client"]][0]
    client: Any = cls(transport=httpx.MockTransport(handler), max_retries=0, **_args(case))
    with pytest.raises(tms.BadRequestError):
        await _target(client, case["call"])(**case["kwargs"])
    [request] = seen
    name = case["name"]
    assert _comparable(_record(request), name) == _comparable(case["request"], name)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_sync_client_sends_what_the_sdk_sends(case: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []

    def body() -> Iterator[bytes]:
        yield ERROR

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, headers={"content-type": "application/json"}, content=body())

    cls = CLIENTS[case["client"]][1]
    client: Any = cls(transport=httpx.MockTransport(handler), max_retries=0, **_args(case))
    with pytest.raises(tms.BadRequestError):
        _target(client, case["call"])(**case["kwargs"])
    [request] = seen
    name = case["name"]
    assert _comparable(_record(request), name) == _comparable(case["request"], name)


def test_the_fixture_is_what_the_installed_sdk_sends() -> None:
    pytest.importorskip("anthropic")
    from sdk_capture import capture

    captured = capture()
    assert [case["name"] for case in captured] == [case["name"] for case in CASES]
    for got, want in zip(captured, CASES, strict=True):
        for part in ("method", "url", "headers", "body"):
            assert got["request"].get(part) == want["request"].get(part), (got["name"], part)
        assert got == want, got["name"]
