"""The fake server's route table: method + path pattern -> handler.

A request is answered by the first route whose method and path pattern match; a path
that no route matches gets ``404 not_found_error``. Every server has the built-in
``POST /v1/messages`` route (scripts, then the responder); more endpoints are added by
registering routes, without touching the server::

    from trio_msgstream.testing import register_route, ScriptedResponse

    def count_tokens(server, request, params):
        body = request.json or {}
        return ScriptedResponse(
            headers=[("content-type", "application/json")],
            body=b'{"input_tokens": %d}' % (len(str(body.get("messages"))) // 4),
        )

    register_route("POST", "/v1/messages/count_tokens", count_tokens)      # every server
    server.add_route("GET", "/v1/models/{model_id}", get_model)            # one server

Patterns are literal paths with ``{name}`` placeholders, each matching one path
segment (no ``/``); the values are passed to the handler as ``params``. The query
string is not part of the path (it is ``request.query``). Routes added to a server
come before the registered ones, which come before the built-in messages route, so a
test can override any endpoint. A handler that raises gets a ``500 api_error``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._responses import ScriptedResponse
    from ._server import FakeAnthropicServer

__all__ = ["RecordedRequest", "Route", "RouteHandler", "register_route", "registered_routes"]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received by the fake server.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: Request path without the query string, e.g. ``"/v1/messages"``.
        query: Query string without the ``?`` (``""`` when absent), e.g. ``"beta=true"``.
        headers: Header pairs in arrival order, names lower-cased.
        body: Raw request body.
        json: The body parsed as JSON, or ``None`` if it is empty or not valid JSON.
        connection_id: Number (from 1, in accept order, never reused by this server) of the
            TCP connection that carried the request.
    """

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    json: Any
    connection_id: int

    def header(self, name: str) -> str | None:
        """Return the first value of a header, case-insensitively.

        Args:
            name: Header name.

        Returns:
            The value, or ``None`` if the header was not sent.
        """
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


RouteHandler = Callable[
    ["FakeAnthropicServer", RecordedRequest, Mapping[str, str]], "ScriptedResponse"
]
"""``handler(server, request, params) -> ScriptedResponse``; ``params`` holds the values
of the pattern's ``{name}`` placeholders."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """One entry of the route table (see the module docstring)."""

    method: str
    pattern: str
    handler: RouteHandler

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The placeholder values when the request matches this route, else ``None``."""
        if method.upper() != self.method:
            return None
        found = _compile(self.pattern).fullmatch(path)
        return found.groupdict() if found is not None else None


def make_route(method: str, pattern: str, handler: RouteHandler) -> Route:
    """A :class:`Route`, with the pattern checked now rather than at the first request."""
    if not pattern.startswith("/"):
        raise ValueError(f"a route pattern starts with '/': {pattern!r}")
    _compile(pattern)
    return Route(method.upper(), pattern, handler)


_compiled: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    regex = _compiled.get(pattern)
    if regex is None:
        parts: list[str] = []
        last = 0
        for placeholder in _PLACEHOLDER.finditer(pattern):
            parts.append(re.escape(pattern[last : placeholder.start()]))
            parts.append(f"(?P<{placeholder.group(1)}>[^/]+)")
            last = placeholder.end()
        parts.append(re.escape(pattern[last:]))
        regex = _compiled[pattern] = re.compile("".join(parts))
    return regex


_registry: list[Route] = []


def register_route(method: str, pattern: str, handler: RouteHandler) -> None:
    """Add a route to every fake server (running or future) of this process.

    Meant for modules that fake further endpoints (``count_tokens``, ``models``,
    ``batches``): register at import time. A later registration of the same method
    and pattern replaces the earlier one.

    Args:
        method: HTTP method, e.g. ``"GET"``.
        pattern: Path with ``{name}`` placeholders, e.g. ``"/v1/models/{model_id}"``.
        handler: ``handler(server, request, params) -> ScriptedResponse``.
    """
    route = make_route(method, pattern, handler)
    _registry[:] = [r for r in _registry if (r.method, r.pattern) != (route.method, route.pattern)]
    _registry.append(route)


def registered_routes() -> list[Route]:
    """The routes added with :func:`register_route`, in registration order."""
    return list(_registry)
