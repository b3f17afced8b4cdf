"""One benchmark measurement, in a fresh process.

Usage: ``python benchmarks/contenders.py CONTENDER SCENARIO_KEY BASE_URL [--streams N]
[--tracemalloc]``. Prints one JSON object on stdout: wall and CPU seconds of the timed
part, peak RSS, a check value (so run.py can see that every contender did the same work)
and, for concurrent runs, memory growth per stream.

Contenders:

- ``raw_httpx``: httpx under trio, read the body and discard it (the transport limit).
- ``raw_sse``: the same plus split SSE events and ``json.loads`` each ``data`` field
  (the parse limit; no validation, no accumulation).
- ``raw_httpx_asyncio`` / ``raw_sse_asyncio``: the same two under asyncio.
- ``sdk``: the official ``anthropic`` SDK, ``AsyncAnthropic().messages.stream()`` +
  ``get_final_message()`` under asyncio.
- ``ours_stream``: trio_msgstream ``open_message_stream`` + ``get_final_message()``.
- ``ours_raw``: trio_msgstream ``client.messages.create(stream=True)``, every event.
- ``ours_text``: trio_msgstream ``open_message_stream`` consuming ``text_stream``.

Each run first makes one warm-up request (imports done, connection open), then times
``--streams`` concurrent streams of the scenario. ``--quick`` runs start it as
``contenders.py --serve`` and hand it one command line after another (``workers.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arrival_clients import message_check

MESSAGES = [{"role": "user", "content": "Benchmark, please."}]
HEADERS = {
    "x-api-key": "x",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}
# Every contender's connection pool: no cap on connections (fan-out opens 1,000 at once),
# httpx's default of 20 idle keep-alive connections (httpcore scans its idle connections
# on every request and release, so keeping 1,000 idle ones would cost O(n^2) for all), and
# a connect timeout that 1,000 simultaneous connects on one core can meet.
KEEPALIVE = 20
CONNECT_TIMEOUT = 60.0
TRIO_CONTENDERS = ("raw_httpx", "raw_sse", "ours_stream", "ours_raw", "ours_text")
ASYNCIO_CONTENDERS = ("raw_httpx_asyncio", "raw_sse_asyncio", "sdk")
ALL_CONTENDERS = TRIO_CONTENDERS + ASYNCIO_CONTENDERS


def _body(key: str) -> bytes:
    return json.dumps(
        {"model": key, "max_tokens": 1024, "messages": MESSAGES, "stream": True}
    ).encode()


def _rss_kib() -> int:
    """Peak RSS of this process, KiB. ``VmHWM`` belongs to this program's address space;
    ``ru_maxrss`` would also count the parent's peak from before ``exec``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _current_rss_kib() -> int:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() // 1024
    except OSError:
        return _rss_kib()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Gauge:
    """Counts streams in flight and samples RSS at the high-water mark."""

    def __init__(self) -> None:
        self.now = 0
        self.max = 0
        self.rss_at_max = 0

    def enter(self) -> None:
        self.now += 1
        if self.now >= self.max:
            self.max = self.now
            if self.now % 50 == 0 or self.now < 50:
                self.rss_at_max = max(self.rss_at_max, _current_rss_kib())

    def exit(self) -> None:
        self.now -= 1


# ------------------------------------------------------------------------ raw SSE parse


def _parse_events(buf: bytes) -> tuple[int, bytes]:
    """Split complete SSE events off ``buf``, json.loads each data; return (n, rest)."""
    n = 0
    loads = json.loads
    while True:
        end = buf.find(b"\n\n")
        if end < 0:
            return n, buf
        block, buf = buf[:end], buf[end + 2 :]
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                loads(line[5:])
                n += 1


# ------------------------------------------------------------------------- trio contenders


def _httpx_client() -> Any:
    import httpx

    return httpx.AsyncClient(
        timeout=None,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE),
    )


def trio_one_factory(contender: str, base_url: str) -> tuple[Any, Callable[..., Awaitable[int]]]:
    http = _httpx_client()
    url = base_url + "/v1/messages"
    if contender == "raw_httpx":

        async def one(key: str, gauge: _Gauge) -> int:
            n = 0
            async with http.stream("POST", url, content=_body(key), headers=HEADERS) as r:
                gauge.enter()
                async for chunk in r.aiter_bytes():
                    n += len(chunk)
            gauge.exit()
            return n

        return http, one
    if contender == "raw_sse":

        async def one(key: str, gauge: _Gauge) -> int:
            n = 0
            rest = b""
            async with http.stream("POST", url, content=_body(key), headers=HEADERS) as r:
                gauge.enter()
                async for chunk in r.aiter_bytes():
                    got, rest = _parse_events(rest + chunk if rest else chunk)
                    n += got
            gauge.exit()
            return n

        return http, one

    import trio

    from trio_msgstream import AsyncClient, Timeout, open_message_stream

    client = AsyncClient(
        base_url=base_url,
        api_key="x",
        http_client=http,
        max_retries=0,
        timeout=Timeout(connect=CONNECT_TIMEOUT),
    )
    if contender == "ours_stream":

        async def one(key: str, gauge: _Gauge) -> int:
            async with trio.open_nursery() as nursery:
                async with open_message_stream(
                    nursery, client, model=key, max_tokens=1024, messages=MESSAGES
                ) as stream:
                    gauge.enter()
                    message = await stream.get_final_message()
            gauge.exit()
            return message_check(message)

        return http, one
    if contender == "ours_text":

        async def one(key: str, gauge: _Gauge) -> int:
            n = 0
            async with trio.open_nursery() as nursery:
                async with open_message_stream(
                    nursery, client, model=key, max_tokens=1024, messages=MESSAGES
                ) as stream:
                    gauge.enter()
                    async for text in stream.text_stream:
                        n += len(text)
            gauge.exit()
            return n

        return http, one
    if contender == "ours_raw":

        async def one(key: str, gauge: _Gauge) -> int:
            n = 0
            events = await client.messages.create(
                model=key, max_tokens=1024, messages=MESSAGES, stream=True
            )
            async with events:
                gauge.enter()
                async for _event in events:
                    n += 1
            gauge.exit()
            return n

        return http, one
    raise SystemExit(f"unknown contender {contender}")


