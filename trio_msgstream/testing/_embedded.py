"""Serve from the embedded fake server unless ``ANTHROPIC_API_KEY`` is set.

The one rule behind every demo entry point (the CLI, :func:`open_demo_client`,
:func:`demo_client`, :func:`use_embedded_server_unless_key` and so the examples): with
a key, or with a base URL chosen by the user, talk to that API; otherwise start the
fake server, say so on stderr, and point the client at it. The server runs in the
caller's Trio run (:func:`open_embedded_server_unless_key`) or in a thread of its own
(:func:`embedded_server_unless_key`, for synchronous code).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from ._background import open_service
from ._model import default_responder
from ._responses import ScriptedResponse
from ._routes import RecordedRequest
from ._server import FakeAnthropicServer, Responder, serve_fake_anthropic
from ._thread import fake_anthropic_in_thread, start_server_thread

__all__ = [
    "embedded_server_unless_key",
    "has_api_key",
    "open_embedded_server_unless_key",
    "use_embedded_server_unless_key",
]


def has_api_key() -> bool:
    """Whether ``ANTHROPIC_API_KEY`` is set (to something non-empty)."""
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def _announce(base_url: str) -> None:
    print(
        f"trio-msgstream: ANTHROPIC_API_KEY is not set; using the embedded local server "
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
async def open_embedded_server_unless_key(
    *, base_url: str | None = None, pace: float = 0.0
) -> AsyncIterator[str | None]:
    """The base URL a demo client should use, with the embedded server running if needed.

    Args:
        base_url: A URL the user chose: used as is, no server.
        pace: Seconds the embedded server waits between network chunks.

    Yields:
        ``base_url`` when given; ``None`` (the client's default, the real API) when
        ``ANTHROPIC_API_KEY`` is set; otherwise the URL of the fake server, which runs
        in this Trio run for the duration of the block.
    """
    if base_url or has_api_key():
        yield base_url or None
        return
    start = functools.partial(serve_fake_anthropic, responder=_paced_responder(pace))
    async with open_service(start) as server:
        assert isinstance(server, FakeAnthropicServer)
        _announce(server.base_url)
        yield server.base_url


@contextmanager
def embedded_server_unless_key(*, pace: float = 0.0) -> Iterator[str | None]:
    """:func:`open_embedded_server_unless_key` for synchronous code: the server runs in
    a background thread for the duration of the block."""
    if has_api_key():
        yield None
        return
    with fake_anthropic_in_thread(responder=_paced_responder(pace)) as server:
        _announce(server.base_url)
        yield server.base_url


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
    base_url = start_server_thread(daemon=True).server.base_url
    os.environ["ANTHROPIC_BASE_URL"] = base_url
    _announce(base_url)
    return base_url
