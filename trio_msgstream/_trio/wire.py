"""The seam between the trio runtime and an HTTP implementation.

The runtime (``_stream``) talks only to these protocols; the httpx glue
(``_transport``) implements them. Implementations translate their own exceptions into
the ``trio_msgstream`` hierarchy before they reach the runtime: connection failures
and timeouts as :class:`APIConnectionError` / :class:`APITimeoutError`, a body cut off
mid-way as :class:`IncompleteStreamError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from .._core.config import Timeout
from .._core.request.spec import RequestSpec

__all__ = ["RequestSpec", "WireResponse", "WireClient"]


class WireResponse(Protocol):
    """A response whose body has not been read yet."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Case-insensitive response headers."""
        ...

    @property
    def request_id(self) -> str | None: ...

    @property
    def raw(self) -> Any:
        """The implementation's own response object (``httpx.Response``)."""
        ...

    @property
    def request(self) -> Any:
        """The implementation's own request object (``httpx.Request``)."""
        ...

    def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, in network-sized chunks."""
        ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """The client's own key and token sent with the request, to redact from text
        built from this response (``StreamEngine(secrets=...)``)."""
        ...

    async def read_bounded(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the body, secrets redacted (for error responses)."""
        ...

    async def read_body(self, limit: int) -> bytes:
        """The whole body (non-streaming responses); a :class:`StreamProtocolError`
        past ``limit`` bytes (``MAX_RESPONSE_BODY``)."""
        ...

    async def aclose(self) -> None:
        """Release the connection (back to the pool when the body was read whole)."""
        ...


class WireClient(Protocol):
    """What the runtime needs from a client."""

    @property
    def timeout(self) -> Timeout: ...

    @property
    def max_retries(self) -> int: ...

    def build_spec(self, kwargs: Mapping[str, Any], *, stream: bool) -> RequestSpec:
        """The Messages request for ``kwargs`` (API parameters and request options)."""
        ...

    async def open_response(self, spec: RequestSpec) -> WireResponse:
        """Send the request and return once the status line and headers are in."""
        ...
