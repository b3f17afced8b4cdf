"""Scripts run as a user runs them, without paying the imports each time.

``ForkServer`` starts this file as a process that imports what the docs' scripts import
(trio, httpx, pydantic and the package), then forks a child per script: the child
runs the script as ``python -W error::ResourceWarning script.py`` would (its own
process, working directory, ``sys.argv`` and ``__main__``; its output and exit status
are the script's), but starts with the imports done, ~0.1 s of CPU instead of ~0.6 s.
A script that outlives its timeout is killed.

Protocol: one JSON line per request on the server's stdin (``script``, ``cwd``,
``timeout``), one JSON line per result on its stdout (``returncode``, ``stdout``,
``stderr``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class ForkServer:
    """The server process; ``run`` a script in a child of it."""

    def __init__(self, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, script: Path, *, cwd: Path, timeout: float) -> Result:
        proc = self._proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        request = {"script": str(script), "cwd": str(cwd), "timeout": timeout}
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server exited ({proc.wait()})")
        return Result(**json.loads(line))

    def close(self) -> None:
        proc = self._proc
        if proc.stdin is not None:
            proc.stdin.close()  # the server ends at the end of its input
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# -- the server --------------------------------------------------------------------------


def _child(request: dict[str, Any], out: int, err: int) -> int:
    import runpy
    import traceback
    import warnings

    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    script = request["script"]
    os.chdir(request["cwd"])
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    warnings.simplefilter("error", ResourceWarning)
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    return code


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.005)


def _serve() -> None:
    import atexit
    import tempfile

    # What the scripts import, imported once.
    import httpx  # noqa: F401
    import pydantic  # noqa: F401
    import trio  # noqa: F401

    import trio_msgstream
    import trio_msgstream.testing
    import trio_msgstream.types

    for name in ("AsyncClient", "Client", "open_message_stream", "MessageStream"):
        getattr(trio_msgstream, name)

    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                code = 1
                try:
                    code = _child(request, out.fileno(), err.fileno())
                    atexit._run_exitfuncs()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            returncode = _wait(pid, request["timeout"])
            texts = []
            for f in (out, err):
                f.seek(0)
                texts.append(f.read().decode("utf-8", "replace"))
        result = {"returncode": returncode, "stdout": texts[0], "stderr": texts[1]}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
