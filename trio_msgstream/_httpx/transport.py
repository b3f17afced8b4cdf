"""The httpx glue: httpx responses as ``WireResponse``, httpx errors as ours.

Only this module and ``_client`` import httpx. Every httpx exception is translated
here, at the boundary, into the ``trio_msgstream`` hierarchy (``raise ... from exc``),
picking the most specific class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from .._core.config import Timeout
from .._core.exceptions import (
    APIConnectionError,
    APITimeoutError,
    IncompleteStreamError,
    TimeoutKind,
)
from .._core.request import RequestSpec

__all__ = [
    "HttpxResponseView",
    "build_httpx_request",
    "httpx_timeout",
    "map_httpx_errors",
]

_TIMEOUT_KINDS: tuple[tuple[type[httpx.TimeoutException], TimeoutKind], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)


@contextmanager
def map_httpx_errors(*, request: Any = None, in_body: bool = False) -> Iterator[None]:
    """Translate httpx exceptions raised inside the block.

    Args:
        request: Put on the raised error.
        in_body: The body was being read: a broken connection then means the stream
            was cut off (:class:`IncompleteStreamError`), not that it never started.
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        which: TimeoutKind = "read"
        for cls, kind in _TIMEOUT_KINDS:
            if isinstance(exc, cls):
                which = kind
                break
        raise APITimeoutError(
            f"{which} timeout: {exc or type(exc).__name__}", which=which, request=request
        ) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if in_body:
            raise IncompleteStreamError(
                f"the connection broke mid-stream: {exc or type(exc).__name__}", request=request
            ) from exc
        raise APIConnectionError(
            f"connection error: {exc or type(exc).__name__}", request=request
        ) from exc
    except httpx.TransportError as exc:
        raise APIConnectionError(
            f"connection error: {exc or type(exc).__name__}", request=request
        ) from exc


def httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    """The transport-level part of a :class:`Timeout`."""
    return httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
    )


class HttpxResponseView:
    """The status and headers of an ``httpx.Response``, as the wire protocols see them.

    Shared by the async and the sync glue; each adds its own way of reading the body.
    """

    __slots__ = ("_response",)

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        value: str | None = self._response.headers.get("request-id")
        return value

    @property
    def raw(self) -> httpx.Response:
        return self._response

    @property
    def request(self) -> httpx.Request:
        return self._response.request


def build_httpx_request(
    http: httpx.Client | httpx.AsyncClient, base_url: str, spec: RequestSpec, timeout: httpx.Timeout
) -> httpx.Request:
    """The ``httpx.Request`` for a :class:`RequestSpec`."""
    return http.build_request(
        spec.method,
        base_url + spec.path,
        headers=dict(spec.headers),
        content=spec.body,
        params=dict(spec.query) if spec.query else None,
        timeout=timeout,
    )
