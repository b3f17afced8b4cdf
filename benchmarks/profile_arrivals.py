"""Where a contender's time goes in an arrival-pattern run: py-spy over one
``arrival_probe.py`` process, summarised by layer and by function.

Usage::

    python benchmarks/profile_arrivals.py ours_stream                   # bulk long text
    python benchmarks/profile_arrivals.py ours_raw bulk/text:25000 --rounds 5
    python benchmarks/profile_arrivals.py ours_text paced60/text:300 --streams 150 --rate 60

Needs ``py-spy`` (``pip install py-spy``; it attaches with ptrace). Starts
``arrival_server.py`` on CPU 0, samples the probe (pinned to CPU 1) at 2,000 Hz, keeps
only the samples inside the event loop (not imports, nor the collections between rounds;
the short warm-up stream is left in), and prints:

- by layer: the share of samples whose innermost Python frame is in httpx, httpcore,
  h11, pydantic, each ``trio_msgstream`` module, trio, json, the benchmark's own code;
- by function: the top self-time functions, and the top inclusive ones (the share of
  samples with the function anywhere on the stack).

Shares are of the sampled time; with ``--us-per-event`` they are also converted to µs
per event using the probe's own CPU time.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from arrival_procs import ArrivalServer, pinning  # noqa: E402
from scenarios import build  # noqa: E402

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
LAYERS = ("h11", "httpcore", "httpx", "pydantic", "pydantic_core", "anyio", "sniffio", "trio",
          "json", "asyncio", "anthropic", "outcome")  # fmt: skip


# Samples inside an event loop (trio's, asyncio's) or the sync contender's loop count (the
# producer task's stacks do not include the contender's code), except these; the warm-up
# stream (20 deltas) is left in, a rounding error next to the timed rounds.
LOOPS = {"unrolled_run", "_run_once", "_sync_main"}
SKIP = {"_find_and_load", "Session.collect", "cpu_s", "Session.report", "Session.begin",
        "async_factory", "sync_factory"}  # fmt: skip


def layer(file: str) -> str:
    """The package a frame's file belongs to (a ``trio_msgstream`` module by name)."""
    parts = file.replace("\\", "/").split("/")
    if "trio_msgstream" in parts:
        return "trio_msgstream." + Path(file).stem
    for name in LAYERS:
        if name in parts:
            return name
    if "benchmarks" in parts or Path(file).name.startswith("arrival_"):
        return "benchmark code"
    return "other: " + Path(file).name


def parse(line: str) -> tuple[list[tuple[str, str]], int]:
    stack, _, count = line.rstrip().rpartition(" ")
    frames = []
    for raw in stack.split(";"):
        m = _FRAME.match(raw.strip())
        frames.append((m["func"], m["file"]) if m else (raw, "?"))
    return frames, int(count)


def summarise(path: Path, top: int) -> dict[str, object]:
    by_layer: collections.Counter[str] = collections.Counter()
    self_fn: collections.Counter[str] = collections.Counter()
    incl_fn: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = parse(line)
        funcs = {f for f, _ in frames}
        if not funcs & LOOPS or funcs & SKIP:
            continue  # start-up, imports, collections between rounds, teardown
        leaf_func, leaf_file = frames[-1]
        total += count
        by_layer[layer(leaf_file)] += count
        self_fn[f"{leaf_func} ({Path(leaf_file).parent.name}/{Path(leaf_file).name})"] += count
        seen = set()
        for func, file in frames:
            key = f"{func} ({Path(file).parent.name}/{Path(file).name})"
            if key not in seen:
                seen.add(key)
                incl_fn[key] += count
    return {
        "samples": total,
        "by_layer": by_layer.most_common(),
        "self": self_fn.most_common(top),
        "inclusive": incl_fn.most_common(top * 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("contender")
    parser.add_argument("model", nargs="?", default="bulk/text:25000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--raw-out", default=None, help="keep py-spy's raw stacks here")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    server_cpu, client_cpu = pinning()
    server = ArrivalServer(server_cpu)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(args.raw_out or Path(tmp) / "stacks.txt")
            probe = [sys.executable, str(HERE / "arrival_probe.py"), args.contender, args.model]
            probe += [server.url, "--rounds", str(args.rounds), "--streams", str(args.streams)]
            if args.rate:
                probe += ["--rate", str(args.rate)]
            if client_cpu is not None:
                probe += ["--cpu", str(client_cpu)]
            cmd = [spy, "record", "--format", "raw", "--rate", "2000", "--nonblocking"]
            cmd += ["--output", str(raw), "--", *probe]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, check=False)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            result = json.loads(lines[-1])
            summary = summarise(raw, args.top)
    finally:
        server.close()
    events = build(args.model.split("/", 1)[1]).events * args.streams
    us = result["cpu"] / events * 1e6  # the median round's CPU per event (profiled)
    total = summary["samples"] or 1
    print(f"{args.contender} {args.model}: {summary['samples']} samples in the timed rounds; "
          f"{us:.2f} µs CPU per event under the profiler (median round)")  # fmt: skip
    print("\nby layer (innermost Python frame)          share   µs/event")
    for name, n in summary["by_layer"]:  # type: ignore[union-attr]
        print(f"  {name:<40} {n / total:6.1%}  {n / total * us:8.2f}")
    print("\nself time, top functions")
    for name, n in summary["self"]:  # type: ignore[union-attr]
        print(f"  {n / total:6.1%}  {n / total * us:7.2f}  {name}")
    print("\ninclusive (anywhere on the stack)")
    for name, n in summary["inclusive"]:  # type: ignore[union-attr]
        print(f"  {n / total:6.1%}  {n / total * us:7.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
