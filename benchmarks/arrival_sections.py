"""The sections of the arrival-pattern benchmark (see ``arrival_run.py``): which
contenders run where, the sizes of a run (``Config``), the cells (one contender on one
scenario) and how each section fills them: bulk, bulk scaling, the paced knee search,
slow streams and first-item latency. A cell's processes are run by ``arrival_procs``;
``_summary`` turns their reports into the cell's medians and checks.
"""

from __future__ import annotations

import statistics
from collections.abc import Generator
from typing import Any

from arrival_clients import ALL
from arrival_procs import Runner
from scenarios import build

BULK_CONTENDERS = ALL
# Not the SDK: its tool-input accumulation is quadratic (minutes at this size); see the
# bulk scaling section for its small sizes.
TOOL_CONTENDERS = ("raw_httpx", "raw_sse", "ours_stream", "ours_raw", "ours_sync")
SCALING_CONTENDERS = ("raw_httpx", "raw_sse", "ours_stream", "ours_raw", "sdk")
KNEE_CONTENDERS = ("raw_httpx", "ours_text", "sdk", "raw_httpx2", "ours_text_httpx2")
FIXED_CONTENDERS = (
    "raw_httpx",
    "raw_sse",
    "ours_stream",
    "ours_text",
    "ours_handlers",
    "ours_raw",
    "sdk",
    "raw_httpx2",
    "ours_stream_httpx2",
    "ours_text_httpx2",
)
SLOW_CONTENDERS = (
    "raw_httpx",
    "raw_sse",
    "ours_stream",
    "ours_text",
    "ours_raw",
    "sdk",
    "raw_httpx2",
    "ours_stream_httpx2",
    "ours_text_httpx2",
)
FIRST_CONTENDERS = (
    "raw_httpx",
    "ours_text",
    "ours_raw",
    "ours_handlers",
    "sdk",
    "raw_httpx_sync",
    "ours_sync",
)
QUICK_CONTENDERS = ("raw_httpx", "ours_text", "ours_stream", "ours_sync", "ours_text_httpx2")


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
