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
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from arrival_clients import ALL  # noqa: E402
from arrival_procs import ArrivalServer, Runner, busy_share, load_snapshot, pinning  # noqa: E402
from arrival_sections import (  # noqa: E402
    Config,
    run_bulk,
    run_first_byte,
    run_paced,
    run_scaling,
    run_slow,
)
from workers import Pool  # noqa: E402

SECTIONS = ("bulk", "bulk_scaling", "paced", "slow", "first_byte")


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
    # A quick run measures nothing: its probes run in workers, not fresh processes.
    pool = Pool() if cfg.quick else None
    try:
        runner = Runner(args, server.url, client_cpu)
        runner.jobs = cfg.jobs
        runner.pool = pool
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
        if pool is not None:
            pool.close()
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
    if not _have("httpx2"):
        print("note: httpx2 is not installed; its contenders are left out", file=sys.stderr)
        contenders = [c for c in contenders if not c.endswith("httpx2")]
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
