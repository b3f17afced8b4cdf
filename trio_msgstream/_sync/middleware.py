"""The sync driver of the middleware chain: the trio driver's twin, without async.

:func:`open_attempt` replaces the plain ``client._send(spec, limits)`` of an attempt
when the client has middleware: it builds the attempt's ``APIRequest``, composes the
chain around the send and runs it in the calling thread. What a middleware returns
becomes the attempt's response (an :class:`APIResponse`, an ``httpx.Response``, or for
a non-streaming request the parsed value itself); responses it dropped are closed.
See :mod:`trio_msgstream._trio.middleware` for the rules, which are the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from .._core.config import MAX_RESPONSE_BODY, NotGiven
from .._core.exceptions import StreamProtocolError
from .._core.middleware.chain import compose
from .._core.middleware.request import APIRequest
from .._core.middleware.response import ResponseBase
from .._core.redact import redact_bytes
from .._core.request.session import RequestSession
from .response import SyncHttpxWireResponse

if TYPE_CHECKING:
    from .client import Client

__all__ = ["APIResponse", "open_attempt", "parsed_body"]


class APIResponse(ResponseBase):
    """The response of one HTTP attempt, as sync middleware sees it (the official
    SDK's name): every status, 4xx/5xx included; the retry rules and typed errors
    apply after the chain. The same methods as
    :class:`~trio_msgstream.middleware.AsyncAPIResponse`, without ``await``.
    """

    __slots__ = ()

    def read(self) -> bytes:
        """The whole (decoded) body; read once, then kept for the caller."""
        if self._body is None:
            try:
                self._body = self._wire.read_body(MAX_RESPONSE_BODY)
            finally:
                self.close()
        assert self._body is not None
        return self._body

    def text(self) -> str:
        return self.read().decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.read())

    def parse(self) -> Any:
        """The value the caller gets (the :class:`~trio_msgstream.types.Message`, ...),
        parsed once: the caller receives this very object.

        On a streamed request, the message the stream accumulates (an ``error`` event
        in it raises its typed error): the body is read whole, and the caller's stream
        then replays it from memory.
        """
        if isinstance(self._parsed, NotGiven):
            body = self.read()
            self._parse_read(body)
        return self._parsed

    def iter_bytes(self) -> Iterator[bytes]:
        """The body as it arrives (decoded). The caller can then no longer read it."""
        yield from self.iter_chunks()

    def close(self) -> None:
        """Release the connection."""
        if not self._closed:
            self._closed = True
            if self._wire is not None:
                self._wire.close()

    def _with_stream(self, body: Iterator[bytes]) -> APIResponse:
        """This response (which the new one now owns) with ``body`` as its event
        stream: what a middleware splicing events returns."""
        self._adopted = True
        wire = _GeneratedWire(self._wire, body)
        derived: APIResponse = self._derived(wire)
        return derived

    # -- the sync runtime's response protocol --------------------------------------------

    def iter_chunks(self) -> Iterator[bytes]:
        if self._body is not None:
            if self._body:
                yield self._body
            return
        yield from self._wire.iter_chunks()

    def read_bounded(self, limit: int) -> bytes:
        if self._body is None:
            return self._wire.read_bounded(limit)  # type: ignore[no-any-return]
        return redact_bytes(self._body, self.secrets)[:limit]

    def read_body(self, limit: int) -> bytes:
        body = self.read()
        if len(body) > limit:
            raise StreamProtocolError(
                f"the response body is larger than the limit of {limit} bytes"
            )
        return body

    def drain(self, chunks: Iterator[bytes], timeout: float) -> None:
        if self._wire is not None and self._body is None:
            self._wire.drain(chunks, timeout)

    def abort(self) -> None:
        if self._wire is not None and self._body is None:
            self._wire.abort()


class _GeneratedWire:
    """A response whose event stream is generated (by a middleware), with the status
    and headers of the response it came from (see the trio driver's twin)."""

    def __init__(self, origin: Any, body: Iterator[bytes]) -> None:
        self._origin = origin
        self._body = body
        headers = {k.lower(): v for k, v in origin.headers.items()}
        for name in ("content-length", "content-encoding"):
            headers.pop(name, None)
        headers["content-type"] = "text/event-stream"
        self.headers: Mapping[str, str] = headers
        self.status_code: int = origin.status_code
        self.request_id: str | None = origin.request_id
        self.raw: Any = origin.raw
        self.request: Any = origin.request
        self.secrets: tuple[str, ...] = origin.secrets

    def iter_chunks(self) -> Iterator[bytes]:
        return self._body

    def read_bounded(self, limit: int) -> bytes:
        return self.read_body(limit + 1)[:limit]

    def read_body(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        for part in self._body:
            parts.append(part)
            size += len(part)
            if size > limit:
                break
        return b"".join(parts)

    def drain(self, chunks: Iterator[bytes], timeout: float) -> None:
        self._origin.drain(chunks, timeout)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()
        self._origin.close()

    def abort(self) -> None:
        self._origin.abort()


def _rules(session: RequestSession, parse: Callable[[bytes], Any] | None) -> dict[str, Any]:
    """How a response of this attempt parses (:meth:`parse`)."""
    return {"parser": parse, "stream": session.mode != "body", "framings": session.framings}


def parsed_body(response: Any, parse: Callable[[bytes], Any]) -> Any:
    """A non-streaming attempt's value, parsed once (see the trio driver's)."""
    if isinstance(response, APIResponse):
        return response.parse()
    return parse(response.read_body(MAX_RESPONSE_BODY))


def open_attempt(
    client: Client, session: RequestSession, parse: Callable[[bytes], Any] | None = None
) -> SyncHttpxWireResponse:
    """Send the session's request for one attempt, through the client's middleware.

    The result may be an :class:`APIResponse`, which the sync runtime reads through
    the same methods as a :class:`SyncHttpxWireResponse` (hence the cast).
    """
    return cast(SyncHttpxWireResponse, _open_attempt(client, session, parse))


def _open_attempt(
    client: Client, session: RequestSession, parse: Callable[[bytes], Any] | None
) -> SyncHttpxWireResponse | APIResponse:
    entries = client.middleware
    if not entries:
        return client._send(session.spec, session.transport_timeouts(time.monotonic()))
    spec = session.spec
    request = APIRequest(
        spec,
        stream=session.mode != "body",
        retries_taken=session.retries,
        beta=spec.beta,
        hops=session,
    )
    opened: list[APIResponse] = []

    def send(attempt: APIRequest) -> APIResponse:
        limits = session.transport_timeouts(time.monotonic())
        if attempt._spec.timeout != spec.timeout:  # changed by a middleware
            t = attempt._spec.timeout
            limits = (t.connect, t.read, t.write, t.pool)
        wire = client._send(attempt._spec, limits)
        response = APIResponse(wire, retries_taken=session.retries, **_rules(session, parse))
        opened.append(response)
        return response

    def adapt(result: Any, attempt: APIRequest) -> Any:
        # What a middleware returned, as the middleware before it gets it.
        if isinstance(result, APIResponse):
            return result
        wire = client._adopt_response(result, attempt)
        if wire is None:
            return result
        adopted = APIResponse(wire, retries_taken=session.retries, **_rules(session, parse))
        if getattr(result, "is_stream_consumed", False):  # a body given in memory
            adopted._body = result.content
        opened.append(adopted)
        return adopted

    chain = compose(entries, send, "sync", adapt)
    result: Any = None
    try:
        result = chain(request)
        if isinstance(result, APIResponse):
            return result
        if session.mode != "body" or result is None:
            raise TypeError(
                f"middleware answered a {'streaming ' if session.mode != 'body' else ''}"
                f"request with {type(result).__name__}: return call_next's response (or an "
                "httpx.Response)" + ("" if session.mode != "body" else ", or the parsed value")
            )
        return APIResponse(None, retries_taken=session.retries, parsed=result)
    finally:
        for response in opened:
            if response is not result and not response._adopted:
                response.close()
