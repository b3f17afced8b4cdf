"""The trio_msgstream benchmark: the same bytes, served by the project's fake server, to
raw httpx, a raw SSE parser, the official ``anthropic`` SDK and trio_msgstream.

Usage::

    python benchmarks/run.py                 # the full run (~10-20 minutes)
    python benchmarks/run.py --quick         # a smoke run with tiny streams (seconds)
    python benchmarks/run.py --only long_text,fanout --contenders raw_httpx,ours_stream

How it measures:

- One server process (``server.py``: ``serve_fake_anthropic`` on 127.0.0.1) serves every
  scenario, one network chunk per SSE event, as the real API does. Its CPU is its own
  core, so it does not compete with the client being measured.
- Every measurement is a fresh ``contenders.py`` process: one warm-up request (imports
  done, connection open), then the timed streams. ``--repeats`` processes per cell; the
  table shows medians. Wall time is what a caller waits; CPU time (user + system of the
  client process) is the event loop time the client spent, which does not depend on
  how fast the fake server can write.
- Peak memory is the client process's peak RSS (``ru_maxrss``). For the 1,000 slow
  streams it is the growth of RSS above the warmed-up baseline, per stream (and, in
  a separate run, the tracemalloc peak per stream).
- Runs of the SDK are bounded by ``--sdk-budget`` seconds: one that takes longer is
  killed and reported as "> N s (skipped)", and larger sizes of that scenario are
  skipped too.

Writes ``results.json`` and ``time_vs_length.png`` to ``--out`` (default
``benchmarks/results``) and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
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

from scenarios import FANOUT_STREAMS, SLOW_STREAMS, build  # noqa: E402

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
LABELS = {
    "raw_httpx": "(a) raw httpx, trio",
    "raw_sse": "(b) raw SSE + json.loads, trio",
    "raw_httpx_asyncio": "(a') raw httpx, asyncio",
    "raw_sse_asyncio": "(b') raw SSE + json.loads, asyncio",
    "sdk": "(c) anthropic SDK stream(), asyncio",
    "ours_stream": "(d) ours open_message_stream",
    "ours_raw": "(e) ours create(stream=True)",
    "ours_text": "(f) ours text_stream",
}
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
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
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
    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.url = url
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
    return [p for p in out if args.only is None or p[0] in args.only]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat (smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="processes per cell (5)")
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
        "--contenders", default=None, help="comma-separated subset of: " + ",".join(ALL)
    )
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated subset of: short_chat,long_text,big_tool,mixed,"
        "fanout,memory,scaling,core",
    )
    parser.add_argument("--scales", default=None, help="scaling factors (0.25,0.5,1,2,4,8)")
    parser.add_argument(
        "--slow-streams",
        type=int,
        default=None,
        help=f"concurrent slow streams for the memory scenario ({SLOW_STREAMS})",
    )
    parser.add_argument("--out", default=str(HERE / "results"), help="output directory")
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args()
    args.only = set(args.only.split(",")) if args.only else None
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    default_scales = "1,2" if args.quick else "0.25,0.5,1,2,4,8"
    scales = [float(s) for s in (args.scales or default_scales).split(",")]
    contenders = list(args.contenders.split(",") if args.contenders else ALL)
    unknown = set(contenders) - set(ALL)
    if unknown:
        parser.error(f"unknown contenders: {sorted(unknown)}")
    have_sdk = importlib.util.find_spec("anthropic") is not None
    if not have_sdk and "sdk" in contenders:
        print(
            "note: the anthropic SDK is not installed; its contender is left out", file=sys.stderr
        )
        contenders.remove("sdk")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    info = machine_info()
    results: dict[str, Any] = {
        "machine": info,
        "args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
        "cells": [],
    }
    server = Server()
    try:
        runner = Runner(args, server.url)
        print(
            f"server {server.url}; {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}",
            file=sys.stderr,
        )
        for label, key, kwargs in plan(args):
            runner.measure(label, contenders, key, **kwargs)
        if args.only is None or "memory" in args.only:
            n = args.slow_streams or (20 if args.quick else SLOW_STREAMS)
            results["memory"] = memory_runs(runner, contenders, n, args)
        if args.only is None or "scaling" in args.only:
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
        server.close()
    if args.only is None or "core" in args.only:
        cmd = [sys.executable, str(HERE / "core_micro.py")] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, check=True)
        results["core"] = json.loads(proc.stdout)
    results["targets"] = evaluate_targets(results, scales)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(render(results))
    if not args.no_chart:
        chart = chart_time_vs_length(results, out_dir / "time_vs_length.png")
        if chart:
            print(f"chart: {chart}")
    print(f"results: {out_dir / 'results.json'}")
    return 0


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
                runner.url, contender, key, streams=n, tracemalloc=True, timeout=args.timeout
            )
            if "tracemalloc_peak_bytes" in traced:
                cell["tracemalloc_kib_per_stream"] = traced["tracemalloc_peak_bytes"] / n / 1024
    return cells


# ------------------------------------------------------------------------------ targets

TARGETS = {  # scenario -> the largest allowed ratio to raw httpx
    "short_chat": 2.0,
    "long_text": 1.5,
    "big_tool": 2.0,
    "fanout": 1.5,
}


def _find(results: dict[str, Any], scenario: str, contender: str) -> dict[str, Any] | None:
    for cell in results.get("cells", []):
        if cell["scenario"] == scenario and cell["contender"] == contender and cell.get("runs"):
            return cell
    return None


def evaluate_targets(results: dict[str, Any], scales: list[float]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for scenario, limit in TARGETS.items():
        base = _find(results, scenario, "raw_httpx")
        ours = _find(results, scenario, "ours_stream")
        if not (base and ours):
            continue
        for metric in ("wall", "cpu"):
            ratio = ours[metric] / base[metric]
            out.append(
                {
                    "target": f"{scenario}: ours_stream / raw httpx ({metric})",
                    "limit": limit,
                    "value": ratio,
                    "met": ratio <= limit,
                }
            )
    if 4.0 in scales and 1.0 in scales:
        for kind in ("long_text", "big_tool"):
            a = _find(results, f"{kind} x1", "ours_stream")
            b = _find(results, f"{kind} x4", "ours_stream")
            if a and b:
                ratio = b["wall"] / a["wall"]
                out.append(
                    {
                        "target": f"scaling {kind}: time at 4x / time at 1x (wall)",
                        "limit": 4.4,
                        "value": ratio,
                        "met": ratio <= 4.4,
                    }
                )
    core = results.get("core") or []
    for row in core:
        for part in ("accumulate", "engine"):
            value = row[f"{part}_us_per_event"]
            out.append(
                {
                    "target": f"core {part} µs/event, {row['scenario']}"
                    + ("" if part == "accumulate" else " (decode+parse+accumulate; info)"),
                    "limit": 3.0 if part == "accumulate" else None,
                    "value": value,
                    "met": value <= 3.0 if part == "accumulate" else None,
                }
            )
    for cell in results.get("memory") or []:
        if cell["contender"] == "ours_stream" and "rss_growth_kib_per_stream" in cell:
            v = cell["rss_growth_kib_per_stream"]
            out.append(
                {
                    "target": "memory: RSS growth KiB per concurrent stream",
                    "limit": 64,
                    "value": v,
                    "met": v <= 64,
                }
            )
    ours = _find(results, "short_chat", "ours_stream")
    sdk = _find(results, "short_chat", "sdk")
    if ours and sdk:
        ratio = ours["peak_rss_kib"] / sdk["peak_rss_kib"]
        out.append(
            {
                "target": "short chat peak RSS, ours / SDK",
                "limit": 0.5,
                "value": ratio,
                "met": ratio <= 0.5,
            }
        )
    return out


# ------------------------------------------------------------------------------- output


def _fmt_time(cell: dict[str, Any]) -> str:
    if cell.get("skipped"):
        return f"> {cell['budget']:.0f} s (skipped)"
    if cell.get("error"):
        return "error"
    return f"{cell['wall']:.3f}"


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"trio_msgstream benchmark, {m['date']}: {m['nproc']} CPUs, {m['cpu']}, "
        f"Python {m['python']}",
        "ratios: time of the contender / time of raw httpx (a), or of the SDK (c), on the "
        "same bytes; wall and client CPU",
        "",
    ]
    header = (
        f"| {'scenario':<16} | {'contender':<36} | {'events':>8} | {'wall s':>18} | "
        f"{'cpu s':>7} | {'events/s':>9} | {'µs/ev cpu':>9} | {'x raw (wall/cpu)':>16} | "
        f"{'x SDK (wall/cpu)':>16} | {'peak MiB':>8} |"
    )
    lines.append(header)
    lines.append("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for cell in results.get("cells", []):
        by_scenario.setdefault(cell["scenario"], []).append(cell)
    for scenario, cells in by_scenario.items():
        base = next((c for c in cells if c["contender"] == "raw_httpx" and c.get("runs")), None)
        sdk = next((c for c in cells if c["contender"] == "sdk" and c.get("runs")), None)
        for cell in cells:
            label = LABELS.get(cell["contender"], cell["contender"])
            if not cell.get("runs"):
                lines.append(
                    f"| {scenario:<16} | {label:<36} | {cell['events']:>8} | "
                    f"{_fmt_time(cell):>18} | {'':>7} | {'':>9} | {'':>9} | {'':>16} | "
                    f"{'':>16} | {'':>8} |"
                )
                continue

            def ratio(ref: dict[str, Any] | None, cell: dict[str, Any] = cell) -> str:
                if ref is None:
                    return "-"
                return f"{cell['wall'] / ref['wall']:.2f} / {cell['cpu'] / ref['cpu']:.2f}"

            lines.append(
                f"| {scenario:<16} | {label:<36} | {cell['events']:>8} | {cell['wall']:>18.3f} | "
                f"{cell['cpu']:>7.3f} | {cell['events_per_s']:>9.0f} | "
                f"{cell['us_per_event_cpu']:>9.2f} | {ratio(base):>16} | {ratio(sdk):>16} | "
                f"{cell['peak_rss_kib'] / 1024:>8.1f} |"
            )
    mem = results.get("memory")
    if mem:
        lines += [
            "",
            "| memory: concurrent slow streams | max concurrent | RSS growth KiB/stream |"
            " tracemalloc peak KiB/stream |",
            "|---|---|---|---|",
        ]
        for cell in mem:
            label = LABELS.get(cell["contender"], cell["contender"])
            if not cell.get("runs"):
                lines.append(f"| {label} | {_fmt_time(cell)} | | |")
                continue
            tm = cell.get("tracemalloc_kib_per_stream")
            lines.append(
                f"| {label} | {cell['max_concurrent']} | "
                f"{cell['rss_growth_kib_per_stream']:.1f} | "
                f"{'-' if tm is None else f'{tm:.1f}'} |"
            )
    core = results.get("core")
    if core:
        lines += [
            "",
            "| core (sans-IO, µs/event, best of N) | events | decode | parse | "
            "accumulate | engine (all) | engine raw |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in core:
            lines.append(
                f"| {row['scenario']} | {row['events']} | {row['decode_us_per_event']:.2f} | "
                f"{row['parse_us_per_event']:.2f} | {row['accumulate_us_per_event']:.2f} | "
                f"{row['engine_us_per_event']:.2f} | {row['engine_raw_us_per_event']:.2f} |"
            )
    targets = results.get("targets")
    if targets:
        lines += ["", "| target | limit | measured | met |", "|---|---|---|---|"]
        for t in targets:
            lines.append(
                f"| {t['target']} | {'-' if t['limit'] is None else format(t['limit'], 'g')} | "
                f"{t['value']:.2f} | {'-' if t['met'] is None else 'yes' if t['met'] else 'NO'} |"
            )
    return "\n".join(lines)


def chart_time_vs_length(results: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; no chart", file=sys.stderr)
        return None
    cells = [c for c in results.get("cells", []) if c["group"] == "scaling"]
    if not cells:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {
        "ours_stream": ("tab:blue", "o"),
        "sdk": ("tab:red", "s"),
        "raw_httpx": ("tab:gray", "^"),
        "raw_sse": ("tab:green", "v"),
    }
    for ax, kind, title in zip(
        axes,
        ("long_text", "big_tool"),
        ("long text (text deltas)", "big tool input (input_json deltas)"),
        strict=True,
    ):
        for contender, (color, marker) in styles.items():
            pts = sorted(
                (c["deltas"], c["wall"])
                for c in cells
                if c["key"].startswith(kind) and c["contender"] == contender and c.get("runs")
            )
            skipped = sorted(
                (c["deltas"], c["budget"])
                for c in cells
                if c["key"].startswith(kind) and c["contender"] == contender and c.get("skipped")
            )
            if pts:
                ax.plot(
                    *zip(*pts, strict=True), marker=marker, color=color, label=LABELS[contender]
                )
            if skipped:
                ax.scatter(
                    *zip(*skipped, strict=True),
                    marker="x",
                    color=color,
                    label=f"{contender}: over budget (skipped)",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("deltas in the stream")
        ax.set_ylabel("wall time, s (median)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(f"Time vs stream length — {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
