"""The contenders of the arrival-pattern benchmark: one function per client, each
streaming one response from ``arrival_server.py`` and reporting every text delta to a
``Tracker`` (for lag and first-item latency) when the run is paced.

Every contender gets the same bytes; what each one does with them:

- ``raw_httpx``: httpx under trio, body bytes read and discarded (the transport limit).
- ``raw_sse``: the same plus a minimal SSE splitter and ``json.loads`` per event (the
  parse limit: no validation, no accumulation).
- ``ours_stream``: ``open_message_stream`` + ``get_final_message()``.
- ``ours_text``: ``open_message_stream`` consuming ``text_stream``.
- ``ours_handlers``: ``open_message_stream`` with an ``on_text`` handler subclass, then
  ``get_final_message()``.
- ``ours_raw``: ``client.messages.create(stream=True)``, every event iterated.
- ``ours_sync``: the sync ``Client``, ``messages.stream()`` + ``text_stream`` +
  ``get_final_message()`` (sequential runs only); ``raw_httpx_sync`` is its transport
  limit (``httpx.Client``, bytes read and discarded).
- ``sdk``: the official ``anthropic`` SDK under asyncio, ``AsyncAnthropic().messages
  .stream()`` + ``text_stream`` + ``get_final_message()``.
- ``raw_httpx2``, ``ours_stream_httpx2``, ``ours_text_httpx2``: ``raw_httpx``,
  ``ours_stream`` and ``ours_text`` on an ``httpx2.AsyncClient`` (the library's choice
  of default HTTP library is measured by them).
"""

from __future__ import annotations

import importlib
import json
import time
from array import array
from collections.abc import Awaitable, Callable
from typing import Any

MESSAGES = [{"role": "user", "content": "Benchmark, please."}]
HEADERS = {
    "x-api-key": "x",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}
KEEPALIVE = 20  # httpx's default idle keep-alive connections, for every contender
CONNECT_TIMEOUT = 60.0
HTTPX2 = ("raw_httpx2", "ours_stream_httpx2", "ours_text_httpx2")
TRIO = ("raw_httpx", "raw_sse", "ours_stream", "ours_text", "ours_handlers", "ours_raw", *HTTPX2)
ASYNCIO = ("sdk",)
SYNC = ("raw_httpx_sync", "ours_sync")
ALL = TRIO + ASYNCIO + SYNC
DELTA_MARK = b"event: content_block_delta"

Check = int | Callable[[], int]
"""What a contender returns to prove its work: a number, or a function that computes it
after the round's clock has stopped (re-serializing a 400 KB tool input is not the
client's work)."""
One = Callable[[str, "Probe"], Awaitable[Check]]


class Probe:
    """What one process measures across its streams: concurrency, lags, first items."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.lags: array[float] = array("d")
        self.first: array[float] = array("d")
        self.now = 0
        self.max = 0
        self.full_at = 0  # all the streams in flight: sample RSS then (and every 50 on the way)
        self.rss_max_kib = 0

    def tracker(self) -> Tracker | None:
        return Tracker(self) if self.rate else None

    def enter(self) -> None:
        self.now += 1
        if self.now > self.max:
            self.max = self.now
            if self.now == self.full_at or self.now % 50 == 0 or self.now < 50:
                self.rss_max_kib = current_rss_kib()  # RSS at the most streams in flight

    def exit(self) -> None:
        self.now -= 1


class Tracker:
    """One stream's deltas: delta ``k`` is due at ``t0 + k / rate``."""

    __slots__ = ("k", "lags", "period", "probe", "t0")

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.lags = probe.lags
        self.period = 1.0 / probe.rate if probe.rate else 0.0
        self.t0 = 0.0
        self.k = 0

    def start(self, request_id: str | None) -> None:
        self.t0 = float(request_id or 0.0)

    def hit(self, n: int = 1) -> None:
        now = time.monotonic()
        if self.k == 0 and n:
            self.probe.first.append(now - self.t0)
        for _ in range(n):
            self.lags.append(now - self.t0 - self.k * self.period)
            self.k += 1


def current_rss_kib() -> int:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import resource

        return pages * resource.getpagesize() // 1024
    except OSError:
        return 0


