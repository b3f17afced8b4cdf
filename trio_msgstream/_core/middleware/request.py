"""The request a middleware sees: :class:`APIRequest`, a view over one HTTP attempt.

Part of the sans-IO core. The drivers build one ``APIRequest`` per attempt from the
session's :class:`~trio_msgstream._core.request.spec.RequestSpec` and hand it to the first
middleware; a middleware derives a changed request with :meth:`APIRequest.copy` and
passes it on; the innermost handler sends the spec of whatever request reaches it.

Theory of operation:

- **Immutable.** An ``APIRequest`` never changes; ``copy()`` builds a new spec. Each
  attempt starts from the session's spec again, so a change made for one attempt does
  not leak into the next.
- **Secrets stay out of sight.** ``headers`` shows every header the attempt sends, but
  the credential headers (``x-api-key``, ``authorization``) with their value masked;
  the repr shows the method, URL and stream flag only, and an ``APIRequest`` cannot be
  pickled. A masked value given back to ``copy(headers=...)`` means "keep the real one".
- **Header layers, as the official SDK.** ``copy(headers=H)`` replaces the request's
  own headers with ``H``; the client's headers (credentials, ``anthropic-version``,
  ``content-type``, ``accept``, ``user-agent``, the client's ``default_headers``) stay
  unless ``H`` names them. A ``None`` value removes a header. So both
  ``{**request.headers, "x-trace": t}`` and ``{"x-trace": t}`` add one header.
"""

from __future__ import annotations

import copy as _copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..config import NOT_GIVEN, NotGiven, Timeout, TimeoutTypes, resolve_timeout
from ..redact import MASK, SECRET_HEADERS
from ..request.spec import RequestSpec

__all__ = ["CLIENT_HEADERS", "APIRequest", "HopUsage", "RequestHeaders"]

CLIENT_HEADERS = frozenset(
    {"anthropic-version", "content-type", "accept", "user-agent", "cache-control"} | SECRET_HEADERS
)
"""Headers every client builds itself (beside its ``default_headers``): kept by
``copy(headers=...)`` unless named."""


class RequestHeaders(Mapping[str, str]):
    """The headers of an :class:`APIRequest`: read-only, case-insensitive, with the
    credential headers' values masked."""

    __slots__ = ("_items",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._items = {
            k.lower(): (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()
        }

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"RequestHeaders({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        raise ValueError(f"APIRequest.copy(url=...) takes a path such as /v1/messages, not {url!r}")
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))


class HopUsage(Protocol):
    """The usage accounting of the logical request an :class:`APIRequest` belongs to
    (its request session), for a middleware that sends more HTTP requests for it (the
    refusal fallback's hops): each counts toward ``usage_limits=``."""

    def count_hop(self) -> None:
        """Count one more request; raises ``UsageLimitExceeded`` (send nothing) when
        it would pass ``request_limit`` or a token limit is already passed."""
        ...

    def hop_reply(self, usage: Mapping[str, Any]) -> None:
        """Count a whole reply's usage (a refused reply the caller will not get);
        raises ``UsageLimitExceeded`` past a token limit."""
        ...


