"""The processes of the arrival-pattern benchmark: the server, the client probes and
the machine's load.

``ArrivalServer`` starts ``arrival_server.py`` (pinned to one CPU when there are two);
``Runner.probe`` runs one ``arrival_probe.py`` process per measurement, bounded by its
budget, and returns the probe's JSON report (or what went wrong: over budget, or the
process's error); ``Runner.map`` runs several, ``jobs`` at a time. In a ``--quick`` run
the runner has a ``workers.Pool``: the same commands, run by long-lived workers.
``load_snapshot`` and ``busy_share`` tell a quiet run from one that shared the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers import Pool

HERE = Path(__file__).resolve().parent


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
        self.pool: Pool | None = None  # --quick: workers instead of a process per probe
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
        """Run one ``arrival_probe.py`` process (or, with a ``pool``, the same command in
        a worker); its budget is ``--sdk-budget`` (SDK) or ``--timeout`` seconds, plus
        ``extra`` (a paced stream's own duration)."""
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
            if self.pool is not None:
                proc = self.pool.run(cmd, timeout=budget)
            else:
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
