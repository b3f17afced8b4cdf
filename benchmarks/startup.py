"""Start-up and per-stream footprint: the rows of issue 24 that are not event rates.

Section ``startup`` of ``run.py``. Every figure is a fresh interpreter (bytecode cached
first, so what is measured is the import, not the compilation), 7 runs, median and
spread:

- ``import trio_msgstream``: wall time and peak RSS of ``python -c "import X"``; the
  same for what a program that streams imports (``from trio_msgstream import
  AsyncClient, open_message_stream``), and for ``httpx + trio`` and ``httpx + trio +
  pydantic`` alone (the floor the package sits on);
- ``python -m trio_msgstream --help``: wall time;
- what a waiting stream keeps: ``waiting_probe.py`` opens N streams on the arrival
  server (one delta every 5 s), waits until each has handed out its first text, and
  counts the bytes (tracemalloc) and the GC-tracked objects per stream, against raw
  httpx streams in the same state.

``python -X importtime -c "import trio_msgstream"`` shows where the import time goes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

IMPORTS = {
    "import trio_msgstream": "import trio_msgstream",
    "streaming names": "from trio_msgstream import AsyncClient, open_message_stream",
    "httpx + trio": "import httpx, trio",
    "httpx + trio + pydantic": "import httpx, trio, pydantic, outcome",
}

_MEASURE = (
    "import resource, sys, time\n"
    "t0, c0 = time.perf_counter(), time.process_time()\n"
    "exec(sys.argv[1])\n"
    "wall, cpu = time.perf_counter() - t0, time.process_time() - c0\n"
    # VmHWM is this image's own peak; ru_maxrss keeps the parent's across fork and exec
    # on Linux (a large benchmark runner would show as every child's peak).
    "try:\n"
    "    rss = next(int(line.split()[1]) for line in open('/proc/self/status')\n"
    "               if line.startswith('VmHWM:'))\n"
    "except (OSError, StopIteration):\n"
    "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print(wall, cpu, rss)\n"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its bytecode cached
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure_import(code: str, runs: int) -> dict[str, Any]:
    """Wall and CPU seconds of the import itself (interpreter start-up excluded; on a
    busy machine trust CPU) and the process's peak RSS in MiB (start-up included, as a
    user sees it)."""
    env = _env()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    walls, cpus, rss = [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _MEASURE, code],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        walls.append(float(out[0]))
        cpus.append(float(out[1]))
        rss.append(int(out[2]) / 1024)
    return {"wall_s": _spread(walls), "cpu_s": _spread(cpus), "rss_mib": _spread(rss)}


def measure_help(runs: int) -> dict[str, Any]:
    """Wall and CPU seconds of ``python -m trio_msgstream --help``, interpreter
    start-up included (what a user waits for)."""
    env = _env()
    cmd = [sys.executable, "-m", "trio_msgstream", "--help"]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    walls, cpus = [], []
    for _ in range(runs):
        c0 = os.times()
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        c1 = os.times()
        cpus.append(c1.children_user - c0.children_user + c1.children_system - c0.children_system)
    return {"wall_s": _spread(walls), "cpu_s": _spread(cpus)}


def measure_waiting(streams: int, timeout: float) -> dict[str, Any]:
    """Bytes and GC-tracked objects a waiting stream keeps: ours and raw httpx."""
    out: dict[str, Any] = {}
    for mode in ("raw_httpx", "ours_text"):
        proc = subprocess.run(
            [sys.executable, str(HERE / "waiting_probe.py"), mode, str(streams)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=HERE,
        )
        if proc.returncode != 0:
            out[mode] = {"error": proc.stderr[-2000:]}
        else:
            out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run_startup(quick: bool) -> dict[str, Any]:
    runs = 2 if quick else 7
    return {
        "imports": {name: measure_import(code, runs) for name, code in IMPORTS.items()},
        "cli_help": measure_help(runs),
        "waiting": measure_waiting(10 if quick else 300, 300.0),
    }


def _fmt(spread: dict[str, float], scale: float = 1.0, digits: int = 3) -> str:
    med, lo, hi = (spread[k] * scale for k in ("median", "min", "max"))
    return f"{med:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def render(results: dict[str, Any]) -> str:
    s = results["startup"]
    lines = [
        "",
        "| start-up (fresh interpreter, median (min-max)) | wall s | CPU s | peak RSS MiB |",
        "|---|---|---|---|",
    ]
    for name, row in s["imports"].items():
        wall, cpu, rss = _fmt(row["wall_s"]), _fmt(row["cpu_s"]), _fmt(row["rss_mib"], digits=1)
        lines.append(f"| {name} | {wall} | {cpu} | {rss} |")
    helped = s["cli_help"]
    wall, cpu = _fmt(helped["wall_s"]), _fmt(helped["cpu_s"])
    lines.append(f"| `python -m trio_msgstream --help` (whole process) | {wall} | {cpu} | |")
    lines += [
        "",
        "| a waiting stream keeps | streams | KiB (tracemalloc) | GC-tracked objects |",
        "|---|---|---|---|",
    ]
    for mode, row in s["waiting"].items():
        if "error" in row:
            lines.append(f"| {mode} | error | | |")
            continue
        lines.append(
            f"| {mode} | {row['streams']} | {row['kib_per_stream']:.1f} "
            f"| {row['objects_per_stream']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    res = {"startup": run_startup("--quick" in sys.argv)}
    print(render(res))
