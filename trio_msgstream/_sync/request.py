"""The synchronous driver of a request session: attempts, response heads, bodies.

The same rules as the trio driver, from the same sans-IO
:class:`~trio_msgstream._core.request.session.RequestSession`; waiting is ``time.sleep`` and
the clock is :func:`time.monotonic`. Without cancel scopes, ``content_idle`` and
``deadline`` are enforced by clamping each request's httpx timeouts to them (the
session computes the clamps) and by checking the clock whenever a chunk arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import Unpack

from .._core.exceptions import APIError
from .._core.middleware.chain import middleware_error_delay
from .._core.request.calls import Call, PageCall
from .._core.request.session import RequestSession, SessionLabels, SessionMode
from .._core.request.spec import RequestSpec
from .._core.stream.engine import FRAMINGS
from .middleware import open_attempt, parsed_body
from .response import SyncHttpxWireResponse

if TYPE_CHECKING:
    from .client import Client

__all__ = ["SyncPaginator", "execute", "new_session", "open_body", "open_checked", "run_attempts"]

T = TypeVar("T")
PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


def new_session(
    client: Client, spec: RequestSpec, mode: SessionMode, **labels: Unpack[SessionLabels]
) -> RequestSession:
    """A session for ``spec`` on this driver's clock."""
    return RequestSession(
        spec,
        now=time.monotonic(),
        mode=mode,
        server_address=getattr(client, "server_address", None),
        provider=getattr(client, "provider_name", None),
        framings=getattr(client, "stream_framings", FRAMINGS),
        **labels,
    )


def run_attempts(session: RequestSession, attempt: Callable[[], T]) -> T:
    """Call ``attempt`` until it succeeds or the session says the request has failed."""
    while True:
        session.begin_attempt(time.monotonic())
        try:
            return attempt()
        except APIError as exc:
            time.sleep(session.after_failure(exc, time.monotonic()))
        except Exception as exc:  # a middleware's own error: as itself, or retried
            time.sleep(middleware_error_delay(session, exc, time.monotonic()))


def open_checked(
    client: Client, session: RequestSession, parse: Callable[[bytes], Any] | None = None
) -> SyncHttpxWireResponse:
    """Send the session's request (through the client's middleware, which ``parse``
    serves); return the response once its head is accepted."""
    response = open_attempt(client, session, parse)
    try:
        limit = session.head_verdict(response.status_code, response.headers)
        if limit is not None:
            body = response.read_bounded(limit)
            raise session.head_error(
                response.status_code,
                response.headers,
                body,
                response=response.raw,
                request=response.request,
            )
    except BaseException:
        response.close()
        raise
    session.response_started(response.request_id, response.secrets)
    return response


def execute(client: Client, call: Call[T], *, params: Mapping[str, Any] | None = None) -> T:
    """Send a call whose answer is one body, with retries; return the parsed body."""
    session = new_session(client, call.spec, "body", operation=call.operation, params=params)

    def attempt() -> T:
        response = open_checked(client, session, call.parse)
        try:
            return parsed_body(response, call.parse)  # type: ignore[no-any-return]
        finally:
            response.close()

    result = run_attempts(session, attempt)
    session.succeed(result)
    return result


@contextmanager
def open_body(
    client: Client, spec: RequestSpec, *, operation: str = "body"
) -> Iterator[Iterator[bytes]]:
    """The body of a 2xx response as it arrives (retried until the head is accepted)."""
    session = new_session(client, spec, "body", operation=operation)
    response = run_attempts(session, lambda: open_checked(client, session))
    try:
        yield response.iter_chunks()
        session.succeed()
    finally:
        response.close()


class SyncPaginator(Generic[PageT, ItemT]):
    """Every item of a paginated list (``for``), or its pages (:meth:`pages`)."""

    def __init__(self, client: Client, first: PageCall[PageT, ItemT]) -> None:
        self._client = client
        self._first = first

    def pages(self) -> Iterator[PageT]:
        """The pages, one request each, fetched as the iteration asks."""
        current: PageCall[PageT, ItemT] | None = self._first
        while current is not None:
            page = execute(self._client, current.call)
            yield page
            current = current.next_page(page)

    def first_page(self) -> PageT:
        """The first page alone."""
        return execute(self._client, self._first.call)

    def __iter__(self) -> Iterator[ItemT]:
        current: PageCall[PageT, ItemT] | None = self._first
        while current is not None:
            page = execute(self._client, current.call)
            yield from current.items(page)
            current = current.next_page(page)
