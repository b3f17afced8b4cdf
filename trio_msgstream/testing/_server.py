"""A fake Anthropic Messages API server: real sockets, HTTP/1.1 via h11, scripted replies.

Each connection is served in its own task (HTTP/1.1 keep-alive). A request is answered
through the route table (``_routes``): routes added to the server with
:meth:`FakeAnthropicServer.add_route`, then those registered process-wide with
:func:`~trio_msgstream.testing.register_route`, then the built-in ``POST /v1/messages``
(``fail_first`` scripts, queued scripts, then the responder). Anything else is a
``404 not_found_error``. To fake another endpoint, write a handler that returns a
:class:`ScriptedResponse` and register it; see ``_routes`` for the pattern syntax.
The chosen response is then played byte for byte, with its faults (drops, resets,
stalls, pings while stalled) at the offsets it names.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial

import h11
import trio

from ._background import open_service
from ._model import default_responder
from ._playback import ClientGone, play_response
from ._responses import ScriptedResponse
from ._routes import RecordedRequest, Route, RouteHandler, make_route, registered_routes

__all__ = [
    "FakeAnthropicServer",
    "RecordedRequest",
    "Responder",
    "RouteHandler",
    "open_fake_anthropic",
    "serve_fake_anthropic",
]

logger = logging.getLogger("trio_msgstream.testing")

_MAX_RECV = 65536


Responder = Callable[[RecordedRequest], ScriptedResponse]
"""A function that builds the response to a request when no script is queued."""


def _not_found() -> ScriptedResponse:
    return ScriptedResponse.error(404, "not_found_error", "Not Found")


def _messages(
    server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
) -> ScriptedResponse:
    return server._next_script(request)


_MESSAGES_ROUTE = make_route("POST", "/v1/messages", _messages)


def _no_script() -> ScriptedResponse:
    return ScriptedResponse.error(
        500, "api_error", "FakeAnthropicServer: no scripted response queued and no responder"
    )


class FakeAnthropicServer:
    """State and scripting interface of a running fake Anthropic server.

    Create one with :func:`open_fake_anthropic`, :func:`serve_fake_anthropic` or
    :func:`~trio_msgstream.testing.fake_anthropic_in_thread`; do not instantiate it directly.

    ``POST /v1/messages`` (any query string, e.g. ``?beta=true``) is answered with, in
    order of priority: the :meth:`fail_first` response while its count lasts, the next
    :meth:`enqueue`-d response, or ``responder(request)``. Every other path gets a
    ``404 not_found_error`` JSON body (such requests are recorded but consume no script).

    Scripting methods (:meth:`enqueue`, :meth:`fail_first`, :meth:`reset`) are thread-safe,
    so a server running in a background thread can be scripted from the main thread.

    Attributes:
        host: Listening address.
        port: Listening port.
        requests: Every request received, in arrival order.
        connections_opened: TCP connections accepted so far.
        active_requests: Requests currently being answered.
        max_concurrent_requests: High-water mark of ``active_requests``.
        responder: Builds responses when no script is queued; ``None`` makes such requests
            fail with ``500 api_error``.
    """

    def __init__(self, *, host: str = "127.0.0.1", responder: Responder | None = None) -> None:
        self.host = host
        self.port = 0
        self.responder: Responder | None = responder if responder is not None else default_responder
        self.requests: list[RecordedRequest] = []
        self.connections_opened: int = 0
        self.active_requests: int = 0
        self.max_concurrent_requests: int = 0
        self._lock = threading.Lock()
        self._queue: deque[ScriptedResponse] = deque()
        self._fail_first_left = 0
        self._fail_first_response: ScriptedResponse | None = None
        self._arrived = trio.Event()
        self._connection_ids = itertools.count(1)
        self._routes: list[Route] = []

    @property
    def base_url(self) -> str:
        """Base URL of the server, e.g. ``"http://127.0.0.1:54321"``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def enqueue(self, *responses: ScriptedResponse) -> None:
        """Queue responses; each later ``POST /v1/messages`` consumes one, first in first out.

        Args:
            *responses: The responses to queue.
        """
        with self._lock:
            self._queue.extend(responses)

    def fail_first(self, k: int, response: ScriptedResponse) -> None:
        """Answer the next ``k`` message requests with ``response``, before any queued ones.

        Args:
            k: Number of requests to fail.
            response: The response to serve each time (e.g. a 529 ``overloaded_error``).
        """
        with self._lock:
            self._fail_first_left = k
            self._fail_first_response = response

    def reset(self) -> None:
        """Forget recorded requests and counters, and drop queued and ``fail_first`` scripts.

        Connections already open stay open (and are not counted again).
        """
        with self._lock:
            self._queue.clear()
            self._fail_first_left = 0
            self._fail_first_response = None
            self.requests.clear()
            self.connections_opened = 0
            self.max_concurrent_requests = self.active_requests

    def add_route(self, method: str, pattern: str, handler: RouteHandler) -> None:
        """Answer ``method pattern`` with ``handler`` on this server (before every other
        route; see :func:`~trio_msgstream.testing.register_route` for the syntax).

        Args:
            method: HTTP method, e.g. ``"POST"``.
            pattern: Path with ``{name}`` placeholders, e.g. ``"/v1/messages/batches/{id}"``.
            handler: ``handler(server, request, params) -> ScriptedResponse``.
        """
        route = make_route(method, pattern, handler)
        with self._lock:
            self._routes.insert(0, route)

    async def wait_for_requests(self, n: int) -> None:
        """Wait until at least ``n`` requests have been recorded.

        Must be called from the Trio run that hosts the server.

        Args:
            n: Number of recorded requests to wait for.
        """
        while len(self.requests) < n:
            await self._arrived.wait()

    # ---- internals

    def _next_script(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            if self._fail_first_left > 0 and self._fail_first_response is not None:
                self._fail_first_left -= 1
                return self._fail_first_response
            if self._queue:
                return self._queue.popleft()
            responder = self.responder
        if responder is None:
            return _no_script()
        try:
            return responder(request)
        except Exception as exc:
            logger.exception("fake server responder failed")
            return ScriptedResponse.error(500, "api_error", f"responder raised {exc!r}")

    def _route(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            routes = [*self._routes, *registered_routes(), _MESSAGES_ROUTE]
        for route in routes:
            params = route.match(request.method, request.path)
            if params is None:
                continue
            try:
                return route.handler(self, request, params)
            except Exception as exc:
                logger.exception("fake server route %s %s failed", route.method, route.pattern)
                return ScriptedResponse.error(500, "api_error", f"route handler raised {exc!r}")
        return _not_found()

    def _record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        self._arrived.set()
        self._arrived = trio.Event()

    async def _handle_connection(self, stream: trio.SocketStream) -> None:
        with self._lock:
            self.connections_opened += 1
            connection_id = next(self._connection_ids)
        conn = h11.Connection(h11.SERVER)
        try:
            async with stream:
                while True:
                    request = await self._receive_request(conn, stream, connection_id)
                    if request is None:
                        return
                    self._record(request)
                    self.active_requests += 1
                    self.max_concurrent_requests = max(
                        self.max_concurrent_requests, self.active_requests
                    )
                    finished = False

                    def finish() -> None:
                        nonlocal finished
                        if not finished:
                            finished = True
                            self.active_requests -= 1

                    try:
                        keep_going = await self._respond(conn, stream, request, finish)
                    finally:
                        finish()
                    if not keep_going or conn.our_state is not h11.DONE:
                        return
                    if conn.their_state is not h11.DONE:
                        return
                    conn.start_next_cycle()
        except (
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            h11.ProtocolError,
            OSError,
        ) as exc:
            logger.debug("fake server connection %d ended: %r", connection_id, exc)
        except ClientGone:
            logger.debug("fake server connection %d: client went away", connection_id)

    async def _receive_request(
        self, conn: h11.Connection, stream: trio.SocketStream, connection_id: int
    ) -> RecordedRequest | None:
        start: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                logger.debug("fake server: bad request on connection %d: %r", connection_id, exc)
                await self._send_bad_request(conn, stream)
                return None
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(_MAX_RECV))
            elif isinstance(event, h11.Request):
                start = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None
        assert start is not None
        target = start.target.decode("latin-1")
        path, _, query = target.partition("?")
        raw = bytes(body)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return RecordedRequest(
            method=start.method.decode("ascii"),
            path=path,
            query=query,
            headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start.headers],
            body=raw,
            json=parsed,
            connection_id=connection_id,
        )

    async def _send_bad_request(self, conn: h11.Connection, stream: trio.SocketStream) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = b'{"type":"error","error":{"type":"invalid_request_error","message":"Bad request"}}'
        headers = [
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            ("connection", "close"),
        ]
        data = conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request"))
        data = (data or b"") + (conn.send(h11.Data(data=body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        await stream.send_all(data)

    async def _respond(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        request: RecordedRequest,
        finish: Callable[[], None],
    ) -> bool:
        """Serve one response; return False if the connection must not be reused.

        ``finish`` is called just before the write that completes (or aborts) the response,
        so that ``active_requests`` is already updated when the client sees the end.
        """
        script = self._route(request)
        return await play_response(conn, stream, script, finish)


async def serve_fake_anthropic(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    responder: Responder | None = None,
    task_status: trio.TaskStatus[FakeAnthropicServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run a fake Anthropic server until cancelled.

    Use with ``nursery.start``, which returns the :class:`FakeAnthropicServer` once it is
    listening. Each connection is served in its own task with HTTP/1.1 keep-alive.

    Args:
        host: Address to listen on (loopback only is intended).
        port: Port to listen on; ``0`` picks a free one (see ``server.port``).
        responder: Builds responses when no script is queued; defaults to
            :func:`~trio_msgstream.testing.default_responder`.
        task_status: Passed by ``nursery.start``.

    Example:
        >>> async with trio.open_nursery() as nursery:  # doctest: +SKIP
        ...     server = await nursery.start(serve_fake_anthropic)
        ...     ...
        ...     nursery.cancel_scope.cancel()
    """
    server = FakeAnthropicServer(host=host, responder=responder)
    listeners = await trio.open_tcp_listeners(port, host=host)
    try:
        server.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(trio.serve_listeners, server._handle_connection, listeners))
            task_status.started(server)
    finally:
        for listener in listeners:
            with trio.CancelScope(shield=True):
                await listener.aclose()


@asynccontextmanager
async def open_fake_anthropic(
    *,
    responder: Responder | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[FakeAnthropicServer]:
    """Run a fake Anthropic server for the duration of an ``async with`` block.

    All server tasks are cancelled and all sockets closed when the block exits. An
    exception raised in the block comes out as itself (never an ExceptionGroup of one).

    Args:
        responder: Builds responses when no script is queued; defaults to
            :func:`~trio_msgstream.testing.default_responder`.
        host: Address to listen on.
        port: Port to listen on; ``0`` picks a free one.

    Yields:
        The running server.

    Example:
        >>> async with open_fake_anthropic() as server:  # doctest: +SKIP
        ...     server.enqueue(text_response("Hi!"))
        ...     async with httpx.AsyncClient(base_url=server.base_url) as client:
        ...         ...
    """
    start = partial(serve_fake_anthropic, host=host, port=port, responder=responder)
    async with open_service(start) as server:
        yield server
