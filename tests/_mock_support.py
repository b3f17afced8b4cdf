"""The fake server's answers served by a mock transport, as SDK users test.

:func:`mock_handler` turns a :class:`FakeAnthropicServer` (not started: its routes,
scripts and responder are used, not its sockets) into a handler for
``httpx.MockTransport``/``httpx2.MockTransport`` or a respx side effect. Every endpoint
the kit fakes (messages, count_tokens, models, batches) then answers in memory, with
the body given as the user's mocks give it:

- ``"memory"``: ``Response(status, content=b"...")`` (httpx reads it at once, as for
  ``json=``/``text=``);
- ``"iterator"``: the body as the server would write it, chunk by chunk, from an
  iterator (``async`` for the async client).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any, Literal

import httpx

from trio_msgstream.testing import FakeAnthropicServer, RecordedRequest

BodyMode = Literal["memory", "iterator", "sync-iterator"]

BODY_MODES: tuple[BodyMode, ...] = ("memory", "iterator")


def _recorded(request: Any) -> RecordedRequest:
    body = request.read()
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=request.url.query.decode("ascii"),
        headers=[(k.lower(), v) for k, v in request.headers.multi_items()],
        body=body,
        json=parsed,
        connection_id=0,
    )


def _async_chunks(chunks: list[bytes]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return gen()


def mock_handler(
    server: FakeAnthropicServer,
    body: BodyMode = "memory",
    *,
    http: ModuleType = httpx,
    headers: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] | None = None,
) -> Callable[[Any], Any]:
    """A mock transport's handler that answers as ``server`` would.

    Args:
        body: How the response body is given (see the module docstring);
            ``"iterator"`` is an async iterator (async clients), ``"sync-iterator"``
            a plain one (sync clients).
        http: The library whose ``Response`` is built (``httpx`` or ``httpx2``).
        headers: Rewrites the response headers (e.g. drops ``content-type``).
    """

    def handle(request: Any) -> Any:
        recorded = _recorded(request)
        server.requests.append(recorded)
        script = server._route(recorded)
        pairs = [*script.effective_headers(), ("request-id", f"req_mock_{len(server.requests)}")]
        if headers is not None:
            pairs = headers(pairs)
        chunks = [bytes(c) for c in script.network_chunks()]
        content: Any
        if body == "memory":
            content = b"".join(chunks)
        elif body == "iterator":
            content = _async_chunks(chunks)
        else:
            content = iter(chunks)
        return http.Response(script.status, headers=pairs, content=content)

    return handle


def sync_body(body: BodyMode) -> BodyMode:
    """The sync client's form of ``body`` (an iterator body is a plain iterator)."""
    return "sync-iterator" if body == "iterator" else body
