"""Playing one scripted response over an h11 connection, faults included.

The server picks a :class:`ScriptedResponse`; :func:`play_response` writes it: the
status line and headers (``request-id`` and the framing headers added; a response
named another way, as Bedrock's ``x-amzn-RequestId``, gets no ``request-id``), then
the body in the script's network chunks, with ``chunk_delay`` between them, and the scripted
faults at their byte offsets: a stall (optionally with pings, ending early when the
client goes away) and a drop (graceful close or TCP reset).
"""

from __future__ import annotations

import itertools
import math
import socket
import struct
from collections.abc import Awaitable, Callable

import h11
import trio

from .._core.request.status import REQUEST_ID_HEADERS
from ._responses import ScriptedResponse
from ._sse import sse_bytes

__all__ = ["ClientGone", "play_response"]

_MAX_RECV = 65536
_PING = sse_bytes([{"type": "ping"}])
# Unique across every server in the process, deterministic in arrival order.
_request_ids = itertools.count(1)


class ClientGone(Exception):
    """The client closed its side while we were stalling."""


async def play_response(
    conn: h11.Connection,
    stream: trio.SocketStream,
    script: ScriptedResponse,
    finish: Callable[[], None],
) -> bool:
    """Serve one response; return False if the connection must not be reused.

    ``finish`` is called just before the write that completes (or aborts) the response,
    so that the server's ``active_requests`` is already updated when the client sees
    the end.

    Raises:
        ClientGone: The client went away during a stall.
    """

    headers = script.effective_headers()
    if not any(k.lower() in REQUEST_ID_HEADERS for k, _ in headers):
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
    drop_at = None if script.drop_after_bytes is None else min(script.drop_after_bytes, body_len)
    stall_at = None if script.stall_after_bytes is None else min(script.stall_after_bytes, body_len)
    cuts = [p for p in (drop_at, stall_at) if p is not None]
    pieces = _cut_pieces(script.network_chunks(), cuts)

    sent = 0
    stalled = False

    async def at_boundary() -> bool:
        nonlocal stalled
        if stall_at == sent and not stalled:
            stalled = True
            await _stall(conn, stream, script, send)
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
                ping = _PING if script.ping_bytes is None else script.ping_bytes
                while True:
                    await trio.sleep(script.stall_pings_every)
                    try:
                        await send(h11.Data(data=ping))
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        client_gone = True
                        break
            elif math.isinf(script.stall_seconds):
                await trio.sleep_forever()
            else:
                await trio.sleep(script.stall_seconds)
        nursery.cancel_scope.cancel()
    if client_gone:
        raise ClientGone


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
