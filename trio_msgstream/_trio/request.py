"""The trio driver of a request session: attempts, response heads, whole bodies.

Every request of the async client runs here: the stream producer, the raw stream,
non-streaming ``create()`` and the endpoints (:func:`execute`, :func:`open_body`).
The rules (retries, waits, verdicts, timeouts) are the sans-IO
:class:`~trio_msgstream._core.request.session.RequestSession`'s; this module does the waiting
(``trio.sleep``, cancel scopes) and the I/O (through the :class:`WireClient` seam).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio
from typing_extensions import Unpack

from .._core.exceptions import APIError
from .._core.middleware.chain import middleware_error_delay
from .._core.request.calls import Call
from .._core.request.session import RequestSession, SessionLabels, SessionMode
from .._core.request.spec import RequestSpec
from .._core.stream.engine import FRAMINGS
from .middleware import open_attempt, parsed_body
from .wire import WireClient, WireResponse

__all__ = [
    "RESPONSE_CLOSE_TIMEOUT",
    "close_response",
    "execute",
    "new_session",
    "open_body",
    "open_checked",
    "run_attempts",
]

T = TypeVar("T")

RESPONSE_CLOSE_TIMEOUT = 5.0
"""Seconds given to the transport to release a connection on the way out; closing
must finish even when the request is being cancelled."""


def new_session(
    client: WireClient, spec: RequestSpec, mode: SessionMode, **labels: Unpack[SessionLabels]
) -> RequestSession:
    """A session for ``spec`` on this driver's clock."""
    return RequestSession(
        spec,
        now=trio.current_time(),
        mode=mode,
        server_address=getattr(client, "server_address", None),
        provider=getattr(client, "provider_name", None),
        framings=getattr(client, "stream_framings", FRAMINGS),
        **labels,
    )


async def run_attempts(session: RequestSession, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` until it succeeds or the session says the request has failed."""
    while True:
        session.begin_attempt(trio.current_time())
        try:
            return await attempt()
        except APIError as exc:
            await trio.sleep(session.after_failure(exc, trio.current_time()))
        except Exception as exc:  # a middleware's own error: as itself, or retried
            await trio.sleep(middleware_error_delay(session, exc, trio.current_time()))


async def open_checked(
    client: WireClient, session: RequestSession, parse: Callable[[bytes], Any] | None = None
) -> WireResponse:
    """Send the session's request (through the client's middleware, which ``parse``
    serves); return the response once its head is accepted.

    Raises:
        APIStatusError: An error status (the body read, bounded, for its message).
        StreamProtocolError: A stream was asked for and this is not one.
    """
    response = await open_attempt(client, session, parse)
    try:
        limit = session.head_verdict(response.status_code, response.headers)
        if limit is not None:
            body = await response.read_bounded(limit)
            raise session.head_error(
                response.status_code,
                response.headers,
                body,
                response=response.raw,
                request=response.request,
            )
    except BaseException:
        await close_response(response)
        raise
    session.response_started(response.request_id, response.secrets)
    return response


async def close_response(response: WireResponse) -> None:
    """Release a response's connection, shielded and bounded (safe while cancelled)."""
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + RESPONSE_CLOSE_TIMEOUT
        await response.aclose()


async def execute(
    client: WireClient, call: Call[T], *, params: Mapping[str, Any] | None = None
) -> T:
    """Send a call whose answer is one body, with retries; return the parsed body."""
    session = new_session(client, call.spec, "body", operation=call.operation, params=params)

    async def attempt() -> T:
        response = await open_checked(client, session, call.parse)
        try:
            return await parsed_body(response, call.parse)  # type: ignore[no-any-return]
        finally:
            await close_response(response)

    with trio.move_on_at(session.deadline_at):
        result = await run_attempts(session, attempt)
        session.succeed(result)
        return result
    raise session.fail(session.deadline_error())


@asynccontextmanager
async def open_body(
    client: WireClient, spec: RequestSpec, *, operation: str = "body"
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The body of a 2xx response as it arrives (retried until the head is accepted).

    For bodies read piece by piece (a batch's JSONL results). Leaving the block
    releases the connection.
    """
    session = new_session(client, spec, "body", operation=operation)
    with trio.move_on_at(session.deadline_at) as scope:
        response = await run_attempts(session, lambda: open_checked(client, session))
        try:
            yield response.iter_chunks()
            session.succeed()
        finally:
            await close_response(response)
    if scope.cancelled_caught:
        raise session.fail(session.deadline_error())
