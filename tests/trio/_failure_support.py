"""Shared helpers of the failure-semantics tests (issue 3): a client on the fake server,
a handler class that records its callbacks, and small assertions."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from _shared import API_KEY
from _shared import PARAMS as PARAMS  # re-exported: older test modules import it here

import trio_msgstream as tms
from trio_msgstream.testing import FakeAnthropicServer, open_fake_anthropic


@asynccontextmanager
async def fake_client(
    *, max_retries: int = 0, timeout: Any = tms.NOT_GIVEN
) -> AsyncIterator[tuple[FakeAnthropicServer, tms.AsyncClient]]:
    """A fake server and a client pointed at it (closed on the way out)."""
    async with open_fake_anthropic() as server:
        client = tms.AsyncClient(
            base_url=server.base_url, api_key=API_KEY, max_retries=max_retries, timeout=timeout
        )
        async with client:
            yield server, client


class Recorder(tms.MessageStream):
    """Records the lifecycle callbacks, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []
        self.texts: list[str] = []
        self.exceptions: list[BaseException] = []

    async def on_text(self, text: str, snapshot: str) -> None:
        self.texts.append(text)

    async def on_exception(self, exception: Exception) -> None:
        self.calls.append(f"on_exception:{type(exception).__name__}")
        self.exceptions.append(exception)

    async def on_timeout(self) -> None:
        self.calls.append("on_timeout")

    async def on_end(self) -> None:
        self.calls.append("on_end")


def message_text(message: tms.Message | None) -> str:
    if message is None:
        return ""
    return "".join(b.text for b in message.content if isinstance(b, tms.TextBlock))


def pool_connections(client: tms.AsyncClient) -> list[Any]:
    """The httpx pool's connections (private API; used only to cross-check the server)."""
    return list(client.http_client._transport._pool.connections)  # type: ignore[attr-defined]


def busy_connections(client: tms.AsyncClient) -> int:
    """Connections of the pool that are still carrying a request."""
    return sum(1 for c in pool_connections(client) if not c.is_idle() and not c.is_closed())


async def wait_server_idle(server: FakeAnthropicServer, seconds: float = 2.0) -> None:
    """Wait until the server is answering no request (the client let go of the response)."""
    with trio.fail_after(seconds):
        while server.active_requests:  # noqa: ASYNC110 - polling a plain counter
            await trio.sleep(0.001)


def collect_resource_warnings() -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
        gc.collect()
    return [w for w in caught if issubclass(w.category, ResourceWarning)]
