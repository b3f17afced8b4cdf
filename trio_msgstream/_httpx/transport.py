"""The httpx glue: httpx (or httpx2) responses as ``WireResponse``, their errors as ours.

Only this package imports an HTTP library, and this module is the part of it that both
clients share (it imports no trio, so the sync client can use it). It is written once
for ``httpx`` and ``httpx2`` (the same API under two module names): what needs the
library itself finds it from the objects at hand (``library``), and neither library is
imported here.

Theory of operation:

- **Errors.** Every httpx exception raised while a request is built, sent, read or
  closed is translated here, at the boundary, into the ``trio_msgstream`` hierarchy
  (:func:`map_httpx_errors`, ``raise ... from exc``), picking the most specific class.
  Nothing from httpx reaches the runtime, so nothing untyped reaches a user's nursery.
- **TLS.** The httpx clients this library makes share one SSL context
  (:func:`default_ssl_context`, made on first use as httpx makes its default one,
  ``SSL_CERT_FILE``/``SSL_CERT_DIR`` included): loading the CA bundle costs ~25 ms
  of CPU, which every new client would otherwise pay again.
- **Timeouts** go to the library as a ``(connect, read, write, pool)`` tuple, which
  both take, so no timeout object of the wrong library can be passed.
- **Bodies.** Bodies are read *undecoded* (the response's byte stream, or
  ``aiter_raw``/``iter_raw``) and their
  ``Content-Encoding`` is decoded by the core's bounded :class:`ContentDecoder`: one
  network chunk yields pieces of at most ``DEFAULT_MAX_DECODED_CHUNK`` bytes, each
  consumed before the next is inflated, so a compressed body cannot get around the
  memory bounds. Streams ask for ``accept-encoding: identity``; other requests for
  ``gzip, deflate``. Non-streaming bodies are read with :meth:`read_body` up to a limit
  (``MAX_RESPONSE_BODY``), collected in a list and joined once. A body already in
  memory (a mock's ``Response(content=...)``/``json=``/``text=``, or one an event hook
  read) has been decoded by httpx and cannot be streamed again: it is served from
  memory (:meth:`HttpxResponseView._body_in_memory`), in pieces of the same bound.
- **Secrets.** Once a response has arrived its ``request`` is replaced by a copy whose
  ``x-api-key``/``authorization`` values are masked, and the error previews read from
  it have the client's own key and token redacted, so no error can show or pickle them.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from .._core.config import Timeout
from .._core.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    IncompleteStreamError,
    StreamProtocolError,
    TimeoutKind,
)
from .._core.redact import MASK, SECRET_HEADERS, held_secrets, redact_bytes, secret_values
from .._core.request.spec import RequestSpec
from .._core.request.status import request_id_of, status_error
from .._core.stream.decoding import DEFAULT_MAX_DECODED_CHUNK, ContentDecoder, content_decoder
from .library import HttpLibrary, default_library, library_of

if TYPE_CHECKING:
    from typing import TypeAlias

    import httpx
    import httpx2

    HttpResponse: TypeAlias = httpx.Response | httpx2.Response
    HttpRequest: TypeAlias = httpx.Request | httpx2.Request
    AnyHttpClient: TypeAlias = httpx.Client | httpx.AsyncClient | httpx2.Client | httpx2.AsyncClient

__all__ = [
    "HttpxResponseView",
    "TransportTimeouts",
    "adopt_httpx_response",
    "build_httpx_request",
    "decoded_pieces",
    "httpx_timeout",
    "map_httpx_errors",
    "translate_httpx_error",
    "scrub_request",
]

TransportTimeouts = tuple[float | None, float | None, float | None, float | None]
"""``(connect, read, write, pool)``: the form of a timeout both libraries take."""

STREAM_ACCEPT_ENCODING = "identity"
"""Asked for on streams: an event stream gains little from compression."""
BODY_ACCEPT_ENCODING = "gzip, deflate"
"""Asked for on other requests: the codings :class:`ContentDecoder` decodes."""


@functools.lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """The SSL context of every httpx client this library makes: httpx's default
    (certifi's CA bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as set when it is
    first made), made once per process and shared (by httpx2's clients too: it is a
    plain ``ssl.SSLContext``)."""
    context: ssl.SSLContext = default_library().module.create_ssl_context()
    return context


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@contextmanager
def map_httpx_errors(*, request: Any = None, in_body: bool = False) -> Iterator[None]:
    """Translate every httpx (or httpx2) exception raised inside the block.

    =============================================  =====================================
    httpx                                          trio_msgstream
    =============================================  =====================================
    ``TimeoutException`` (connect/read/write/pool)  :class:`APITimeoutError` (``which``)
    ``ReadError``, ``RemoteProtocolError``,         :class:`IncompleteStreamError` in the
    ``StreamError`` (closed, consumed)              body, else :class:`APIConnectionError`
    ``DecodingError``                               :class:`StreamProtocolError`
    ``HTTPStatusError`` (from an event hook)        the status's :class:`APIStatusError`
    any other ``HTTPError`` (``ConnectError``,      :class:`APIConnectionError`
    ``TooManyRedirects``, ``ProxyError``,
    ``UnsupportedProtocol``, ...), ``InvalidURL``
    =============================================  =====================================

    Args:
        request: Put on the raised error (masked: see :func:`scrub_request`).
        in_body: The body was being read: a broken connection then means the stream
            was cut off (:class:`IncompleteStreamError`), not that it never started.
    """
    try:
        yield
    except Exception as exc:
        error = translate_httpx_error(exc, request=request, in_body=in_body)
        if error is None:
            raise
        raise error from exc


def translate_httpx_error(
    exc: Exception, *, request: Any = None, in_body: bool = False
) -> APIError | None:
    """:func:`map_httpx_errors`'s translation of one exception, for code that catches
    it itself (``raise error from exc``); ``None``: not an exception to translate."""
    lib = library_of(exc)
    if lib is None:
        return None
    return _translate(lib, exc, request, in_body)


def _translate(lib: HttpLibrary, exc: Exception, request: Any, in_body: bool) -> APIError | None:
    """Our error for one of ``lib``'s exceptions (``None``: not one to translate)."""
    http = lib.module
    clean = scrub_request(request)
    if isinstance(exc, http.TimeoutException):
        which: TimeoutKind = "read"
        for cls, kind in lib.timeout_kinds:
            if isinstance(exc, cls):
                which = kind
                break
        return APITimeoutError(f"{which} timeout: {_describe(exc)}", which=which, request=clean)
    if isinstance(exc, http.DecodingError):
        return StreamProtocolError(f"the body does not decode: {_describe(exc)}", request=clean)
    if isinstance(exc, http.HTTPStatusError):
        return status_error(
            exc.response.status_code,
            b"",
            request_id=request_id_of(exc.response.headers),
            request=clean,
        )
    if isinstance(exc, (http.RemoteProtocolError, http.ReadError, http.StreamError)):
        if in_body:
            return IncompleteStreamError(
                f"the connection broke mid-stream: {_describe(exc)}", request=clean
            )
        return APIConnectionError(f"connection error: {_describe(exc)}", request=clean)
    if isinstance(exc, http.TooManyRedirects):
        return APIConnectionError(f"too many redirects: {_describe(exc)}", request=clean)
    if isinstance(exc, (http.HTTPError, http.InvalidURL)):
        return APIConnectionError(
            f"connection error: {type(exc).__name__}: {_describe(exc)}", request=clean
        )
    return None


