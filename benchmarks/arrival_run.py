"""The arrival-pattern benchmark of issue 11: BULK and PACED, same bytes for everyone.

Usage::

    python benchmarks/arrival_run.py                # the full run (~6 minutes)
    python benchmarks/arrival_run.py --quick        # smoke run (seconds)
    python benchmarks/arrival_run.py --only bulk,paced --contenders raw_httpx,ours_text

(``python benchmarks/run.py`` runs these sections too; see docs/performance.md.)

Sections (``--only``):

- ``bulk``: ``arrival_server.py`` writes the whole response at once (one HTTP chunk per
  SSE event): long text of 25,000 deltas and a big tool input of 20,000 chunks. Every
  contender in ``arrival_clients.py``; ratios to raw httpx and to raw SSE + json.loads.
- ``bulk_scaling``: bulk long text and big tool input at 1/4, 1 and 4 times those sizes.
- ``paced``: every stream paced on its own clock at 60 deltas/s, 300 deltas (5 s). Knee
  search: the most concurrent streams one core sustains (lag p99 < 100 ms and wall <=
  1.1 x stream duration + 0.3 s), in steps of 25; then CPU per event at 150 streams.
- ``slow``: 1,000 concurrent streams of 50 deltas 200 ms apart: wall, lag, GC time and
  RSS per stream with all 1,000 in flight.
- ``first_byte``: on a warm connection, the time from the server's write of the response
  (headers and the first delta, 20 ms after the request) to the first ``text_stream``
  item, against raw httpx's first body chunk.

The server runs in its own process pinned to CPU 0, every client process to CPU 1 (on a
machine with at least 2 CPUs), so the client's core is measured alone. Writes
``arrivals.json`` (and ``arrival_patterns.png``) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from arrival_clients import ALL  # noqa: E402
from scenarios import build  # noqa: E402

SECTIONS = ("bulk", "bulk_scaling", "paced", "slow", "first_byte")
BULK_CONTENDERS = ALL
# Not the SDK: its tool-input accumulation is quadratic (minutes at this size); see the
# bulk scaling section for its small sizes.
TOOL_CONTENDERS = ("raw_httpx", "raw_sse", "ours_stream", "ours_raw", "ours_sync")
SCALING_CONTENDERS = ("raw_httpx", "raw_sse", "ours_stream", "ours_raw", "sdk")
KNEE_CONTENDERS = ("raw_httpx", "ours_text", "sdk")
FIXED_CONTENDERS = (
    "raw_httpx",
    "raw_sse",
    "ours_stream",
    "ours_text",
    "ours_handlers",
    "ours_raw",
    "sdk",
)
SLOW_CONTENDERS = ("raw_httpx", "raw_sse", "ours_stream", "ours_text", "ours_raw", "sdk")
FIRST_CONTENDERS = (
    "raw_httpx",
    "ours_text",
    "ours_raw",
    "ours_handlers",
    "sdk",
    "raw_httpx_sync",
    "ours_sync",
)
QUICK_CONTENDERS = ("raw_httpx", "ours_text", "ours_stream", "ours_sync")


class Config:
    """Sizes of one run; ``--quick`` shrinks everything to a smoke test."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.repeats = 1 if quick else 3  # processes per bulk cell, interleaved
        self.rounds = 1 if quick else 3  # timed rounds per process
        self.long_key = "text:250" if quick else "text:25000"
        self.tool_key = "big_tool:1:100" if quick else "big_tool:1"
        self.scaling = (
            [
                ("long_text", "text:250", "text:1000"),
                ("big_tool", "big_tool:1:100", "big_tool:4:100"),
            ]
            if quick
            else [
                ("long_text", "text:6250", "text:25000", "text:100000"),
                ("big_tool", "big_tool:0.25", "big_tool:1", "big_tool:4"),
            ]
        )
        self.rate = 60.0
        self.paced_deltas = 12 if quick else 300
        self.fixed_streams = 10 if quick else 150
        self.knee_step = 10 if quick else 25
        self.knee_max = 20 if quick else 400
        self.slow_streams = 20 if quick else 1000
        self.slow_deltas = 5 if quick else 50
        self.slow_rate = 20.0 if quick else 5.0
        self.first_rounds = 3 if quick else 40

        # --quick: two client processes at a time, not pinned; every contender in the
        # bulk long text, a few elsewhere (a smoke test of the harness, not a measurement).
        self.jobs = 2 if quick else 1

    def pick(self, section: tuple[str, ...], chosen: list[str]) -> list[str]:
        """The contenders of a section that were chosen (fewer in a quick run)."""
        out = [c for c in section if c in chosen]
        if self.quick and section is not BULK_CONTENDERS:  # every contender once
            out = [c for c in out if c in QUICK_CONTENDERS]
        return out

    @property
    def paced_duration(self) -> float:
        return (self.paced_deltas - 1) / self.rate