def body(model: str) -> bytes:
    return json.dumps(
        {"model": model, "max_tokens": 1024, "messages": MESSAGES, "stream": True}
    ).encode()


def message_check(message: Any) -> int:
    """Text characters plus tool-input JSON characters of a final message."""
    total = 0
    for block in message.content:
        if block.type == "text":
            total += len(block.text)
        elif block.type == "thinking":
            total += len(block.thinking)
        elif block.type == "tool_use":
            total += len(json.dumps(block.input, separators=(",", ":")))
    return total


def split_sse(buf: bytes, tracker: Tracker | None) -> tuple[int, bytes]:
    """Split complete SSE events off ``buf``, ``json.loads`` each ``data`` line, report
    the deltas; return (events, the incomplete rest)."""
    n = 0
    deltas = 0
    loads = json.loads
    start = 0
    while True:
        end = buf.find(b"\n\n", start)
        if end < 0:
            break
        for line in buf[start:end].split(b"\n"):
            if line.startswith(b"data:"):
                loads(line[5:])
                n += 1
            elif line == DELTA_MARK:
                deltas += 1
        start = end + 2
    if tracker is not None and deltas:
        tracker.hit(deltas)
    return n, buf[start:]


# --------------------------------------------------------------------------- trio / asyncio


def http_library(contender: str) -> tuple[str, str]:
    """(the contender measured, the HTTP library it runs on): ``*_httpx2`` is the
    contender of the same name on httpx2."""
    if contender == "raw_httpx2":
        return "raw_httpx", "httpx2"
    if contender.endswith("_httpx2"):
        return contender.removesuffix("_httpx2"), "httpx2"
    return contender, "httpx"


def httpx_async_client(library: str = "httpx") -> Any:
    httpx = importlib.import_module(library)

    return httpx.AsyncClient(
        timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE),
    )


def async_factory(contender: str, base_url: str) -> tuple[Any, One]:
    """(the object to ``async with``, the one-stream coroutine function)."""
    url = base_url + "/v1/messages"
    if contender == "sdk":
        return _sdk_factory(base_url)
    contender, library = http_library(contender)
    http = httpx_async_client(library)
    if contender == "raw_httpx":

        async def raw_httpx(model: str, probe: Probe) -> int:
            n = 0
            tr = probe.tracker()
            async with http.stream("POST", url, content=body(model), headers=HEADERS) as r:
                probe.enter()
                if tr is None:
                    async for chunk in r.aiter_bytes():
                        n += len(chunk)
                else:
                    tr.start(r.headers.get("request-id"))
                    async for chunk in r.aiter_bytes():
                        n += len(chunk)
                        tr.hit(chunk.count(DELTA_MARK))
            probe.exit()
            return n

        return http, raw_httpx
    if contender == "raw_sse":

        async def raw_sse(model: str, probe: Probe) -> int:
            n = 0
            rest = b""
            tr = probe.tracker()
            async with http.stream("POST", url, content=body(model), headers=HEADERS) as r:
                probe.enter()
                if tr is not None:
                    tr.start(r.headers.get("request-id"))
                async for chunk in r.aiter_bytes():
                    got, rest = split_sse(rest + chunk if rest else chunk, tr)
                    n += got
            probe.exit()
            return n

        return http, raw_sse
    return http, _ours_factory(contender, base_url, http)


