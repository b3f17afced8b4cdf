"""Long-lived client processes for ``--quick`` runs.

A real measurement runs every cell in a fresh process (``arrival_probe.py``,
``contenders.py``): imports, allocator and caches start alike for every contender and
every cell. A quick run measures nothing: it checks that the harness works and that
every contender does the same work on the same bytes. There a fresh Python process per
cell costs far more CPU than the cell (importing the package takes ~1 s, the SDK ~2 s),
so a quick run hands each cell's command line to a worker instead.

A worker is the same script started as ``SCRIPT --serve``. ``serve`` reads one command
line per stdin line (a JSON list, the arguments after the script), runs the script's
``main(argv)`` on it with ``sys.stdout`` and ``sys.stderr`` captured, and answers with
one JSON line: the return code, stdout and stderr a fresh process would have left (an
exception becomes its traceback and return code 1, as in a fresh process). The
command's own code path is the one a fresh process runs; only the imports are warm.

``Pool.run`` stands in for ``subprocess.run(cmd, capture_output=True, text=True,
timeout=...)``: same command list, a ``CompletedProcess`` back, ``TimeoutExpired`` on
an overrun (the worker is killed then and a new one started on the next call), so the
runners read a worker's answer exactly as a process's output. A worker that dies
mid-command is reported as a failed process with the worker's stderr. One command per
script, the first of the cheapest contender (``FRESH``, no package import), still runs
as a fresh process, so that a quick run also exercises a real run's path.

A ``Pool`` keeps one worker per script for all contenders (``main`` builds a fresh
client and event loop per command), commands one after another, and one for the SDK
(``ISOLATED``), whose commands may run beside them: ``anthropic`` and its own httpx stay
out of the process that runs this project's contenders, as in a real run. After each
command the worker collects its garbage and freezes what survives (``gc.freeze``: the
imported modules, mostly), so the full collections a probe makes between rounds do not
walk the same ~50,000 long-lived objects again each time (~30 ms a collection).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
SERVE = "--serve"
ISOLATED = ("sdk",)  # contenders (the first argument) with a worker of their own
FRESH = "raw_httpx"  # its first command per script: a fresh process (the cheapest)


def group(contender: str) -> str:
    """The worker that runs ``contender``'s commands: its own, or the shared one."""
    return contender if contender in ISOLATED else "shared"


# ------------------------------------------------------------------------------ worker side


def serve(main: Callable[[list[str]], Any]) -> None:
    """Run ``main(argv)`` once per stdin line until stdin closes; one JSON answer per line."""
    out = sys.stdout
    for line in sys.stdin:
        code, stdout, stderr = call_main(main, json.loads(line))
        gc.collect()
        gc.freeze()
        out.write(json.dumps({"returncode": code, "stdout": stdout, "stderr": stderr}) + "\n")
        out.flush()


def call_main(main: Callable[[list[str]], Any], argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` as a process would run it: (return code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(argv)
        except SystemExit as stop:
            code = _exit_code(stop)
        except Exception:
            traceback.print_exc()
            code = 1
    return code, stdout.getvalue(), stderr.getvalue()


def _exit_code(stop: SystemExit) -> int:
    """The return code of a process ended by ``stop`` (a message goes to stderr)."""
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code
    print(stop.code, file=sys.stderr)
    return 1


# ------------------------------------------------------------------------------ runner side


class Worker:
    """One ``SCRIPT --serve`` process and its pipes."""

    def __init__(self, script: str) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, script, SERVE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=HERE,
        )
        self.buf = b""
        self.alive = True

    def call(self, cmd: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(list(cmd[2:])).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._died(cmd)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close(kill=True)
                raise subprocess.TimeoutExpired(list(cmd), timeout)
            if select.select([fd], [], [], left)[0]:
                data = os.read(fd, 1 << 16)
                if not data:
                    return self._died(cmd)
                self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        answer = json.loads(line)
        return subprocess.CompletedProcess(
            list(cmd), answer["returncode"], answer["stdout"], answer["stderr"]
        )

    def _died(self, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        try:
            code = self.proc.wait(timeout=10) or 1
        except subprocess.TimeoutExpired:
            code = 1
        self.stderr.seek(0)
        err = self.stderr.read().decode(errors="replace")
        self.close(kill=True)
        return subprocess.CompletedProcess(list(cmd), code, "", err or "the worker died")

    def close(self, kill: bool = False) -> None:
        self.alive = False
        if kill:
            self.proc.kill()
        elif self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the worker ends when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


class _Slot:
    """The worker of one (script, group) and the lock its commands take turns on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.worker: Worker | None = None


class Pool:
    """One worker per (script, group), started on first use; a command whose worker is
    busy waits for it. Thread-safe: with ``jobs`` > 1 the runners call ``run`` from
    several threads, and the SDK's commands run beside the others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._fresh: set[str] = set()  # scripts whose FRESH command has run

    def run(self, cmd: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        """``cmd`` is ``[python, script, contender, *arguments]``, as for a process."""
        script, contender = cmd[1], cmd[2]
        with self._lock:
            fresh = contender == FRESH and script not in self._fresh
            if fresh:
                self._fresh.add(script)
            slot = self._slots.setdefault((script, group(contender)), _Slot())
        if fresh:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE)
        with slot.lock:
            if slot.worker is None or not slot.worker.alive:
                slot.worker = Worker(script)
            return slot.worker.call(cmd, timeout)

    def close(self) -> None:
        for slot in self._slots.values():
            if slot.worker is not None and slot.worker.alive:
                slot.worker.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