class APIRequest:
    """The request the client is about to send for one HTTP attempt.

    Treat it as immutable: :meth:`copy` derives a changed request. The same names as
    the official SDK's ``APIRequest``: ``method`` (lower case), ``url`` (the path and
    query, without the base URL), ``headers``, ``query_params``, ``json``, ``timeout``,
    ``max_retries``, ``stream`` and ``retries_taken``.
    """

    __slots__ = ("_client_headers", "_hops", "_json", "_spec", "beta", "retries_taken", "stream")

    def __init__(
        self,
        spec: RequestSpec,
        *,
        stream: bool = False,
        retries_taken: int = 0,
        beta: bool = False,
        client_headers: frozenset[str] = CLIENT_HEADERS,
        hops: HopUsage | None = None,
    ) -> None:
        self._spec = spec
        self._client_headers = client_headers
        self._hops = hops
        self._json: Any = NOT_GIVEN
        self.stream: bool = stream
        """Whether the caller asked for an event stream."""
        self.retries_taken: int = retries_taken
        """Retries already taken for this call: ``0`` on the first attempt."""
        self.beta: bool = beta
        """The request came through ``client.beta`` (``client.beta.messages``, ...)."""

    @property
    def method(self) -> str:
        """The HTTP method, in lower case (``"post"``), as the official SDK."""
        return self._spec.method.lower()

    @property
    def path(self) -> str:
        """The URL path, e.g. ``/v1/messages``."""
        return self._spec.path

    @property
    def url(self) -> str:
        """The path and its query string (without the client's base URL)."""
        query = self._spec.query
        return f"{self._spec.path}?{urlencode(dict(query))}" if query else self._spec.path

    @property
    def headers(self) -> RequestHeaders:
        """Every header the attempt sends; credential values are masked."""
        return RequestHeaders(self._spec.headers)

    @property
    def query_params(self) -> dict[str, str]:
        """The URL query."""
        return dict(self._spec.query)

    @property
    def json(self) -> Any:
        """The JSON body (a fresh copy each time; ``None`` when there is none)."""
        if isinstance(self._json, NotGiven):
            body = self._spec.body
            self._json = json.loads(body) if body else None
        return _copy.deepcopy(self._json)

    @property
    def content(self) -> bytes:
        """The body as it is sent."""
        return self._spec.body

    @property
    def timeout(self) -> Timeout:
        return self._spec.timeout

    @property
    def max_retries(self) -> int:
        return self._spec.max_retries

    def copy(
        self,
        *,
        method: str | NotGiven = NOT_GIVEN,
        url: str | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str | None] | NotGiven = NOT_GIVEN,
        params: Mapping[str, str] | NotGiven = NOT_GIVEN,
        body: Any = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> APIRequest:
        """A new request with the given parts changed (the others as they are).

        Args:
            method: The HTTP method.
            url: A path, optionally with a query string (which replaces the query).
            headers: The request's headers (see the module notes: the client's own
                headers stay unless named; a masked credential value keeps the real
                one; ``None`` removes a header).
            params: The URL query.
            body: The JSON body (any JSON value; ``None`` sends no body).
            timeout: A :class:`~trio_msgstream.Timeout` or seconds.
        """
        spec = self._spec
        changes: dict[str, Any] = {}
        if not isinstance(method, NotGiven):
            changes["method"] = method.upper()
        if not isinstance(url, NotGiven):
            path, query = _split_url(url)
            changes["path"] = path
            if "?" in url:
                changes["query"] = query
        if not isinstance(params, NotGiven):
            changes["query"] = dict(params)
        if not isinstance(headers, NotGiven):
            changes["headers"] = self._merged_headers(headers)
        if not isinstance(body, NotGiven):
            changes["body"] = (
                b""
                if body is None
                else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            )
        if not isinstance(timeout, NotGiven):
            changes["timeout"] = resolve_timeout(timeout, spec.timeout)
        copied = APIRequest(
            replace(spec, **changes) if changes else spec,
            stream=self.stream,
            retries_taken=self.retries_taken,
            beta=self.beta,
            client_headers=self._client_headers,
            hops=self._hops,
        )
        if "body" not in changes:
            copied._json = self._json
        return copied

    def _merged_headers(self, given: Mapping[str, str | None]) -> dict[str, str]:
        original = self._spec.headers
        named = {k.lower(): v for k, v in given.items()}
        merged = {k: v for k, v in original.items() if k in self._client_headers and k not in named}
        for name, value in named.items():
            if value is None:
                continue
            if name in SECRET_HEADERS and value == MASK:
                real = original.get(name)
                if real is not None:
                    merged[name] = real
                continue
            merged[name] = str(value)
        return merged

    def __repr__(self) -> str:
        return f"<APIRequest method={self.method!r} url={self.url!r} stream={self.stream!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("APIRequest holds the client's credentials and cannot be pickled")
