"""Fixtures of the contract suite: every test runs once per client (``driver``) and
platform (the first-party API, Bedrock, Vertex AI, Foundry: their fake endpoints on the
same server). The sync client runs on real time, so it is run against the first-party
API and Bedrock (the platform with a wire format of its own); Vertex AI and Foundry
stream Server-Sent Events as the first-party API does, and are run with the async
client only.

A contract test takes ``driver`` and ``clock``: the async client's run gets trio's
autojump ``MockClock`` (pytest-trio uses a ``Clock`` it finds among the test's
arguments); the sync client's run keeps the real clock, since its client waits in a
worker thread on real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio.testing
from _drivers import PLATFORMS, AsyncDriver, Driver, SyncDriver, add_platform_fake, make_api_client

from trio_msgstream.testing import open_fake_anthropic

VARIANTS = [
    *(f"async-{platform}" for platform in PLATFORMS),
    "sync-anthropic",
    "sync-bedrock",
]


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    """``{kind}-{platform}``: the client kind and the platform it speaks to."""
    return str(request.param)


@pytest.fixture
def kind(variant: str) -> str:
    return variant.split("-")[0]


@pytest.fixture
def platform(variant: str) -> str:
    """The first-party API or a cloud platform (its fake endpoints on the server)."""
    return variant.split("-")[1]


@pytest.fixture
def clock(kind: str) -> trio.testing.MockClock | None:
    """Virtual time with autojump for the async client, the real clock for the sync one."""
    return trio.testing.MockClock(autojump_threshold=0) if kind == "async" else None


@pytest.fixture
async def driver(kind: str, platform: str) -> AsyncIterator[Driver]:
    """The fake server and a driver of the ``kind`` client on it (``max_retries=0``),
    speaking to ``platform``'s endpoints."""
    async with open_fake_anthropic() as server:
        add_platform_fake(server, platform)
        client = make_api_client(kind, server.base_url, platform)
        made: Driver
        if kind == "async":
            async with client:
                made = AsyncDriver(server, client)
                made.platform = platform
                yield made
        else:
            with client:
                made = SyncDriver(server, client)
                made.platform = platform
                yield made