# ---------------------------------------------------------------------------- processes


def load_snapshot() -> dict[str, Any]:
    """The machine's load average and CPU time counters (steal included), to tell a
    quiet run from one that shared the machine with other work."""
    out: dict[str, Any] = {"time": time.time()}
    try:
        out["loadavg"] = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
        out["cpu_ticks"] = dict(zip(names, map(int, fields), strict=False))
    except OSError:
        pass
    return out


def busy_share(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """The share of the machine's CPU time between two snapshots that was not idle."""
    try:
        ta, tb = a["cpu_ticks"], b["cpu_ticks"]
    except KeyError:
        return None
    total = sum(tb.values()) - sum(ta.values())
    idle = (tb["idle"] + tb["iowait"]) - (ta["idle"] + ta["iowait"])
    return (total - idle) / total if total else None


def pinning() -> tuple[int | None, int | None]:
    """(server CPU, client CPU): 0 and 1 when there are two CPUs to use."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None, None
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


class ArrivalServer:
    def __init__(self, cpu: int | None, max_seconds: float = 4 * 3600.0) -> None:
        cmd = [sys.executable, str(HERE / "arrival_server.py"), "--max-seconds", str(max_seconds)]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError("the arrival server did not start")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the server stops when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Runner:
    def __init__(self, args: argparse.Namespace, url: str, cpu: int | None) -> None:
        self.args = args
        self.url = url
        self.cpu = cpu
        self.jobs = 1
        self.log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)

    def map(self, calls: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """``probe`` for each (contender, model, keywords), ``jobs`` at a time."""
        return _map(self, calls)

    def probe(
        self,
        contender: str,
        model: str,
        *,
        streams: int = 1,
        rounds: int = 1,
        rate: float | None = None,
        extra: float = 0.0,
    ) -> dict[str, Any]:
        """Run one ``arrival_probe.py`` process; its budget is ``--sdk-budget`` (SDK) or
        ``--timeout`` seconds, plus ``extra`` (a paced stream's own duration)."""
        if contender == "sdk" and model.startswith("bulk/"):
            rounds = 1  # its bulk runs are long: one timed round per process, each in budget
        cmd = [sys.executable, str(HERE / "arrival_probe.py"), contender, model, self.url]
        cmd += ["--streams", str(streams), "--rounds", str(rounds)]
        if rate:
            cmd += ["--rate", str(rate)]
        if self.cpu is not None:
            cmd += ["--cpu", str(self.cpu)]
        budget = (self.args.sdk_budget if contender == "sdk" else self.args.timeout) + extra
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, cwd=HERE)
        except subprocess.TimeoutExpired:
            return {"skipped": True, "budget": budget, "elapsed": time.perf_counter() - t0}
        if proc.returncode != 0:
            return {
                "error": (proc.stderr.strip().splitlines() or ["failed"])[-1],
                "stderr": proc.stderr[-2000:],
            }
        return json.loads(proc.stdout.strip().splitlines()[-1])


def _map(runner: Runner, calls: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    if runner.jobs <= 1 or len(calls) <= 1:
        return [runner.probe(c, m, **kw) for c, m, kw in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(runner.jobs) as pool:
        return list(pool.map(lambda call: runner.probe(call[0], call[1], **call[2]), calls))


def _summary(cell: dict[str, Any]) -> None:
    """Medians over the processes' rounds, per-event figures."""
    runs = cell["runs"]
    if not runs:
        return
    walls = [w for r in runs for w in r["walls"]]
    cpus = [c for r in runs for c in r["cpus"]]
    cell["wall"] = statistics.median(walls)
    cell["cpu"] = statistics.median(cpus)
    events = cell["events"]
    cell["us_per_event_wall"] = cell["wall"] / events * 1e6
    cell["us_per_event_cpu"] = cell["cpu"] / events * 1e6
    cell["gc_s"] = statistics.median(r["gc_s"] / r["rounds"] for r in runs)
    cell["peak_rss_kib"] = statistics.median(r["peak_rss_kib"] for r in runs)
    cell["check"] = runs[0]["check"]
    cell["checks_equal"] = all(r["checks_equal"] and r["check"] == cell["check"] for r in runs)
    for k in (
        "lag",
        "first_item",
        "kib_per_stream_in_flight",
        "max_concurrent",
        "all_in_flight",
        "gc_max_pause_s",
        "gc_collections",
    ):
        cell[k] = runs[0].get(k)


def _cell(section: str, scenario: str, contender: str, model: str, streams: int = 1) -> dict:
    key = model.split("/", 1)[1]
    sc = build(key)
    return {
        "section": section,
        "scenario": scenario,
        "contender": contender,
        "model": model,
        "streams": streams,
        "events": sc.events * streams,
        "deltas": sc.deltas * streams,
        "body_bytes": len(sc.body),
        "runs": [],
    }


# ----------------------------------------------------------------------------- sections


def _record(cell: dict[str, Any], r: dict[str, Any]) -> None:
    if r.get("skipped"):
        cell.update(skipped=True, budget=r["budget"])
    elif "error" in r:
        cell.update(error=r["error"], stderr=r["stderr"])
    else:
        cell["runs"].append(r)


def run_cells(
    runner: Runner, cells: list[dict[str, Any]], repeats: int = 1, **kw: Any
) -> list[dict[str, Any]]:
    """One process per cell and repeat, repeats interleaved across the cells (a, b, c,
    a, b, c, ...) so that a slow spell of the machine hits every contender alike. A cell
    that failed or ran over its budget is not run again."""
    for _ in range(repeats):
        live = [c for c in cells if not (c.get("skipped") or c.get("error"))]
        calls = [(c["contender"], c["model"], {**kw, "streams": c["streams"]}) for c in live]
        for cell, r in zip(live, runner.map(calls), strict=True):
            _record(cell, r)
    for cell in cells:
        _summary(cell)
        _log_cell(runner, cell)
    return cells


def bulk_cells(
    runner: Runner, cfg: Config, rows: list[tuple[str, str, list[str]]], section: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for scenario, key, contenders in rows:
        cells = [_cell(section, scenario, c, "bulk/" + key) for c in contenders]
        out += run_cells(runner, cells, cfg.repeats, rounds=cfg.rounds)
    return out


def _log_cell(runner: Runner, cell: dict[str, Any]) -> None:
    if cell.get("error"):
        note = f"ERROR {cell['error']}"
    elif cell.get("skipped"):
        note = f"> {cell['budget']:.0f} s (skipped)"
    else:
        note = f"wall {cell['wall'] * 1e3:9.1f} ms  cpu/event {cell['us_per_event_cpu']:7.2f} µs"
        if cell.get("lag"):
            note += f"  lag p99 {cell['lag']['p99'] * 1e3:7.1f} ms"
    runner.log(f"  {cell['section']:<10} {cell['scenario']:<22} {cell['contender']:<15} {note}")


def run_bulk(runner: Runner, cfg: Config, contenders: list[str]) -> list[dict[str, Any]]:
    rows = [
        ("long_text", cfg.long_key, cfg.pick(BULK_CONTENDERS, contenders)),
        ("big_tool", cfg.tool_key, cfg.pick(TOOL_CONTENDERS, contenders)),
    ]
    return bulk_cells(runner, cfg, rows, "bulk")


def run_scaling(
    runner: Runner, cfg: Config, contenders: list[str], done: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Bulk at 1/4, 1 and 4 times the size (the 1x cells of ``run_bulk`` are reused; the
    others get one timed round per process). The SDK runs only below 1x (its 1x long
    text comes from ``run_bulk``; its tool-input accumulation is quadratic, over the
    budget at 1x), nor past a size that exceeded its budget."""
    out: list[dict[str, Any]] = []
    for kind, *keys in cfg.scaling:
        sdk_over = False
        for key in keys:
            reuse = [c for c in done if c["model"] == "bulk/" + key]
            want = cfg.pick(SCALING_CONTENDERS, contenders)
            have = {c["contender"] for c in reuse}
            sdk_off = sdk_over or key != keys[0]
            todo = [c for c in want if c not in have and not (c == "sdk" and sdk_off)]
            cells = [_cell("scaling", f"{kind} {key}", c, "bulk/" + key) for c in todo]
            run_cells(runner, cells, cfg.repeats, rounds=1)
            for c in reuse:
                if c["contender"] in want:
                    out.append({**c, "section": "scaling", "scenario": f"{kind} {key}"})
            out += cells
            sdk_over = sdk_over or any(c["contender"] == "sdk" and c.get("skipped") for c in cells)
    return out


def sustained(cell: dict[str, Any], cfg: Config) -> bool:
    if not cell.get("runs") or not cell.get("checks_equal") or not cell.get("lag"):
        return False
    return cell["lag"]["p99"] < 0.1 and cell["wall"] <= 1.1 * cfg.paced_duration + 0.3


def paced_cell(cfg: Config, contender: str, streams: int) -> dict[str, Any]:
    model = f"paced{cfg.rate:g}/text:{cfg.paced_deltas}"
    return _cell("paced", f"paced x{streams}", contender, model, streams)


def paced_trials(runner: Runner, cfg: Config, cells: list[dict[str, Any]]) -> None:
    run_cells(runner, cells, rate=cfg.rate, extra=2 * cfg.paced_duration)
    for cell in cells:
        cell["sustained"] = sustained(cell, cfg)


def knee_search(cfg: Config) -> Generator[int, bool, int]:
    """Yields the stream counts to try, is sent whether each was sustained, returns the
    largest multiple of ``knee_step`` sustained: from ``fixed_streams`` up in steps of 2 x
    step until one fails (or ``knee_max``), or down until one holds, then one step of
    bisection. At most ~6 trials."""
    step = cfg.knee_step
    n = cfg.fixed_streams
    hi: int | None
    if (yield n):
        lo, hi = n, None
        while lo + 2 * step <= cfg.knee_max:
            if (yield lo + 2 * step):
                lo += 2 * step
            else:
                hi = lo + 2 * step
                break
    else:
        lo, hi = 0, n
        while hi - 2 * step > 0:
            if (yield hi - 2 * step):
                lo = hi - 2 * step
                break
            hi -= 2 * step
    if hi is not None and lo + step < hi and (yield lo + step):
        lo += step
    return lo


def run_paced(runner: Runner, cfg: Config, contenders: list[str]) -> dict[str, Any]:
    """The knee searches in lockstep (each round tries every contender's next count, one
    after another), so that a busy spell of the machine hits all of them alike; then the
    contenders not yet measured at ``fixed_streams``."""
    knees: dict[str, int] = {}
    trials: list[dict[str, Any]] = []
    searches = {c: knee_search(cfg) for c in cfg.pick(KNEE_CONTENDERS, contenders)}
    pending = {c: next(g) for c, g in searches.items()}
    while pending:
        cells = [paced_cell(cfg, c, n) for c, n in pending.items()]
        paced_trials(runner, cfg, cells)
        trials += cells
        for cell in cells:
            contender = cell["contender"]
            try:
                pending[contender] = searches[contender].send(cell["sustained"])
            except StopIteration as done:
                knees[contender] = done.value
                del pending[contender]
                runner.log(f"  paced      knee {contender:<15} {done.value} streams")
    fixed = [t for t in trials if t["streams"] == cfg.fixed_streams]
    more = [
        paced_cell(cfg, c, cfg.fixed_streams)
        for c in cfg.pick(FIXED_CONTENDERS, contenders)
        if not any(t["contender"] == c for t in fixed)
    ]
    paced_trials(runner, cfg, more)
    fixed += more
    trials.sort(key=lambda t: (t["contender"], t["streams"]))
    return {
        "rate": cfg.rate,
        "deltas": cfg.paced_deltas,
        "duration_s": cfg.paced_duration,
        "criterion": "lag p99 < 100 ms and wall <= 1.1 x duration + 0.3 s",
        "knees": knees,
        "trials": trials,
        "fixed_streams": cfg.fixed_streams,
        "fixed": fixed,
    }


def run_slow(runner: Runner, cfg: Config, contenders: list[str]) -> list[dict[str, Any]]:
    model = f"paced{cfg.slow_rate:g}/text:{cfg.slow_deltas}"
    n = cfg.slow_streams
    cells = [
        _cell("slow", f"{n} slow streams", c, model, n)
        for c in cfg.pick(SLOW_CONTENDERS, contenders)
    ]
    for cell in cells:
        cell["duration_s"] = (cfg.slow_deltas - 1) / cfg.slow_rate
    return run_cells(
        runner, cells, rate=cfg.slow_rate, extra=3 * cells[0]["duration_s"] if cells else 0
    )


def run_first_byte(runner: Runner, cfg: Config, contenders: list[str]) -> list[dict[str, Any]]:
    # The response 20 ms after the request (the client is waiting for it), then 5
    # deltas 1 ms apart; ``--rounds`` streams one after another on a warm connection.
    model = "paced1000d20/text:5"
    cells = [
        _cell("first_byte", "first item, warm", c, model)
        for c in cfg.pick(FIRST_CONTENDERS, contenders)
    ]
    run_cells(runner, cells, rounds=cfg.first_rounds, rate=1000.0)
    for cell in cells:
        first = cell.get("first_item")
        if first:
            runner.log(
                f"  first_byte {cell['contender']:<15} median {first['p50'] * 1e3:.3f} ms"
                f"  p90 {first['p90'] * 1e3:.3f} ms"
            )
    return cells


# -------------------------------------------------------------------------------- main


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat (smoke test)")
    parser.add_argument(
        "--sdk-budget",
        type=float,
        default=60.0,
        help="seconds one SDK run may take before it is skipped (60)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds any other run may take (300)"
    )


def run_arrivals(
    args: argparse.Namespace, contenders: list[str], sections: set[str]
) -> dict[str, Any]:
    """Run the chosen ``sections``; returns the ``arrivals`` part of the results."""
    cfg = Config(args.quick)
    server_cpu, client_cpu = pinning() if not cfg.quick else (None, None)
    server = ArrivalServer(server_cpu)
    out: dict[str, Any] = {
        "pinning": {"server_cpu": server_cpu, "client_cpu": client_cpu},
        "quick": cfg.quick,
    }
    t0 = time.perf_counter()
    load0 = load_snapshot()
    try:
        runner = Runner(args, server.url, client_cpu)
        runner.jobs = cfg.jobs
        runner.log(f"arrival server {server.url}; server CPU {server_cpu}, client CPU {client_cpu}")
        if "bulk" in sections or "bulk_scaling" in sections:
            out["bulk"] = run_bulk(runner, cfg, contenders) if "bulk" in sections else []
        if "bulk_scaling" in sections:
            out["scaling"] = run_scaling(runner, cfg, contenders, out["bulk"])
        if "paced" in sections:
            out["paced"] = run_paced(runner, cfg, contenders)
        if "slow" in sections:
            out["slow"] = run_slow(runner, cfg, contenders)
        if "first_byte" in sections:
            out["first_byte"] = run_first_byte(runner, cfg, contenders)
    finally:
        server.close()
    out["elapsed_s"] = time.perf_counter() - t0
    load1 = load_snapshot()
    out["load"] = {"start": load0, "end": load1, "busy_share": busy_share(load0, load1)}
    return out


def main() -> int:
    from arrival_report import evaluate, render
    from charts import chart_arrivals
    from run import machine_info

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--only", default=None, help="comma-separated: " + ",".join(SECTIONS))
    parser.add_argument("--contenders", default=None, help="comma-separated: " + ",".join(ALL))
    parser.add_argument("--out", default=str(HERE / "results"), help="output directory")
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args()
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    contenders = args.contenders.split(",") if args.contenders else list(ALL)
    bad = (sections - set(SECTIONS)) | (set(contenders) - set(ALL))
    if bad:
        parser.error(f"unknown: {sorted(bad)}")
    if "sdk" in contenders and not _have("anthropic"):
        print(
            "note: the anthropic SDK is not installed; its contender is left out", file=sys.stderr
        )
        contenders.remove("sdk")
    results = {"machine": machine_info(), "arrivals": run_arrivals(args, contenders, sections)}
    results["issue11_targets"] = evaluate(results["arrivals"])
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "arrivals.json").write_text(json.dumps(results, indent=1))
    print(render(results))
    if not args.no_chart:
        path = chart_arrivals(results, None, out_dir / "arrival_patterns.png")
        if path:
            print(f"chart: {path}")
    print(f"results: {out_dir / 'arrivals.json'}")
    return 0


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())