def _ours_factory(contender: str, base_url: str, http: Any) -> One:
    import trio

    import trio_msgstream as tms

    client = tms.AsyncClient(
        base_url=base_url,
        api_key="x",
        http_client=http,
        max_retries=0,
        timeout=tms.Timeout(connect=CONNECT_TIMEOUT),
    )
    kw: dict[str, Any] = {"max_tokens": 1024, "messages": MESSAGES}

    if contender == "ours_stream":

        async def ours_stream(model: str, probe: Probe) -> Check:
            async with trio.open_nursery() as nursery:
                async with tms.open_message_stream(nursery, client, model=model, **kw) as s:
                    probe.enter()
                    message = await s.get_final_message()
            probe.exit()
            return lambda: message_check(message)

        return ours_stream
    if contender == "ours_text":

        async def ours_text(model: str, probe: Probe) -> int:
            n = 0
            tr = probe.tracker()
            async with trio.open_nursery() as nursery:
                async with tms.open_message_stream(nursery, client, model=model, **kw) as s:
                    probe.enter()
                    if tr is None:
                        async for text in s.text_stream:
                            n += len(text)
                    else:
                        async for text in s.text_stream:
                            if not tr.k:
                                tr.start(s.request_id)
                            tr.hit()
                            n += len(text)
            probe.exit()
            return n

        return ours_text
    if contender == "ours_handlers":

        class Counter(tms.MessageStream):
            chars = 0
            tracker: Tracker | None = None

            async def on_text(self, text: str) -> None:  # type: ignore[override]
                self.chars += len(text)
                tr = self.tracker
                if tr is not None:
                    if not tr.k:
                        tr.start(self.request_id)
                    tr.hit()

        async def ours_handlers(model: str, probe: Probe) -> int:
            async with trio.open_nursery() as nursery:
                async with tms.open_message_stream(
                    nursery, client, model=model, event_handler=Counter, **kw
                ) as s:
                    s.tracker = probe.tracker()
                    probe.enter()
                    await s.get_final_message()
            probe.exit()
            return s.chars

        return ours_handlers
    if contender == "ours_raw":

        async def ours_raw(model: str, probe: Probe) -> int:
            n = 0
            tr = probe.tracker()
            events = await client.messages.create(model=model, stream=True, **kw)
            async with events:
                probe.enter()
                if tr is None:
                    async for _event in events:
                        n += 1
                else:
                    tr.start(events.request_id)
                    async for event in events:
                        n += 1
                        if event.type == "content_block_delta":
                            tr.hit()
            probe.exit()
            return n

        return ours_raw
    raise SystemExit(f"unknown contender {contender}")


def _sdk_factory(base_url: str) -> tuple[Any, One]:
    import sys

    import anthropic

    # The SDK brings its own httpx (httpx or its fork httpx2, depending on the version).
    base = next(c for c in anthropic.DefaultAsyncHttpxClient.__mro__ if c.__name__ == "AsyncClient")
    http_mod = sys.modules[base.__module__.split(".")[0]]
    limits = http_mod.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE)
    timeout = http_mod.Timeout(600.0, connect=CONNECT_TIMEOUT)
    http = anthropic.DefaultAsyncHttpxClient(limits=limits, timeout=timeout)
    client = anthropic.AsyncAnthropic(
        base_url=base_url, api_key="x", max_retries=0, http_client=http
    )

    async def sdk(model: str, probe: Probe) -> int:
        n = 0
        tr = probe.tracker()
        async with client.messages.stream(model=model, max_tokens=1024, messages=MESSAGES) as s:
            probe.enter()
            async for text in s.text_stream:
                if tr is not None:
                    if not tr.k:
                        tr.start(s.request_id)
                    tr.hit()
                n += len(text)
            await s.get_final_message()
        probe.exit()
        return n

    return client, sdk


# ------------------------------------------------------------------------------------ sync


def sync_factory(contender: str, base_url: str) -> tuple[Any, Callable[[str, Probe], int]]:
    import httpx

    http = httpx.Client(
        timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE),
    )
    url = base_url + "/v1/messages"
    if contender == "raw_httpx_sync":

        def raw_httpx_sync(model: str, probe: Probe) -> int:
            n = 0
            tr = probe.tracker()
            with http.stream("POST", url, content=body(model), headers=HEADERS) as r:
                if tr is not None:
                    tr.start(r.headers.get("request-id"))
                for chunk in r.iter_bytes():
                    n += len(chunk)
                    if tr is not None:
                        tr.hit(chunk.count(DELTA_MARK))
            return n

        return http, raw_httpx_sync
    if contender == "ours_sync":
        import trio_msgstream as tms

        client = tms.Client(base_url=base_url, api_key="x", http_client=http, max_retries=0)

        def ours_sync(model: str, probe: Probe) -> int:
            n = 0
            tr = probe.tracker()
            with client.messages.stream(model=model, max_tokens=1024, messages=MESSAGES) as s:
                for text in s.text_stream:
                    if tr is not None:
                        if not tr.k:
                            tr.start(s.request_id)
                        tr.hit()
                    n += len(text)
                s.get_final_message()
            return n

        return http, ours_sync
    raise SystemExit(f"unknown contender {contender}")
