"""The static type tests, run by both checkers in strict mode.

``tests/type_tests`` must pass mypy --strict and pyright --strict (a user's file with no
annotations is fully typed; misspelt parameters are errors).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TYPE_TESTS = TESTS / "type_tests"
ROOT = TESTS.parent

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    # Both checkers resolve ``trio_msgstream`` from this checkout first, even when the
    # environment has another one installed (an editable install of a sibling worktree).
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _mypy(path: Path) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
        env=_env(),
    )
    return result.returncode, result.stdout + result.stderr


def _pyright(path: Path) -> tuple[int, str]:
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent)) or "pyright"
    result = subprocess.run(
        [exe, "-p", str(path / "pyrightconfig.json"), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
        env=_env(),
    )
    return result.returncode, result.stdout + result.stderr


def test_type_tests_pass_mypy_strict() -> None:
    code, out = _mypy(TYPE_TESTS)
    assert code == 0, out


def test_type_tests_pass_pyright_strict() -> None:
    code, out = _pyright(TYPE_TESTS)
    assert code == 0, out