async def _trio_main(args: argparse.Namespace) -> dict[str, Any]:
    import trio

    http, one = trio_one_factory(args.contender, args.base_url)
    async with http:
        await one("warmup:1", _Gauge())
        return await _timed(args, one, lambda fns: _trio_gather(trio, fns))


async def _trio_gather(trio: Any, fns: list[Callable[[], Awaitable[int]]]) -> list[int]:
    results = [0] * len(fns)

    async def run(i: int) -> None:
        results[i] = await fns[i]()

    async with trio.open_nursery() as nursery:
        for i in range(len(fns)):
            nursery.start_soon(run, i)
    return results


# ----------------------------------------------------------------------- asyncio contenders


def asyncio_one_factory(contender: str, base_url: str) -> tuple[Any, Callable[..., Awaitable[int]]]:
    if contender == "sdk":
        import anthropic

        # The SDK brings its own httpx (httpx or its fork httpx2, depending on version).
        base = next(
            c for c in anthropic.DefaultAsyncHttpxClient.__mro__ if c.__name__ == "AsyncClient"
        )
        http_mod = sys.modules[base.__module__.split(".")[0]]
        limits = http_mod.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE)
        timeout = http_mod.Timeout(600.0, connect=CONNECT_TIMEOUT)
        http = anthropic.DefaultAsyncHttpxClient(limits=limits, timeout=timeout)
        client = anthropic.AsyncAnthropic(
            base_url=base_url, api_key="x", max_retries=0, http_client=http
        )

        async def one(key: str, gauge: _Gauge) -> int:
            async with client.messages.stream(
                model=key, max_tokens=1024, messages=MESSAGES
            ) as stream:
                gauge.enter()
                message = await stream.get_final_message()
            gauge.exit()
            return message_check(message)

        return client, one
    plain = contender.removesuffix("_asyncio")
    if plain in ("raw_httpx", "raw_sse"):
        return trio_one_factory(plain, base_url)  # httpx serves both event loops
    raise SystemExit(f"unknown contender {contender}")


async def _asyncio_main(args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    client, one = asyncio_one_factory(args.contender, args.base_url)
    async with client:
        await one("warmup:1", _Gauge())

        async def gather(fns: list[Callable[[], Awaitable[int]]]) -> list[int]:
            return list(await asyncio.gather(*(fn() for fn in fns)))

        return await _timed(args, one, gather)


# ------------------------------------------------------------------------------- common


async def _timed(
    args: argparse.Namespace,
    one: Callable[..., Awaitable[int]],
    gather: Callable[[list[Callable[[], Awaitable[int]]]], Awaitable[list[int]]],
) -> dict[str, Any]:
    gauge = _Gauge()
    gc.collect()
    rss_before = _current_rss_kib()
    maxrss_before = _rss_kib()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    checks: list[int] = []
    for _ in range(args.sequential):
        if args.streams == 1:
            checks.append(await one(args.scenario, gauge))
        else:
            checks += await gather([lambda: one(args.scenario, gauge)] * args.streams)
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    out: dict[str, Any] = {
        "wall": wall,
        "cpu": cpu,
        "check": checks[0],
        "checks_equal": len(set(checks)) == 1,
        "streams": args.streams,
        "sequential": args.sequential,
        "max_concurrent": gauge.max,
        "rss_before_kib": rss_before,
        "maxrss_before_kib": maxrss_before,
        "peak_rss_kib": _rss_kib(),
        "rss_at_max_concurrency_kib": gauge.rss_at_max,
    }
    if args.tracemalloc:
        import tracemalloc

        out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1] - traced_before
        tracemalloc.stop()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=ALL_CONTENDERS)
    parser.add_argument("scenario")
    parser.add_argument("base_url")
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--sequential", type=int, default=1, help="timed rounds, one after another")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args(argv)
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    if args.contender in ASYNCIO_CONTENDERS:
        import asyncio

        result = asyncio.run(_asyncio_main(args))
    else:
        import trio

        result = trio.run(_trio_main, args)
    result["contender"] = args.contender
    result["scenario"] = args.scenario
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:  # a --quick run's worker (workers.py)
        from workers import serve

        serve(main)
    else:
        main()
