"""Configuration values: timeouts, defaults and request building. Pure (sans-IO)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .._version import __version__

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_BUFFER_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BODY",
    "NOT_GIVEN",
    "NotGiven",
    "Timeout",
    "TimeoutTypes",
    "build_headers",
    "build_body",
    "resolve_timeout",
]

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_BUFFER_SIZE = 16
"""Network chunks the producer may read ahead of the consumer (backpressure)."""
MAX_RESPONSE_BODY = 64 * 1024 * 1024
"""Bytes (decoded) of a non-streaming response body that are read at most; a longer
body is a :class:`~trio_msgstream.StreamProtocolError`. The largest real message is a
few MB of JSON: this bounds what a broken or hostile server can make the client hold."""


class NotGiven:
    """Sentinel for "argument not passed" where ``None`` means something."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


@dataclass(frozen=True)
class Timeout:
    """Time limits of one request, in seconds; ``None`` means no limit.

    Args:
        connect: To establish the connection.
        read: Between two reads of any bytes (pings count).
        write: To send the request.
        pool: To get a connection from the pool.
        content_idle: Between two events that are not ``ping``. Keep-alive pings do
            not reset it, so a stream that only pings fails instead of hanging. The
            default (600 s) matches ``read``: no stricter than the read timeout, but a
            dead stream kept "alive" by pings fails in bounded time.
        deadline: For the whole request, retries and backoff included.

    A plain number given as ``timeout=`` means :meth:`Timeout.of` that number: the same
    limit for connect, read, write, pool and content_idle; ``deadline`` stays unset.
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    write: float | None = 600.0
    pool: float | None = 600.0
    content_idle: float | None = 600.0
    deadline: float | None = None

    @classmethod
    def of(cls, seconds: float | None) -> Timeout:
        """The same limit for every phase (but ``deadline``)."""
        return cls(
            connect=seconds,
            read=seconds,
            write=seconds,
            pool=seconds,
            content_idle=seconds,
            deadline=None,
        )

    def with_(self, **changes: float | None) -> Timeout:
        """A copy with some limits changed."""
        return replace(self, **changes)


TimeoutTypes = Timeout | float | None

DEFAULT_TIMEOUT = Timeout()


def resolve_timeout(value: TimeoutTypes | NotGiven, default: Timeout) -> Timeout:
    """Turn a ``timeout=`` argument into a :class:`Timeout`."""
    if isinstance(value, NotGiven):
        return default
    if isinstance(value, Timeout):
        return value
    return Timeout.of(value)


def default_api_key() -> str | None:
    return os.environ.get("ANTHROPIC_API_KEY") or None


def default_base_url() -> str:
    return (os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def build_headers(
    api_key: str | None,
    *,
    auth_token: str | None = None,
    default_headers: Mapping[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    stream: bool,
) -> dict[str, str]:
    """The request headers; later sources override earlier ones."""
    headers = {
        "anthropic-version": API_VERSION,
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        "user-agent": f"trio-msgstream/{__version__}",
    }
    if stream:
        headers["cache-control"] = "no-store"
    if api_key:
        headers["x-api-key"] = api_key
    if auth_token:
        headers["authorization"] = f"Bearer {auth_token}"
    if default_headers:
        headers.update({k.lower(): v for k, v in default_headers.items()})
    if extra_headers:
        headers.update({k.lower(): v for k, v in extra_headers.items()})
    return headers


def build_body(
    params: Mapping[str, Any], *, stream: bool, extra_body: Mapping[str, Any] | None = None
) -> bytes:
    """The JSON request body: every Messages API parameter passes through untouched."""
    body = {k: v for k, v in params.items() if not isinstance(v, NotGiven)}
    body["stream"] = stream
    if extra_body:
        body.update(extra_body)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
