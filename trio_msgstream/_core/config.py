"""Configuration values: timeouts, defaults and request building. Pure (sans-IO)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from .._version import __version__

__all__ = [
    "API_VERSION",
    "API_VERSIONS",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_BUFFER_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "DRAIN_TIMEOUT",
    "HTTPTimeout",
    "MAX_RESPONSE_BODY",
    "NOT_GIVEN",
    "NotGiven",
    "Timeout",
    "TimeoutTypes",
    "build_headers",
    "build_body",
    "resolve_timeout",
]

API_VERSION = "2026-10-21"
"""The ``anthropic-version`` sent by default (the current one)."""
BEARER_KEY_SINCE = "2026-10-21"
"""From this API version on, the API key is sent as ``Authorization: Bearer``."""
API_VERSIONS = ("2023-06-01", "2026-10-21")
"""The API versions this library speaks (``api_version=`` on the clients)."""
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_RETRIES = 2
DRAIN_TIMEOUT = 1.0
"""Seconds a stream keeps reading its body after ``message_stop`` (the API sends
nothing more) so the connection can be reused; past that the connection is dropped."""
MAX_RESPONSE_BODY = 64 * 1024 * 1024
"""The largest non-streaming response body read (bytes, decoded); a larger one is a
:class:`~trio_msgstream.StreamProtocolError`. The largest real message is a few MB of
JSON: this bounds what a broken or hostile server can make the client hold."""
DEFAULT_MAX_BUFFER_SIZE = 16
"""Network chunks the producer may read ahead of the consumer (backpressure)."""


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


@runtime_checkable
class HTTPTimeout(Protocol):
    """An ``httpx.Timeout`` or ``httpx2.Timeout`` (what official SDK code passes as
    ``timeout=``): its four limits, read without importing either library."""

    @property
    def connect(self) -> float | None: ...
    @property
    def read(self) -> float | None: ...
    @property
    def write(self) -> float | None: ...
    @property
    def pool(self) -> float | None: ...


TimeoutTypes = Timeout | HTTPTimeout | float | None


DEFAULT_TIMEOUT = Timeout()


def resolve_timeout(value: TimeoutTypes | NotGiven, default: Timeout) -> Timeout:
    """Turn a ``timeout=`` argument into a :class:`Timeout`.

    An httpx (or httpx2) ``Timeout`` keeps its four limits; ``content_idle`` takes its
    ``read`` limit (no stricter than it, as by default) and ``deadline`` stays unset.

    Raises:
        TypeError: ``value`` is none of a number, ``None``, a :class:`Timeout` or an
            httpx ``Timeout``.
    """
    if isinstance(value, NotGiven):
        return default
    if isinstance(value, Timeout):
        return value
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return Timeout.of(value)
    if isinstance(value, HTTPTimeout):
        limits = [value.connect, value.read, value.write, value.pool]
        if all(x is None or isinstance(x, int | float) for x in limits):
            return Timeout(
                connect=value.connect,
                read=value.read,
                write=value.write,
                pool=value.pool,
                content_idle=value.read,
            )
    raise TypeError(
        "timeout= takes seconds, None, a trio_msgstream.Timeout or an httpx Timeout, "
        f"not {type(value).__name__}"
    )


def default_api_key() -> str | None:
    return os.environ.get("ANTHROPIC_API_KEY") or None


def default_base_url() -> str:
    return (os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def default_auth_token() -> str | None:
    return os.environ.get("ANTHROPIC_AUTH_TOKEN") or None


def uses_bearer_key(api_version: str) -> bool:
    """Whether ``api_version`` takes the API key as ``Authorization: Bearer`` (from
    ``2026-10-21`` on) rather than as ``x-api-key``."""
    return api_version >= BEARER_KEY_SINCE


def build_headers(
    api_key: str | None,
    *,
    auth_token: str | None = None,
    api_version: str = API_VERSION,
    default_headers: Mapping[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    stream: bool,
    accept: str | None = None,
    betas: Sequence[str] | None = None,
) -> dict[str, str]:
    """The request headers; later sources override earlier ones."""
    headers = {
        "anthropic-version": api_version,
        "content-type": "application/json",
        "accept": accept or ("text/event-stream" if stream else "application/json"),
        "user-agent": f"trio-msgstream/{__version__}",
    }
    if stream:
        headers["cache-control"] = "no-store"
    if api_key:
        if uses_bearer_key(api_version):
            headers["authorization"] = f"Bearer {api_key}"
        else:
            headers["x-api-key"] = api_key
    if auth_token:
        headers["authorization"] = f"Bearer {auth_token}"
    if betas:
        headers["anthropic-beta"] = ",".join(betas)
    if default_headers:
        headers.update({k.lower(): v for k, v in default_headers.items()})
    if extra_headers:
        headers.update({k.lower(): v for k, v in extra_headers.items()})
    return headers


def build_body(
    params: Mapping[str, Any],
    *,
    stream: bool | None,
    extra_body: Mapping[str, Any] | None = None,
) -> bytes:
    """The JSON request body: every parameter passes through untouched (``stream`` is
    set unless ``None``); a pydantic model among them (a reply's content blocks sent
    back) is written as the fields it was given."""
    body = {k: v for k, v in params.items() if not isinstance(v, NotGiven)}
    if stream is not None:
        body["stream"] = stream
    if extra_body:
        body.update(extra_body)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_jsonable).encode(
        "utf-8"
    )


def _jsonable(value: object) -> object:
    """JSON for what ``json`` does not know: the API's own objects passed back (a
    reply's ``message.content`` as the next turn) as the fields they arrived with."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", by_alias=True, exclude_unset=True)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
