"""One arrival-pattern measurement, in a fresh process (run by ``arrival_run.py``).

Usage::

    python benchmarks/arrival_probe.py CONTENDER MODEL BASE_URL
        [--streams N] [--rounds R] [--rate EVENTS_PER_S] [--cpu C]

``MODEL`` is ``arrival_server.py``'s ``<pattern>/<scenario key>``. The process pins
itself to CPU ``C`` (the server runs on the other core), makes one warm-up request
(imports done, one connection open), then times ``--rounds`` rounds, one after another,
of ``--streams`` concurrent streams each. With ``--rate`` (paced runs) every text delta's
lag behind its schedule is recorded, and the first delta's latency after the server
wrote it. Prints one JSON object: per-round wall and CPU seconds, lag percentiles,
first-item latencies, cyclic-GC time (``gc.callbacks``), RSS with all streams in flight
and peak RSS.

``--quick`` runs start it as a worker, ``arrival_probe.py --serve``, and hand it
one command line after another (``workers.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from arrival_clients import (
    ALL,
    ASYNCIO,
    SYNC,
    Probe,
    async_factory,
    current_rss_kib,
    sync_factory,
)


def warmup_model(model: str) -> str:
    """The warm-up request: a short stream that also has the server build (and cache)
    the bytes of the scenario about to be timed."""
    return "warm/" + model.split("/", 1)[1]


class GCClock:
    """Time spent in cyclic garbage collection, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self.max = 0.0
        self.counts = [0, 0, 0]
        self._t = 0.0
        self.on = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        elif self.on:
            d = time.perf_counter() - self._t
            self.total += d
            self.max = max(self.max, d)
            self.counts[info["generation"]] += 1

    def reset(self) -> None:
        self.total = 0.0
        self.max = 0.0
        self.counts = [0, 0, 0]
        self.on = True


def peak_rss_kib() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def percentiles(values: Any) -> dict[str, float] | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)

    def q(p: float) -> float:
        return s[min(n - 1, round(p * (n - 1)))]

    return {
        "n": n,
        "p50": q(0.5),
        "p90": q(0.9),
        "p99": q(0.99),
        "max": s[-1],
        "mean": statistics.fmean(s),
    }


class Session:
    """Times rounds and collects everything the process reports."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.gc = GCClock()
        gc.callbacks.append(self.gc)
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.checks: list[int] = []
        self.probe = Probe(args.rate)
        self.rss_base = 0

    def collect(self) -> None:
        """An explicit full collection between rounds, not counted as GC time."""
        was, self.gc.on = self.gc.on, False
        gc.collect()
        self.gc.on = was

    def begin(self) -> None:
        self.collect()
        self.rss_base = current_rss_kib()
        self.probe = Probe(self.args.rate)
        self.probe.full_at = self.args.streams
        self.gc.reset()

    def round_done(self, wall: float, cpu: float, checks: list[int]) -> None:
        self.walls.append(wall)
        self.cpus.append(cpu)
        self.checks += checks

    def report(self) -> dict[str, Any]:
        a = self.args
        p = self.probe
        # RSS growth per stream with all streams in flight; if they never all overlapped
        # (a machine too busy to open them within a stream's duration), at the most in
        # flight, sampled every 50 ("all_in_flight" says which).
        grown = p.rss_max_kib - self.rss_base if p.rss_max_kib else None
        per_stream = grown / (a.streams if p.max >= a.streams else p.max) if grown else None
        return {
            "contender": a.contender,
            "model": a.model,
            "streams": a.streams,
            "rounds": a.rounds,
            "walls": self.walls,
            "cpus": self.cpus,
            "wall": statistics.median(self.walls),
            "cpu": statistics.median(self.cpus),
            "check": self.checks[0] if self.checks else None,
            "checks_equal": len(set(self.checks)) == 1,
            "max_concurrent": p.max,
            "rss_base_kib": self.rss_base,
            "rss_at_max_in_flight_kib": p.rss_max_kib or None,
            "all_in_flight": p.max >= a.streams,
            "kib_per_stream_in_flight": per_stream,
            "peak_rss_kib": peak_rss_kib(),
            "gc_s": self.gc.total,
            "gc_max_pause_s": self.gc.max,
            "gc_collections": self.gc.counts,
            "lag": percentiles(p.lags),
            "first_item": percentiles(p.first),
            "cpu_affinity": sorted(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
        }


async def _timed_rounds(
    s: Session, one: Callable[[str, Probe], Awaitable[int]], gather: Callable[..., Awaitable[Any]]
) -> None:
    a = s.args
    await one(warmup_model(a.model), Probe(None))
    s.begin()
    for _ in range(a.rounds):
        s.collect()
        c0 = cpu_s()
        t0 = time.perf_counter()
        if a.streams == 1:
            checks = [await one(a.model, s.probe)]
        else:
            checks = await gather(one, a.model, s.probe, a.streams)
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        s.round_done(wall, cpu, [c() if callable(c) else c for c in checks])


async def _trio_gather(one: Any, model: str, probe: Probe, n: int) -> list[int]:
    import trio

    out = [0] * n

    async def run(i: int) -> None:
        out[i] = await one(model, probe)

    async with trio.open_nursery() as nursery:
        for i in range(n):
            nursery.start_soon(run, i)
    return out


async def _asyncio_gather(one: Any, model: str, probe: Probe, n: int) -> list[int]:
    import asyncio

    return list(await asyncio.gather(*(one(model, probe) for _ in range(n))))


async def _async_main(s: Session, gather: Callable[..., Awaitable[Any]]) -> None:
    owner, one = async_factory(s.args.contender, s.args.base_url)
    async with owner:
        await _timed_rounds(s, one, gather)


def _sync_main(s: Session) -> None:
    a = s.args
    if a.streams != 1:
        raise SystemExit("sync contenders run one stream at a time (--streams 1)")
    http, one = sync_factory(a.contender, a.base_url)
    with http:
        one(warmup_model(a.model), Probe(None))
        s.begin()
        for _ in range(a.rounds):
            s.collect()
            c0 = cpu_s()
            t0 = time.perf_counter()
            check = one(a.model, s.probe)
            s.round_done(time.perf_counter() - t0, cpu_s() - c0, [check])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=ALL)
    parser.add_argument("model")
    parser.add_argument("base_url")
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None, help="deltas/s of a paced stream")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    session = Session(args)
    if args.contender in SYNC:
        _sync_main(session)
    elif args.contender in ASYNCIO:
        import asyncio

        asyncio.run(_async_main(session, _asyncio_gather))
    else:
        import trio

        trio.run(_async_main, session, _trio_gather)
    print(json.dumps(session.report()), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:  # a --quick run's worker (workers.py)
        from workers import serve

        serve(main)
    else:
        main()
