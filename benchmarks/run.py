"""The trio_msgstream benchmark: the same bytes to raw httpx, a raw SSE parser, the
official ``anthropic`` SDK and trio_msgstream, in three arrival patterns.

Usage::

    python benchmarks/run.py                 # the default run (< 10 minutes)
    python benchmarks/run.py --quick         # a smoke run with tiny streams (seconds)
    python benchmarks/run.py --only long_text,fanout --contenders raw_httpx,ours_stream
    python benchmarks/run.py --only bulk,paced,slow,first_byte,bulk_scaling   # issue 11
    python benchmarks/run.py --all           # also the old memory and 0.25x-8x scaling

Sections (``--only``):

- One write per event (``server.py``: the project's fake server on 127.0.0.1, one
  network chunk per SSE event, each its own write): ``short_chat``, ``long_text``,
  ``big_tool``, ``mixed``, ``fanout``; with ``--all`` or by name also ``memory`` (1,000
  streams of 40 deltas 50 ms apart) and ``scaling`` (0.25x-8x, ``--scales``).
- The sans-IO core alone: ``core`` (``core_micro.py``).
- The arrival patterns of issue 11 (``arrival_run.py``, ``arrival_server.py``): ``bulk``
  (whole body in one write), ``bulk_scaling``, ``paced`` (60 deltas/s per stream, knee
  search), ``slow`` (1,000 streams of 50 deltas 200 ms apart) and ``first_byte``.
- Start-up and a waiting stream's footprint (``startup.py``): import wall time and RSS,
  ``--help``, bytes and GC-tracked objects a waiting stream keeps: ``startup``.

How it measures:

- The server has its own process; the arrival server and every arrival-pattern client
  are pinned to different cores (CPU 0 and 1), so the client's core is measured alone.
- Every measurement is a fresh client process (``contenders.py`` or
  ``arrival_probe.py``): one warm-up request (imports done, connection open), then the
  timed streams. Several processes per cell, interleaved across contenders; the tables
  show medians. Wall time is what a caller waits; CPU time (user + system of the client
  process) is the event-loop time the client spent. A ``--quick`` run measures nothing
  (it checks the harness and that everyone did the same work): long-lived workers run
  the same commands one after another (``workers.py``), and the core micro-benchmark
  runs in this process.
- Runs of the SDK are bounded by ``--sdk-budget`` seconds: one that takes longer is
  killed and reported as "> N s (skipped)", and larger sizes of that scenario are
  skipped too.

Writes ``results.json``, ``time_vs_length.png`` (with ``scaling``) and
``arrival_patterns.png`` to ``--out`` (default ``benchmarks/results``) and prints the
tables.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import arrival_run  # noqa: E402
from arrival_report import evaluate as evaluate_arrivals  # noqa: E402
from arrival_report import render as render_arrivals  # noqa: E402
from charts import chart_arrivals, chart_time_vs_length  # noqa: E402
from report import evaluate_targets, render  # noqa: E402
from scenarios import FANOUT_STREAMS, SLOW_STREAMS, build  # noqa: E402
from workers import Pool, call_main  # noqa: E402

ALL = (
    "raw_httpx",
    "raw_sse",
    "raw_httpx_asyncio",
    "raw_sse_asyncio",
    "sdk",
    "ours_stream",
    "ours_raw",
    "ours_text",
)
DEFAULT_CONTENDERS = ("raw_httpx", "raw_sse", "sdk", "ours_stream", "ours_raw", "ours_text")
PER_EVENT = ("short_chat", "long_text", "big_tool", "mixed", "fanout")
# The default run: every row of issue 24's table (the arrival patterns of issue 11, the
# fan-out of 200 streams, start-up and a waiting stream's footprint), long text one write
# per event (for comparison) and the sans-IO core. ``--all`` adds the rest.
DEFAULT_SECTIONS = ("long_text", "fanout", "core", *arrival_run.SECTIONS, "startup")
EVERY_SECTION = (*PER_EVENT, "core", *arrival_run.SECTIONS, "startup", "memory", "scaling")
SCALING_CONTENDERS = ("raw_httpx", "raw_sse", "sdk", "ours_stream")
MEMORY_CONTENDERS = ("raw_httpx", "sdk", "ours_stream", "ours_raw")
SHORT_SEQUENTIAL = 20  # short chats are timed 20 in a row, to rise above timer noise


# ------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("trio", "httpx", "pydantic", "pydantic_core", "anthropic", "trio_msgstream"):
        try:
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-") if name == "trio_msgstream" else name)
        except Exception:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
    }


# ------------------------------------------------------------------------------ running


class Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.close()
            raise RuntimeError("the benchmark server did not start")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the server stops when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_once(
    url: str,
    contender: str,
    key: str,
    *,
    streams: int = 1,
    sequential: int = 1,
    tracemalloc: bool = False,
    timeout: float,
    pool: Pool | None = None,
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(HERE / "contenders.py"),
        contender,
        key,
        url,
        "--streams",
        str(streams),
        "--sequential",
        str(sequential),
    ]
    if tracemalloc:
        cmd.append("--tracemalloc")
    t0 = time.perf_counter()
    try:
        if pool is not None:  # --quick: the same command in a worker (workers.py)
            proc = pool.run(cmd, timeout=timeout)
        else:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    except subprocess.TimeoutExpired:
        return {"skipped": True, "budget": timeout, "elapsed": time.perf_counter() - t0}
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1:] or ["failed"],
            "stderr": proc.stderr[-2000:],
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Runner:
    def __init__(self, args: argparse.Namespace, url: str, pool: Pool | None = None) -> None:
        self.args = args
        self.url = url
        self.pool = pool
        self.cells: list[dict[str, Any]] = []
        self.sdk_skipped: set[str] = set()  # scenario kinds where the SDK ran out of budget

    def measure(
        self,
        scenario: str,
        contenders: list[str],
        key: str,
        *,
        streams: int = 1,
        sequential: int = 1,
        group: str = "main",
        repeats: int | None = None,
    ) -> list[dict[str, Any]]:
        """Measure ``contenders`` on one scenario, repeats interleaved (a, b, c, a, b,
        c, ...) so that a slow spell of the machine hits every contender alike."""
        args = self.args
        kind = key.split(":")[0]
        sc = build(key)
        events = sc.events * streams * sequential
        cells: list[dict[str, Any]] = []
        for contender in contenders:
            cell: dict[str, Any] = {
                "group": group,
                "scenario": scenario,
                "contender": contender,
                "key": key,
                "streams": streams,
                "sequential": sequential,
                "events": events,
                "deltas": sc.deltas * streams * sequential,
                "body_bytes": len(sc.body),
                "runs": [],
                "budget": args.sdk_budget if contender == "sdk" else args.timeout,
            }
            if contender == "sdk" and (group, kind) in self.sdk_skipped:
                cell["skipped"] = True
                cell["skip_reason"] = "a smaller size already exceeded the budget"
            cells.append(cell)
        for _ in range(repeats or args.repeats):
            for cell in cells:
                if cell.get("skipped") or cell.get("error") or cell.get("done"):
                    continue
                result = run_once(
                    self.url,
                    cell["contender"],
                    key,
                    streams=streams,
                    sequential=sequential,
                    timeout=cell["budget"],
                    pool=self.pool,
                )
                if result.get("skipped"):
                    cell["skipped"] = True
                    if cell["contender"] == "sdk":
                        self.sdk_skipped.add((group, kind))
                elif "error" in result:
                    cell["error"] = result["error"]
                    cell["stderr"] = result.get("stderr", "")
                else:
                    cell["runs"].append(result)
                    # Long runs are stable; do not spend minutes repeating them.
                    cell["done"] = result["wall"] > args.long_run
        for cell in cells:
            cell.pop("done", None)
            runs = cell["runs"]
            if runs and not cell.get("skipped"):
                cell["wall"] = statistics.median(r["wall"] for r in runs)
                cell["cpu"] = statistics.median(r["cpu"] for r in runs)
                cell["peak_rss_kib"] = statistics.median(r["peak_rss_kib"] for r in runs)
                cell["check"] = runs[0]["check"]
                cell["max_concurrent"] = max(r["max_concurrent"] for r in runs)
                cell["events_per_s"] = events / cell["wall"]
                cell["us_per_event_wall"] = cell["wall"] / events * 1e6
                cell["us_per_event_cpu"] = cell["cpu"] / events * 1e6
            else:
                cell["runs"] = [] if cell.get("skipped") else runs
            self._log(cell)
            self.cells.append(cell)
        return cells

    def _log(self, cell: dict[str, Any], note: str = "") -> None:
        if cell.get("error"):
            note = f"ERROR {cell['error']}"
        elif cell.get("skipped") and not note:
            note = f"> {cell['budget']:.0f} s (skipped)"
        elif not note:
            note = f"wall {cell['wall'] * 1e3:9.1f} ms  cpu {cell['cpu'] * 1e3:9.1f} ms"
        print(
            f"  {cell['scenario']:<18} {cell['contender']:<18} {note}", file=sys.stderr, flush=True
        )


# ------------------------------------------------------------------------- the scenarios


def plan(args: argparse.Namespace) -> list[tuple[str, str, dict[str, Any]]]:
    """(scenario label, key, cell kwargs) of the main table."""
    suffix = ":1:100" if args.quick else ":1"
    fan_streams = 20 if args.quick else FANOUT_STREAMS
    short_seq = 3 if args.quick else SHORT_SEQUENTIAL
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("short_chat", "short_chat" + suffix, {"sequential": short_seq}),
        ("long_text", "long_text" + suffix, {}),
        ("big_tool", "big_tool" + suffix, {}),
        ("mixed", "mixed" + suffix, {}),
        ("fanout", "fanout" + suffix, {"streams": fan_streams}),
    ]
    return [p for p in out if p[0] in args.only]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat (smoke test)")
    parser.add_argument("--all", action="store_true", help="every section, the long ones too")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="processes per cell of the one-write-per-event tables (3)",
    )
    parser.add_argument(
        "--sdk-budget",
        type=float,
        default=60.0,
        help="seconds one SDK run may take before it is skipped (60)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds any other run may take (300)"
    )
    parser.add_argument(
        "--long-run", type=float, default=8.0, help="a run longer than this is not repeated (8 s)"
    )
    parser.add_argument(
        "--contenders",
        default=None,
        help="comma-separated subset of: "
        + ",".join(ALL + arrival_run.ALL)
        + " (default: all but the asyncio raw baselines)",
    )
    parser.add_argument(
        "--only", default=None, help="comma-separated subset of: " + ",".join(EVERY_SECTION)
    )
    parser.add_argument("--scales", default=None, help="scaling factors (0.25,0.5,1,2,4,8)")
    parser.add_argument(
        "--slow-streams",
        type=int,
        default=None,
        help=f"concurrent slow streams for the memory section ({SLOW_STREAMS})",
    )
    parser.add_argument("--out", default=str(HERE / "results"), help="output directory")
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    if only and only - set(EVERY_SECTION):
        parser.error(f"unknown sections: {sorted(only - set(EVERY_SECTION))}")
    sections = only or set(EVERY_SECTION if args.all else DEFAULT_SECTIONS)
    args.only = sections
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    default_scales = "1,2" if args.quick else "0.25,0.5,1,2,4,8"
    scales = [float(s) for s in (args.scales or default_scales).split(",")]
    every = set(ALL) | set(arrival_run.ALL)
    if args.contenders:
        chosen = args.contenders.split(",")
        if set(chosen) - every:
            parser.error(f"unknown contenders: {sorted(set(chosen) - every)}")
    else:
        chosen = list(dict.fromkeys([*DEFAULT_CONTENDERS, *arrival_run.ALL]))
    if "sdk" in chosen and importlib.util.find_spec("anthropic") is None:
        print(
            "note: the anthropic SDK is not installed; its contender is left out", file=sys.stderr
        )
        chosen.remove("sdk")
    if importlib.util.find_spec("httpx2") is None:
        print("note: httpx2 is not installed; its contenders are left out", file=sys.stderr)
        chosen = [c for c in chosen if not c.endswith("httpx2")]
    contenders = [c for c in chosen if c in ALL]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    info = machine_info()
    results: dict[str, Any] = {
        "machine": info,
        "args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
        "cells": [],
    }
    t0 = time.perf_counter()
    if sections & {*PER_EVENT, "memory", "scaling"}:
        run_per_event(args, contenders, scales, results)
    if "core" in sections:
        results["core"] = run_core(args.quick)
    arrival_sections = sections & set(arrival_run.SECTIONS)
    if arrival_sections:
        arrival_contenders = [c for c in chosen if c in arrival_run.ALL]
        results["arrivals"] = arrival_run.run_arrivals(args, arrival_contenders, arrival_sections)
        results["issue11_targets"] = evaluate_arrivals(results["arrivals"])
    if "startup" in sections:
        from startup import run_startup

        results["startup"] = run_startup(args.quick)
    results["targets"] = evaluate_targets(results, scales)
    results["elapsed_s"] = time.perf_counter() - t0
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    if results["cells"] or results.get("core"):
        print(render(results))
    if "arrivals" in results:
        print(render_arrivals(results))
    if "startup" in results:
        from startup import render as render_startup

        print(render_startup(results))
    if not args.no_chart:
        for chart in (
            chart_time_vs_length(results, out_dir / "time_vs_length.png"),
            chart_arrivals(results, results["cells"], out_dir / "arrival_patterns.png"),
        ):
            if chart:
                print(f"chart: {chart}")
    print(f"results: {out_dir / 'results.json'} ({results['elapsed_s']:.0f} s)")
    return 0


def run_per_event(
    args: argparse.Namespace, contenders: list[str], scales: list[float], results: dict[str, Any]
) -> None:
    """The sections served one write per event by ``server.py``."""
    info = results["machine"]
    server = Server()
    pool = Pool() if args.quick else None  # a quick run measures nothing: workers
    try:
        runner = Runner(args, server.url, pool)
        print(
            f"server {server.url}; {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}",
            file=sys.stderr,
        )
        for label, key, kwargs in plan(args):
            runner.measure(label, contenders, key, **kwargs)
        if "memory" in args.only:
            n = args.slow_streams or (20 if args.quick else SLOW_STREAMS)
            results["memory"] = memory_runs(runner, contenders, n, args)
        if "scaling" in args.only:
            suffix = ":100" if args.quick else ""
            for kind in ("long_text", "big_tool"):
                for scale in scales:
                    runner.measure(
                        f"{kind} x{scale:g}",
                        [c for c in contenders if c in SCALING_CONTENDERS],
                        f"{kind}:{scale:g}{suffix}",
                        group="scaling",
                        repeats=min(args.repeats, 3),
                    )
        results["cells"] = runner.cells
    finally:
        if pool is not None:
            pool.close()
        server.close()


def run_core(quick: bool) -> list[dict[str, Any]]:
    """The sans-IO core micro-benchmark: a fresh process, or in a quick run this one
    (its imports are done; its objects frozen out of the core's full collections)."""
    if quick:
        import core_micro

        gc.freeze()
        code, out, err = call_main(core_micro.main, ["--quick"])
        if code:
            raise RuntimeError(f"core_micro.py --quick failed:\n{err}")
        return json.loads(out)
    cmd = [sys.executable, str(HERE / "core_micro.py")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, check=True)
    return json.loads(proc.stdout)


def memory_runs(
    runner: Runner, contenders: list[str], n: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    key = "slow:0.25" if args.quick else "slow:1"
    cells = runner.measure(
        f"{n} slow streams",
        [c for c in contenders if c in MEMORY_CONTENDERS],
        key,
        streams=n,
        group="memory",
        repeats=min(args.repeats, 3),
    )
    for cell in cells:
        contender = cell["contender"]
        if cell.get("runs"):
            per = [(r["peak_rss_kib"] - r["maxrss_before_kib"]) / n for r in cell["runs"]]
            cell["rss_growth_kib_per_stream"] = statistics.median(per)
            traced = run_once(
                runner.url,
                contender,
                key,
                streams=n,
                tracemalloc=True,
                timeout=args.timeout,
                pool=runner.pool,
            )
            if "tracemalloc_peak_bytes" in traced:
                cell["tracemalloc_kib_per_stream"] = traced["tracemalloc_peak_bytes"] / n / 1024
    return cells


if __name__ == "__main__":
    sys.exit(main())
