"""The static type tests, run by both checkers in strict mode.

``tests/type_tests`` must pass mypy --strict and pyright --strict (a user's file with no
annotations is fully typed; misspelt parameters are errors). ``tests/type_tests_pending``
holds the proofs that wait for the client signatures: its known errors are listed here,
so this test fails when they go away (then move the file into tests/type_tests).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TYPE_TESTS = TESTS / "type_tests"
PENDING = TESTS / "type_tests_pending"

pytestmark = pytest.mark.slow


def _mypy(path: Path) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
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
    )
    return result.returncode, result.stdout + result.stderr


def test_type_tests_pass_mypy_strict() -> None:
    code, out = _mypy(TYPE_TESTS)
    assert code == 0, out


def test_type_tests_pass_pyright_strict() -> None:
    code, out = _pyright(TYPE_TESTS)
    assert code == 0, out


# file line -> what the checker says today (lines of tests/type_tests_pending).
PENDING_MYPY = {
    r":\d+: error: Expression is of type \"Any\", not \"MessageStream\"",
    r":43: error: Signature of \"on_text\" incompatible with supertype",
    r":49: error: Signature of \"on_text\" incompatible with supertype",
    r":56: error: Unused \"type: ignore\" comment",
    r":64: error: Unused \"type: ignore\" comment",
}


def test_pending_type_proofs_still_wait_for_the_signatures() -> None:
    code, out = _mypy(PENDING)
    assert code != 0
    for pattern in PENDING_MYPY:
        assert re.search(pattern, out), (pattern, out)
    code, out = _pyright(PENDING)
    assert code != 0
    assert 'overrides class "MessageStream" in an incompatible manner' in out, out
    assert out.count('Unnecessary "# type: ignore" comment') == 2, out
