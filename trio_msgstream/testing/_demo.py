"""Demo clients: the real API when ``ANTHROPIC_API_KEY`` is set, the embedded server otherwise.

Used by the examples, so that every demo runs on a fresh machine without a key (and
says so on stderr) and against the real API with one. The rule itself lives in
``_embedded``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from .._httpx.async_client import AsyncClient
from .._sync.client import Client
from ._embedded import embedded_server_unless_key, open_embedded_server_unless_key

__all__ = ["demo_client", "open_demo_client"]


@asynccontextmanager
async def open_demo_client(*, pace: float = 0.0, **kwargs: Any) -> AsyncIterator[AsyncClient]:
    """An :class:`~trio_msgstream.AsyncClient` for demos.

    With ``ANTHROPIC_API_KEY`` set, a plain ``AsyncClient(**kwargs)`` (the real API).
    Otherwise the fake server runs in this Trio run, for the duration of the block, and
    the client points at it; a note says so on stderr. An exception raised in the
    block comes out as itself (never an ExceptionGroup of one).

    Args:
        pace: Seconds the embedded server waits between network chunks, so that a
            demo stream takes time like a real one (ignored with a key).
        **kwargs: Passed to :class:`~trio_msgstream.AsyncClient`.

    Yields:
        The client (closed on exit).
    """
    async with open_embedded_server_unless_key(pace=pace) as base_url:
        options = {"base_url": base_url, **kwargs} if base_url else kwargs
        async with AsyncClient(**options) as client:
            yield client


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
    with embedded_server_unless_key(pace=pace) as base_url:
        options = {"base_url": base_url, **kwargs} if base_url else kwargs
        with Client(**options) as client:
            yield client