def scrub_request(request: Any) -> Any:
    """A copy of an ``httpx.Request`` (or ``httpx2.Request``) without secret header
    values (anything else, ``None`` included, is returned as it is); the copy has no
    body. Errors carry this, never the request sent."""
    lib = library_of(request)
    if lib is None or not isinstance(request, lib.module.Request):
        return request
    # The raw bytes: the copy shares every header but the masked ones with the request
    # sent (which the connection keeps while the body streams) instead of re-encoding
    # them all, a second set per response.
    items = request.headers.raw
    if not any(k.lower() in _SECRET_RAW and v != _MASK_RAW for k, v in items):
        return request
    clean = lib.module.Request(request.method, request.url, extensions=request.extensions)
    clean.headers = lib.module.Headers(
        [(k, _MASK_RAW if k.lower() in _SECRET_RAW else v) for k, v in items]
    )
    return clean


_SECRET_RAW = frozenset(name.encode("ascii") for name in SECRET_HEADERS)
_MASK_RAW = MASK.encode("ascii")


def httpx_timeout(timeout: Timeout) -> TransportTimeouts:
    """The transport-level part of a :class:`Timeout`, as ``(connect, read, write,
    pool)`` (the form both libraries take)."""
    return (timeout.connect, timeout.read, timeout.write, timeout.pool)


def decoded_pieces(decoder: ContentDecoder | None, raw: bytes) -> Iterator[bytes]:
    """The decoded pieces of one raw network chunk, produced lazily (one at a time)."""
    if decoder is None:
        if raw:
            yield raw
        return
    decoder.feed(raw)
    while piece := decoder.read():
        yield piece


