"""The trio driver of the middleware chain: one pass per HTTP attempt.

:func:`open_attempt` replaces the plain ``client.open_response(spec)`` of an attempt
when the client has middleware. It builds the attempt's
:class:`~trio_msgstream._core.middleware.request.APIRequest`, composes the chain
(:func:`~trio_msgstream._core.middleware.chain.compose`) around the send, runs it in
the calling task (so the request's cancel scopes and deadline apply to a middleware
that waits) and hands back what the runtime reads: a :class:`WireResponse`.

Theory of operation::

    open_checked (retry loop, one attempt)
     └─ open_attempt ──▶ middleware 0 ──▶ ... ──▶ send: client.open_response(spec)
                                                   (platform rewriting and signing
                                                    happen inside, below the chain)

What a middleware returns becomes the attempt's response: an :class:`AsyncAPIResponse`
(``call_next``'s, or one derived from it), an ``httpx.Response`` (adopted through the
client), or, for a non-streaming request, the parsed value itself (the caller gets it
as is). Responses a middleware opened and dropped are closed when the attempt ends,
so no connection leaks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import trio

from .._core.config import MAX_RESPONSE_BODY, NotGiven
from .._core.exceptions import StreamProtocolError
from .._core.middleware.chain import compose
from .._core.middleware.request import APIRequest
from .._core.middleware.response import ResponseBase
from .._core.redact import redact_bytes
from .._core.request.session import RequestSession
from .wire import WireClient, WireResponse

__all__ = ["AsyncAPIResponse", "open_attempt", "parsed_body"]

_CLOSE_TIMEOUT = 5.0


async def _close_wire(wire: WireResponse) -> None:
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + _CLOSE_TIMEOUT
        await wire.aclose()


class AsyncAPIResponse(ResponseBase):
    """The response of one HTTP attempt, as async middleware sees it (the official
    SDK's name): every status, 4xx/5xx included; the retry rules and typed errors
    apply after the chain.

    Read it with :meth:`read`, :meth:`text`, :meth:`json` or :meth:`parse` (the value
    the caller gets, for a non-streaming request); a streamed body is read by the
    caller, so leave it unread (or read it whole, then the caller reads the copy).
    """

    __slots__ = ()
    _wire: WireResponse | None

    async def read(self) -> bytes:
        """The whole (decoded) body; read once, then kept for the caller."""
        if self._body is None:
            assert self._wire is not None
            try:
                self._body = await self._wire.read_body(MAX_RESPONSE_BODY)
            finally:
                await self.close()
        return self._body

    async def text(self) -> str:
        return (await self.read()).decode("utf-8", "replace")

    async def json(self) -> Any:
        return json.loads(await self.read())

    async def parse(self) -> Any:
        """The value the caller gets (the :class:`~trio_msgstream.types.Message`, ...),
        parsed once: the caller receives this very object.

        On a streamed request, the message the stream accumulates (an ``error`` event
        in it raises its typed error): the body is read whole, and the caller's stream
        then replays it from memory.
        """
        if isinstance(self._parsed, NotGiven):
            body = await self.read()
            self._parse_read(body)
        return self._parsed

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives (decoded). The caller can then no longer read it."""
        return self.iter_chunks()

    async def close(self) -> None:
        """Release the connection (shielded, bounded: safe while cancelled)."""
        if not self._closed:
            self._closed = True
            if self._wire is not None:
                await _close_wire(self._wire)

    def _with_stream(self, body: AsyncIterator[bytes]) -> AsyncAPIResponse:
        """This response (which the new one now owns) with ``body`` as its event
        stream: what a middleware splicing events returns."""
        assert self._wire is not None
        self._adopted = True
        wire = _GeneratedWire(self._wire, body)
        derived: AsyncAPIResponse = self._derived(wire)
        return derived

    # -- the runtime's WireResponse protocol ---------------------------------------------

    def iter_chunks(self) -> AsyncIterator[bytes]:
        # The wire's own iterator (not wrapped): closing it closes the body reader.
        if self._body is not None:
            return _once(self._body)
        assert self._wire is not None
        return self._wire.iter_chunks()

    async def read_bounded(self, limit: int) -> bytes:
        if self._body is None:
            assert self._wire is not None
            return await self._wire.read_bounded(limit)
        return redact_bytes(self._body, self.secrets)[:limit]

    async def read_body(self, limit: int) -> bytes:
        body = await self.read()
        if len(body) > limit:
            raise StreamProtocolError(
                f"the response body is larger than the limit of {limit} bytes"
            )
        return body

    async def aclose(self) -> None:
        await self.close()


async def _once(body: bytes) -> AsyncIterator[bytes]:
    if body:
        yield body


class _GeneratedWire:
    """A response whose event stream is generated (by a middleware), with the status
    and headers of the response it came from (an SSE content type: the generator
    writes Server-Sent Events)."""

    def __init__(self, origin: WireResponse, body: AsyncIterator[bytes]) -> None:
        self._origin = origin
        self._body = body
        headers = {k.lower(): v for k, v in origin.headers.items()}
        for name in ("content-length", "content-encoding"):
            headers.pop(name, None)
        headers["content-type"] = "text/event-stream"
        self.headers: Mapping[str, str] = headers

    @property
    def status_code(self) -> int:
        return self._origin.status_code

    @property
    def request_id(self) -> str | None:
        return self._origin.request_id

    @property
    def raw(self) -> Any:
        return self._origin.raw

    @property
    def request(self) -> Any:
        return self._origin.request

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._origin.secrets

    def iter_chunks(self) -> AsyncIterator[bytes]:
        return self._body

    async def read_bounded(self, limit: int) -> bytes:
        return (await self.read_body(limit + 1))[:limit]

    async def read_body(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for part in self._body:
            parts.append(part)
            size += len(part)
            if size > limit:
                break
        return b"".join(parts)

    async def aclose(self) -> None:
        aclose = getattr(self._body, "aclose", None)
        if aclose is not None:
            with trio.CancelScope(shield=True):
                await aclose()
        await _close_wire(self._origin)


def _rules(session: RequestSession, parse: Callable[[bytes], Any] | None) -> dict[str, Any]:
    """How a response of this attempt parses (:meth:`parse`)."""
    return {"parser": parse, "stream": session.mode != "body", "framings": session.framings}


async def parsed_body(response: WireResponse, parse: Callable[[bytes], Any]) -> Any:
    """A non-streaming attempt's value: parsed once (a middleware may have parsed it
    already, or answered with the value itself)."""
    if isinstance(response, AsyncAPIResponse):
        return await response.parse()
    return parse(await response.read_body(MAX_RESPONSE_BODY))


async def open_attempt(
    client: WireClient,
    session: RequestSession,
    parse: Callable[[bytes], Any] | None = None,
) -> WireResponse:
    """Send the session's request for one attempt, through the client's middleware."""
    entries: tuple[Any, ...] = getattr(client, "middleware", ())
    if not entries:
        return await client.open_response(session.spec)
    spec = session.spec
    request = APIRequest(
        spec,
        stream=session.mode != "body",
        retries_taken=session.retries,
        beta=spec.beta,
        hops=session,
    )
    opened: list[AsyncAPIResponse] = []

    async def send(attempt: APIRequest) -> AsyncAPIResponse:
        wire = await client.open_response(attempt._spec)
        response = AsyncAPIResponse(wire, retries_taken=session.retries, **_rules(session, parse))
        opened.append(response)
        return response

    def adapt(result: Any, attempt: APIRequest) -> Any:
        # What a middleware returned, as the middleware before it gets it.
        adopted = _adopted(client, result, attempt, session, parse)
        if adopted is not None:
            opened.append(adopted)
            return adopted
        return result

    chain = compose(entries, send, "async", adapt)
    result: Any = None
    try:
        result = await chain(request)
        return _as_wire(result, session)
    finally:
        for response in opened:
            if response is not result and not response._adopted:
                await response.close()


def _adopted(
    client: WireClient,
    result: Any,
    request: APIRequest,
    session: RequestSession,
    parse: Callable[[bytes], Any] | None,
) -> AsyncAPIResponse | None:
    """An ``httpx.Response`` a middleware returned, as an :class:`AsyncAPIResponse`."""
    if isinstance(result, AsyncAPIResponse):
        return None
    adopt = getattr(client, "_adopt_response", None)
    wire = adopt(result, request) if adopt is not None else None
    if wire is None:
        return None
    adopted = AsyncAPIResponse(wire, retries_taken=session.retries, **_rules(session, parse))
    if getattr(result, "is_stream_consumed", False):  # a body given in memory
        adopted._body = result.content
    return adopted


def _as_wire(result: Any, session: RequestSession) -> WireResponse:
    if isinstance(result, AsyncAPIResponse):
        return result
    if session.mode != "body" or result is None:
        raise TypeError(
            f"middleware answered a {'streaming ' if session.mode != 'body' else ''}request "
            f"with {type(result).__name__}: return call_next's response (or an "
            "httpx.Response)" + ("" if session.mode != "body" else ", or the parsed value")
        )
    return AsyncAPIResponse(None, retries_taken=session.retries, parsed=result)
