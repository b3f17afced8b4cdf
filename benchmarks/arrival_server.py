"""Loopback server for the two arrival patterns of issue 11: BULK and PACED.

Run as ``python benchmarks/arrival_server.py [--cpu N] [--max-seconds S]``: prints its
base URL (``http://127.0.0.1:PORT``) on the first line of stdout, then serves until its
stdin is closed or ``--max-seconds`` have passed, whichever comes first. It listens on
127.0.0.1 only.

A minimal HTTP/1.1 server (asyncio, keep-alive, ``Content-Length`` request bodies), so
that the server itself costs as little as possible and writes exactly what it is told
to. Each request's ``model`` field is ``"<pattern>/<scenario key>"``:

- ``bulk/text:25000``: the whole response (headers and every event, one HTTP chunk per
  SSE event) in one write. The client never waits for the network: what is measured is
  its parse and dispatch cost.
- ``paced60/text:300``: the stream paced at 60 deltas per second, each stream on its
  own clock. Tick ``k`` carries delta ``k`` (tick 0 also carries the response headers
  and the events before the first delta; the last tick also carries the events after the
  last delta) and is written at ``t_w + k / rate``, where ``t_w`` is the moment tick 0
  was written.
- ``warm/text:25000``: builds and caches the bytes of ``text:25000``, answers with the
  short ``text:20`` in bulk (a client's warm-up request before it times that scenario).
- ``paced5d20/text:50``: the same at 5 deltas per second, tick 0 written 20 ms after
  the request arrived (a client that is already waiting for the response, which is
  what the first-byte latency measurement needs).

The ``request-id`` response header carries ``t_w`` as ``time.monotonic()`` seconds.
``CLOCK_MONOTONIC`` is one clock for every process on the machine, so a client computes
the lag of delta ``k`` as ``arrival - (t_w + k / rate)`` without any clock exchange.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from functools import cache

from scenarios import build

from trio_msgstream.testing import split_events

_PATTERN = re.compile(r"^(bulk|warm|paced(\d+(?:\.\d+)?)(?:d(\d+))?)/(.+)$")
_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n"
    b"request-id: %.6f\r\n"
    b"\r\n"
)
_END = b"0\r\n\r\n"
MAX_REQUEST_BYTES = 1 << 20
WARM_KEY = "text:20"


def _chunk(event: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(event), event)


@cache
def ticks(key: str) -> tuple[bytes, ...]:
    """The HTTP chunks of scenario ``key`` grouped into ticks: one per delta."""
    out: list[bytes] = []
    current: list[bytes] = []
    seen_delta = False
    for event in split_events(build(key).body):
        is_delta = event.startswith(b"event: content_block_delta")
        if is_delta and seen_delta:
            out.append(b"".join(current))
            current = []
        seen_delta = seen_delta or is_delta
        current.append(_chunk(event))
    out.append(b"".join(current))
    return tuple(out)


@cache
def bulk_body(key: str) -> bytes:
    return b"".join(ticks(key)) + _END


def _error(status: bytes, message: str) -> bytes:
    body = json.dumps({"type": "error", "error": {"type": "bench", "message": message}}).encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )


async def _respond(writer: asyncio.StreamWriter, model: str) -> None:
    match = _PATTERN.match(model)
    if match is None:
        writer.write(_error(b"400 Bad Request", f"bad model {model!r}"))
        return
    pattern, rate, delay_ms, key = match.groups()
    if pattern in ("bulk", "warm"):
        body = bulk_body(key)
        if pattern == "warm":  # build and cache ``key``, answer with a short stream
            body = bulk_body(WARM_KEY)
        writer.write(_HEAD % time.monotonic() + body)
        await writer.drain()
        return
    period = 1.0 / float(rate)
    parts = ticks(key)
    if delay_ms:
        await asyncio.sleep(int(delay_ms) / 1000)
    t_w = time.monotonic()
    writer.write(_HEAD % t_w + parts[0])
    await writer.drain()
    for k in range(1, len(parts)):
        wait = t_w + k * period - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        writer.write(parts[k])
        await writer.drain()
    writer.write(_END)
    await writer.drain()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:  # keep-alive: one request after another, until the client closes
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length > MAX_REQUEST_BYTES:
                writer.write(_error(b"413 Payload Too Large", "request too large"))
                return
            request = json.loads(await reader.readexactly(length)) if length else {}
            await _respond(writer, str(request.get("model", "")))
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _serve(max_seconds: float) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    async with server:
        try:
            await asyncio.wait_for(asyncio.shield(stdin_closed), timeout=max_seconds)
        except TimeoutError:
            print("arrival_server: --max-seconds reached, stopping", file=sys.stderr)
    os._exit(0)  # the executor thread still blocks in stdin.read; do not wait for it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--max-seconds", type=float, default=4 * 3600.0)
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    asyncio.run(_serve(args.max_seconds))


if __name__ == "__main__":
    main()
