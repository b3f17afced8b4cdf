"""Fixtures of the contract suite: every test runs once per client (``driver``).

A contract test takes ``driver`` and ``clock``: the async client's run gets trio's
autojump ``MockClock`` (pytest-trio uses a ``Clock`` it finds among the test's
arguments); the sync client's run keeps the real clock, since its client waits in a
worker thread on real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio.testing
from _drivers import AsyncDriver, Driver, SyncDriver, make_api_client

from trio_msgstream.testing import open_fake_anthropic


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock(kind: str) -> trio.testing.MockClock | None:
    """Virtual time with autojump for the async client, the real clock for the sync one."""
    return trio.testing.MockClock(autojump_threshold=0) if kind == "async" else None


@pytest.fixture
async def driver(kind: str) -> AsyncIterator[Driver]:
    """The fake server and a driver of the ``kind`` client on it (``max_retries=0``)."""
    async with open_fake_anthropic() as server:
        client = make_api_client(kind, server.base_url)
        if kind == "async":
            async with client:
                yield AsyncDriver(server, client)
        else:
            with client:
                yield SyncDriver(server, client)
