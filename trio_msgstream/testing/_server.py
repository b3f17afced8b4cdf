"""A fake Anthropic Messages API server: real sockets, HTTP/1.1 via h11, scripted replies."""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import socket
import struct
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import h11
import trio

from ._scripts import ScriptedResponse, default_responder, sse_bytes

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
_PING = sse_bytes([{"type": "ping"}])
# Unique across every server in the process, deterministic in arrival order.
_request_ids = itertools.count(1)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received by the fake server.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: Request path without the query string, e.g. ``"/v1/messages"``.
        query: Query string without the ``?`` (``""`` when absent), e.g. ``"beta=true"``.
        headers: Header pairs in arrival order, names lower-cased.
        body: Raw request body.
        json: The body parsed as JSON, or ``None`` if it is empty or not valid JSON.
        connection_id: Number (from 1, in accept order, never reused by this server) of the
            TCP connection that carried the request.
    """

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    json: Any
    connection_id: int

    def header(self, name: str) -> str | None:
        """Return the first value of a header, case-insensitively.

        Args:
            name: Header name.

        Returns:
            The value, or ``None`` if the header was not sent.
        """
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


Responder = Callable[[RecordedRequest], ScriptedResponse]
"""A function that builds the response to a request when no script is queued."""

RouteHandler = Callable[
    ["FakeAnthropicServer", RecordedRequest, Mapping[str, str]], ScriptedResponse
]
"""``handler(server, request, params)``: ``params`` holds the ``{name}`` values."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _route_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for found in _PLACEHOLDER.finditer(pattern):
        parts += [re.escape(pattern[last : found.start()]), f"(?P<{found.group(1)}>[^/]+)"]
        last = found.end()
    return re.compile("".join([*parts, re.escape(pattern[last:])]))


class _ClientGone(Exception):
    """The client closed its side while we were stalling."""


def _not_found() -> ScriptedResponse:
    return ScriptedResponse.error(404, "not_found_error", "Not Found")


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
        self._routes: list[tuple[str, re.Pattern[str], RouteHandler]] = []

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
        """Answer ``method`` requests to ``pattern`` with ``handler(server, request,
        params)``, before the built-in ``/v1/messages`` (whose scripts do not apply).

        ``pattern`` is a path with ``{name}`` placeholders, each matching one segment;
        their values are the handler's ``params``. The last route added wins.
        """
        with self._lock:
            self._routes.insert(0, (method.upper(), _route_regex(pattern), handler))

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

    def _route(self, request: RecordedRequest) -> ScriptedResponse | None:
        with self._lock:
            routes = list(self._routes)
        for method, regex, handler in routes:
            found = regex.fullmatch(request.path)
            if method == request.method and found is not None:
                try:
                    return handler(self, request, found.groupdict())
                except Exception as exc:
                    logger.exception("fake server route handler failed")
                    return ScriptedResponse.error(500, "api_error", f"route raised {exc!r}")
        return None

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
        except _ClientGone:
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
        routed = self._route(request)
        if routed is not None:
            script = routed
        elif request.method == "POST" and request.path == "/v1/messages":
            script = self._next_script(request)
        else:
            script = _not_found()

        headers = script.effective_headers()
        if not any(k.lower() == "request-id" for k, _ in headers):
            headers.append(("request-id", f"req_fake{next(_request_ids):020d}"))
        headers = [
            (k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")
        ]
        if script.uses_chunked_encoding:
            headers.append(("transfer-encoding", "chunked"))
        else:
            headers.append(("content-length", str(len(script.body))))

        async def send(*events: h11.Event) -> None:
            data = b"".join(conn.send(event) or b"" for event in events)
            if conn.our_state in (h11.DONE, h11.MUST_CLOSE):
                finish()
            if data:
                await stream.send_all(data)

        head = h11.Response(
            status_code=script.status,
            headers=headers,
            reason=script.reason_phrase.encode("latin-1"),
        )
        body_len = len(script.body)
        drop_at = (
            None if script.drop_after_bytes is None else min(script.drop_after_bytes, body_len)
        )
        stall_at = (
            None if script.stall_after_bytes is None else min(script.stall_after_bytes, body_len)
        )
        cuts = [p for p in (drop_at, stall_at) if p is not None]
        pieces = _cut_pieces(script.network_chunks(), cuts)

        sent = 0
        stalled = False

        async def at_boundary() -> bool:
            nonlocal stalled
            if stall_at == sent and not stalled:
                stalled = True
                await self._stall(conn, stream, script, send)
            if drop_at == sent:
                finish()
                await _abort(stream, reset=script.drop_with_reset)
                return False
            return True

        # The final body bytes and the end of the message go out in one write, unless a
        # fault is scheduled at the very end of the body.
        end_fault = body_len in (drop_at, stall_at)
        if not pieces and not end_fault:
            await send(head, h11.EndOfMessage())
            return True
        await send(head)
        for index, piece in enumerate(pieces):
            if not await at_boundary():
                return False
            if index and script.chunk_delay:
                await trio.sleep(script.chunk_delay)
            if index == len(pieces) - 1 and not end_fault:
                await send(h11.Data(data=piece), h11.EndOfMessage())
                return True
            await send(h11.Data(data=piece))
            sent += len(piece)
        if not await at_boundary():
            return False
        await send(h11.EndOfMessage())
        return True

    async def _stall(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        script: ScriptedResponse,
        send: Callable[[h11.Event], Awaitable[None]],
    ) -> None:
        client_gone = False

        async def watch_for_eof(cancel_scope: trio.CancelScope) -> None:
            nonlocal client_gone
            while True:
                try:
                    data = await stream.receive_some(_MAX_RECV)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    data = b""
                if not data:
                    client_gone = True
                    cancel_scope.cancel()
                    return
                conn.receive_data(data)  # a pipelined request; h11 buffers it

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_for_eof, nursery.cancel_scope)
            with trio.move_on_after(script.stall_seconds):
                if script.stall_pings_every is not None and script.uses_chunked_encoding:
                    while True:
                        await trio.sleep(script.stall_pings_every)
                        try:
                            await send(h11.Data(data=_PING))
                        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                            client_gone = True
                            break
                elif math.isinf(script.stall_seconds):
                    await trio.sleep_forever()
                else:
                    await trio.sleep(script.stall_seconds)
            nursery.cancel_scope.cancel()
        if client_gone:
            raise _ClientGone


def _cut_pieces(pieces: list[bytes], cuts: list[int]) -> list[bytes]:
    """Split pieces further so that every offset in ``cuts`` is a piece boundary."""
    if not cuts:
        return pieces
    result: list[bytes] = []
    offset = 0
    for piece in pieces:
        inner = [c - offset for c in cuts if offset < c < offset + len(piece)]
        bounds = [0, *sorted(set(inner)), len(piece)]
        result.extend(piece[a:b] for a, b in itertools.pairwise(bounds))
        offset += len(piece)
    return result


async def _abort(stream: trio.SocketStream, *, reset: bool) -> None:
    if reset:
        try:
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - platform specific
            pass
    await stream.aclose()


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

    All server tasks are cancelled and all sockets closed when the block exits.

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
    async with trio.open_nursery() as nursery:
        server: FakeAnthropicServer = await nursery.start(
            partial(serve_fake_anthropic, host=host, port=port, responder=responder)
        )
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
