"""Run the command line in this process, as ``python -m trio_msgstream`` would run it.

Importable as ``_cli_support`` from every test module (``tests/`` is on ``sys.path``,
see ``_shared``). Starting a Python process costs ~0.7 s of CPU (the interpreter and
the package's imports); most CLI tests check what the CLI prints and returns, not the
process, so :func:`run_cli` calls the entry point (``trio_msgstream.__main__.main``)
directly:

- ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` are ``StringIO`` objects for the
  call (the CLI looks them up at each use), ``stdin`` holds the given text;
- the environment is the subprocess's: every ``ANTHROPIC_*`` variable removed, the
  given ones added; all of it is restored afterwards;
- the result has ``returncode``, ``stdout`` and ``stderr``, as a
  :class:`subprocess.CompletedProcess` has.

Without a key or a base URL the CLI starts the embedded fake server inside its own
``trio.run``, which stops it on the way out: nothing outlives the call. A test that
needs a server of its own gives it in a background thread (``sync_server``,
``fake_anthropic_in_thread``), since the CLI's ``trio.run`` owns this thread.

What needs a real process stays one (signals, terminals, the ``__main__`` block): see
:func:`run_cli_process`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from _shared import env_without_anthropic

from trio_msgstream.__main__ import main

__all__ = ["CliResult", "run_cli", "run_cli_process"]


@dataclass(frozen=True)
class CliResult:
    """What a CLI run returned and printed (the fields of ``CompletedProcess``)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextmanager
def _environment(**extra: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("ANTHROPIC_"):
                patch.delenv(name)
        for name, value in extra.items():
            patch.setenv(name, value)
        yield


def run_cli(*args: str, stdin: str | None = None, **env: str) -> CliResult:
    """``python -m trio_msgstream *args`` in this process (see the module docstring).

    Args:
        args: The command line after the program name.
        stdin: The text on standard input (empty when ``None``, as a closed pipe).
        env: Environment variables to set for the run.
    """
    out, err = io.StringIO(), io.StringIO()
    with _environment(**env), pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        code = main(list(args))
    return CliResult(list(args), code, out.getvalue(), err.getvalue())


def run_cli_process(
    *args: str, stdin: str | None = None, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m trio_msgstream *args`` in a new process, for the tests about the
    process itself (mark them ``slow``)."""
    return subprocess.run(
        [sys.executable, "-m", "trio_msgstream", *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env_without_anthropic(**env),
        check=False,
    )
