"""Demo helpers: the real API when ``ANTHROPIC_API_KEY`` is set, the embedded server otherwise.

Used by ``python -m trio_msgstream`` and the examples, so that every demo runs on a
fresh machine without a key (and says so on stderr) and against the real API with one.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import trio

from .._httpx.async_client import AsyncClient
from .._sync.client import Client
from ._scripts import ScriptedResponse, default_responder
from ._server import FakeAnthropicServer, RecordedRequest, Responder, serve_fake_anthropic
from ._thread import fake_anthropic_in_thread

__all__ = ["demo_client", "has_api_key", "open_demo_client", "use_embedded_server_unless_key"]


def has_api_key() -> bool:
    """Whether ``ANTHROPIC_API_KEY`` is set (to something non-empty)."""
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def _announce(base_url: str) -> None:
    print(
        f"trio_msgstream: ANTHROPIC_API_KEY is not set; using the embedded local server "
        f"at {base_url} (deterministic demo answers)",
        file=sys.stderr,
        flush=True,
    )


def _paced_responder(pace: float) -> Responder | None:
    if pace <= 0:
        return None

    def respond(request: RecordedRequest) -> ScriptedResponse:
        return dataclasses.replace(default_responder(request), chunk_delay=pace)

    return respond


@asynccontextmanager
async def open_demo_client(*, pace: float = 0.0, **kwargs: Any) -> AsyncIterator[AsyncClient]:
    """An :class:`~trio_msgstream.AsyncClient` for demos.

    With ``ANTHROPIC_API_KEY`` set, a plain ``AsyncClient(**kwargs)`` (the real API).
    Otherwise the fake server runs in this Trio run, for the duration of the block, and
    the client points at it; a note says so on stderr.

    Args:
        pace: Seconds the embedded server waits between network chunks, so that a
            demo stream takes time like a real one (ignored with a key).
        **kwargs: Passed to :class:`~trio_msgstream.AsyncClient`.

    Yields:
        The client (closed on exit).
    """
    if has_api_key():
        async with AsyncClient(**kwargs) as client:
            yield client
        return
    async with trio.open_nursery() as nursery:
        server: FakeAnthropicServer = await nursery.start(
            functools.partial(serve_fake_anthropic, responder=_paced_responder(pace))
        )
        _announce(server.base_url)
        try:
            async with AsyncClient(**{"base_url": server.base_url, **kwargs}) as client:
                yield client
        finally:
            nursery.cancel_scope.cancel()


@contextmanager
def demo_client(*, pace: float = 0.0, **kwargs: Any) -> Iterator[Client]:
    """The synchronous counterpart of :func:`open_demo_client`: a :class:`~trio_msgstream.Client`.

    Without a key the fake server runs in a background thread for the duration of the
    block.

    Args:
        pace: Seconds the embedded server waits between network chunks.
        **kwargs: Passed to :class:`~trio_msgstream.Client`.

    Yields:
        The client (closed on exit).
    """
    if has_api_key():
        with Client(**kwargs) as client:
            yield client
        return
    with fake_anthropic_in_thread(responder=_paced_responder(pace)) as server:
        _announce(server.base_url)
        with Client(**{"base_url": server.base_url, **kwargs}) as client:
            yield client


def use_embedded_server_unless_key() -> str | None:
    """Without ``ANTHROPIC_API_KEY``, start the fake server and set ``ANTHROPIC_BASE_URL``.

    For scripts written like the official SDK's examples, which build their client at
    import time (``client = AsyncAnthropic()``): call this first and the unchanged
    client line picks the embedded server up from the environment. The server runs in
    a daemon thread until the process exits. With a key set it does nothing.

    Returns:
        The embedded server's base URL, or ``None`` when a key is set.
    """
    if has_api_key():
        return None
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            state["server"] = await nursery.start(serve_fake_anthropic)
            ready.set()

    def run() -> None:
        try:
            trio.run(serve)
        except BaseException as exc:  # pragma: no cover - reported below
            state["error"] = exc
        finally:
            ready.set()

    threading.Thread(target=run, name="trio_msgstream-demo-server", daemon=True).start()
    ready.wait()
    if "error" in state:
        raise state["error"]
    base_url: str = state["server"].base_url
    os.environ["ANTHROPIC_BASE_URL"] = base_url
    _announce(base_url)
    return base_url