class HttpxResponseView:
    """The status and headers of an ``httpx.Response``, as the wire protocols see them.

    Shared by the async and the sync glue; each adds its own way of reading the body.
    Constructing the view masks the secrets on ``response.request`` (it was sent).
    ``held`` are the client's credentials, sent or not: they are redacted too.
    """

    __slots__ = ("_response", "_secrets")

    def __init__(self, response: HttpResponse, *, held: tuple[str, ...] = ()) -> None:
        self._response = response
        self._secrets = held_secrets(
            also=(*held, *secret_values(response.request.headers.multi_items()))
        )
        response.request = scrub_request(response.request)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}]>"

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        return request_id_of(self._response.headers)

    @property
    def raw(self) -> HttpResponse:
        return self._response

    @property
    def request(self) -> HttpRequest:
        return self._response.request

    @property
    def secrets(self) -> tuple[str, ...]:
        """The client's own secrets: those sent with the request and every credential
        it holds (for redacting text built from this response, e.g.
        ``StreamEngine(secrets=...)``). Not shown anywhere."""
        return self._secrets

    def _body_in_memory(self) -> Iterator[bytes] | None:
        """The body in pieces when it is already in memory, else ``None`` (read it).

        A response built with its content (a mock's ``content=``, ``json=``, ``text=``)
        or read by an event hook was read, decoded, and marked consumed by httpx: its
        stream cannot be read again, and its ``content`` is the decoded body.
        """
        response = self._response
        if not response.is_stream_consumed:
            return None
        try:
            content: bytes = response.content
        except Exception:  # consumed by a stream, not read: reading will say so
            return None
        step = DEFAULT_MAX_DECODED_CHUNK
        return (content[i : i + step] for i in range(0, len(content), step))

    def _decoder(self) -> ContentDecoder | None:
        with map_httpx_errors(request=self._response.request, in_body=True):
            return content_decoder(self._response.headers.get("content-encoding"))

    def _preview_collector(self, limit: int) -> _Collector:
        # An error body is a best-effort preview (what decodes is kept, the rest is
        # dropped) with the client's own secrets redacted; read a little past the
        # limit so that a secret straddling it is still found whole.
        want = limit + max((len(s) for s in self._secrets), default=0)
        return _Collector(want, keep=limit, secrets=self._secrets)

    def _body_collector(self, limit: int) -> _Collector:
        return _Collector(limit, request=self._response.request)


class _Collector:
    """Collects body pieces in a list, up to a limit, and joins them once.

    With ``keep`` (a preview) it stops at the limit and keeps ``keep`` bytes; without
    (a whole body) a body past the limit is a :class:`StreamProtocolError`.
    """

    __slots__ = ("_keep", "_limit", "_parts", "_request", "_secrets", "_size")

    def __init__(
        self,
        limit: int,
        *,
        keep: int | None = None,
        secrets: tuple[str, ...] = (),
        request: Any = None,
    ) -> None:
        self._limit = limit
        self._keep = keep
        self._secrets = secrets
        self._request = request
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, piece: bytes) -> bool:
        """Add a piece; ``True`` once a preview has enough."""
        self._size += len(piece)
        if self._keep is None and self._size > self._limit:
            raise StreamProtocolError(
                f"the response body is larger than the limit of {self._limit} bytes",
                request=self._request,
            )
        self._parts.append(piece)
        return self._keep is not None and self._size >= self._limit

    def result(self) -> bytes:
        parts = self._parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if self._keep is None:
            return data
        return redact_bytes(data[: self._limit], self._secrets)[: self._keep]


def build_httpx_request(
    http: AnyHttpClient, base_url: str, spec: RequestSpec, timeout: TransportTimeouts
) -> Any:
    """The ``httpx.Request`` (or ``httpx2.Request``, after ``http``: typed ``Any``, as
    each client takes only its own) for a :class:`RequestSpec`.

    Raises:
        APIConnectionError: The URL is not valid.
    """
    headers = dict(spec.headers)
    if "accept-encoding" not in headers:
        streaming = headers.get("accept", "").startswith("text/event-stream")
        headers["accept-encoding"] = STREAM_ACCEPT_ENCODING if streaming else BODY_ACCEPT_ENCODING
    with map_httpx_errors():
        return http.build_request(
            spec.method,
            base_url + spec.path,
            headers=headers,
            content=spec.body,
            params=dict(spec.query) if spec.query else None,
            timeout=timeout,
        )


def adopt_httpx_response(
    response: object, request: Any, base_url: str
) -> httpx.Response | httpx2.Response | None:
    """``response`` when it is a response of either library (a middleware's answer),
    given the request it answers (method and URL only) when it has none; else ``None``."""
    library = library_of(response)
    if library is None or not isinstance(response, library.module.Response):
        return None
    try:
        response.request  # noqa: B018  (raises when the response has none)
    except RuntimeError:
        response.request = library.module.Request(request.method.upper(), base_url + request.url)
    return cast("httpx.Response | httpx2.Response", response)
