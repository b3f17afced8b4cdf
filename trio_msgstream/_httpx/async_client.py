"""The async client: configuration, the httpx client it owns or borrows, namespaces.

:class:`AsyncClient` is the httpx end of the runtime's seam (``open_response``); the
namespaces (``messages``, ``models``, ``beta``) are trio drivers over the sans-IO
core and know nothing of httpx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from .._core.exceptions import CLIENT_CLOSED, ClientClosedError
from .._core.middleware.chain import validate_middleware
from .._core.middleware.request import APIRequest
from .._core.request.calls import Call
from .._core.request.client_config import ClientConfig, Namespace
from .._core.request.spec import RequestSpec
from .._trio import fallback as _fallback_driver  # noqa: F401  (registers the async driver)
from .._trio.messages import AsyncBeta, AsyncMessages, AsyncModels
from .._trio.request import execute, open_body
from .._trio.wire import WireResponse
from .async_response import HttpxWireResponse
from .library import default_library, library_of
from .transport import (
    adopt_httpx_response,
    build_httpx_request,
    default_ssl_context,
    httpx_timeout,
    map_httpx_errors,
)

if TYPE_CHECKING:
    from typing import Self, TypeAlias

    import httpx
    import httpx2

    AsyncHttpClient: TypeAlias = httpx.AsyncClient | httpx2.AsyncClient
    AsyncTransport: TypeAlias = httpx.AsyncBaseTransport | httpx2.AsyncBaseTransport

__all__ = ["AsyncClient", "AsyncMessages"]

T = TypeVar("T")


class AsyncClient(ClientConfig["AsyncHttpClient", "AsyncTransport"]):
    """The Trio client of the Messages API (also exported as ``AsyncAnthropic``).

    Args:
        api_key: Defaults to ``ANTHROPIC_API_KEY``.
        auth_token: A bearer token, instead of or beside the key; defaults to
            ``ANTHROPIC_AUTH_TOKEN``.
        base_url: Defaults to ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``.
        timeout: A :class:`Timeout`, seconds for every phase, or an httpx (httpx2)
            ``Timeout``, as the official SDK takes it.
        max_retries: Retry budget of each request (default 2).
        default_headers: Sent with every request.
        default_query: Added to the query of every request.
        api_version: The ``anthropic-version`` to send (default: the current one,
            ``2026-10-21``; ``2023-06-01`` keeps working).
        http_client: An ``httpx.AsyncClient`` or ``httpx2.AsyncClient`` to use (its
            transport, proxies, limits); you keep ownership and close it yourself.
        transport: An ``httpx.AsyncBaseTransport`` or ``httpx2.AsyncBaseTransport``
            for the client this one creates, of the same library (ignored with
            ``http_client``). With neither, the client is an ``httpx.AsyncClient``
            (``httpx2`` when httpx is not installed).
        middleware: Run around every HTTP attempt, first entry outermost:
            :class:`~trio_msgstream.middleware.Middleware` instances (``handle_async``)
            or ``async def (request, call_next)`` functions. See ``docs/middleware.md``.

    Resource handling:
        ``async with client:`` or ``await client.aclose()`` (``close()``, as in the
        official SDK) closes the httpx client the client created (not one passed in
        as ``http_client``).
    """

    messages: Namespace[AsyncMessages] = Namespace(AsyncMessages)
    """``client.messages``: stream, create, count_tokens, batches, ..."""
    models: Namespace[AsyncModels] = Namespace(AsyncModels)
    """``client.models``: list and retrieve."""
    beta: Namespace[AsyncBeta] = Namespace(AsyncBeta)
    """``client.beta``: the same surfaces with ``betas=[...]``."""

    def _new_http_client(self, transport: AsyncTransport | None) -> AsyncHttpClient:
        lib = library_of(transport) if transport is not None else None
        http = (lib or default_library()).module
        client: AsyncHttpClient = http.AsyncClient(
            transport=transport, verify=default_ssl_context(), timeout=None
        )
        return client

    def _accept_middleware(self, entries: Iterable[Any]) -> tuple[Any, ...]:
        return validate_middleware(entries, "async")

    def _adopt_response(self, response: object, request: APIRequest) -> WireResponse | None:
        """A middleware's answer that is an ``httpx.Response``, as a wire response."""
        adopted = adopt_httpx_response(response, request, self.base_url)
        return HttpxWireResponse(adopted) if adopted is not None else None

    async def open_response(self, spec: RequestSpec) -> WireResponse:
        """Send ``spec``; return once the status line and headers are in."""
        if self._http.is_closed:
            raise ClientClosedError(CLIENT_CLOSED)
        request = await self._wire_request(spec)
        with map_httpx_errors(request=request):
            response = await self._http.send(request, stream=True)
        return HttpxWireResponse(response, held=self._held_secrets)

    async def _wire_request(self, spec: RequestSpec) -> Any:
        """The httpx request that goes on the wire for ``spec``: the last step before
        the send (the cloud platform clients rewrite and sign it here)."""
        return build_httpx_request(self._http, self.base_url, spec, httpx_timeout(spec.timeout))

    async def _execute(self, call: Call[T]) -> T:
        """Send a call (retries, timeouts, typed errors) and return its parsed answer."""
        return await execute(self, call)

    def _open_body(
        self, spec: RequestSpec, *, operation: str = "body"
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with client._open_body(spec) as chunks``: a body read as it arrives."""
        return open_body(self, spec, operation=operation)

    async def aclose(self) -> None:
        """Close the httpx client, if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def close(self) -> None:
        """``await client.close()``: the official SDK's name for :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
