"""Every ``python`` code block in README.md and docs/ runs, so the docs cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# httpx imports httpcore when its first client is made. pytester's in-process sessions
# drop the modules they import when they end, so without this the second session would
# import httpcore anew, and its exceptions would not be the classes httpx maps.
import httpcore  # noqa: F401
import pytest
from _forkserver import ForkServer

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for number, match in enumerate(BLOCK.finditer(page.read_text()), start=1):
            found.append((f"{page.relative_to(ROOT)}#{number}", match.group(1)))
    return found


BLOCKS = _blocks()


def test_docs_have_code_blocks() -> None:
    assert len(BLOCKS) >= 4


def _is_test_module(code: str) -> bool:
    return re.search(r"^(async )?def test_", code, re.MULTILINE) is not None


def _params(test_modules: bool) -> list[object]:
    return [pytest.param(w, c, id=w) for w, c in BLOCKS if _is_test_module(c) == test_modules]


# A script block runs as a user runs it: its own process (forked from one that has
# done the imports: tests/_forkserver.py), working directory and __main__.
@pytest.mark.slow
@pytest.mark.parametrize(("where", "code"), _params(test_modules=False))
def test_code_block_runs(where: str, code: str, tmp_path: Path, fork_server: ForkServer) -> None:
    script = tmp_path / "block.py"
    script.write_text(code)
    result = fork_server.run(script, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{where} printed nothing"


def test_the_fork_server_runs_a_script_as_python_does(
    tmp_path: Path, fork_server: ForkServer
) -> None:
    # What the blocks rely on: __main__, the working directory, the exit status, both
    # outputs, ResourceWarning as an error, and a script that hangs is killed.
    script = tmp_path / "s.py"
    script.write_text(
        "import os, sys, warnings\n"
        "print(__name__, os.getcwd() == sys.argv[1] if len(sys.argv) > 1 else os.getcwd())\n"
        "print('to stderr', file=sys.stderr)\n"
        "try:\n"
        "    warnings.warn('w', ResourceWarning)\n"
        "except ResourceWarning:\n"
        "    print('resource warning raised')\n"
        "sys.exit(3)\n"
    )
    result = fork_server.run(script, cwd=tmp_path, timeout=10)
    expected = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        expected.returncode,
        expected.stdout,
        expected.stderr,
    )
    assert result.returncode == 3
    assert "resource warning raised" in result.stdout
    hang = tmp_path / "hang.py"
    hang.write_text("import time\ntime.sleep(60)\n")
    assert fork_server.run(hang, cwd=tmp_path, timeout=0.5).returncode != 0


# A block that is a test module (for users' own suites) runs in a new pytest session
# with our plugin found through its entry point, as in a user's project.
@pytest.mark.parametrize(("where", "code"), _params(test_modules=True))
@pytest.mark.usefixtures("no_anthropic_env")
def test_test_module_block_passes(where: str, code: str, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_block=code)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-W", "error")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0, f"{where} failed:\n{output}"
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, output
    assert "failed" not in outcomes, output
    assert "errors" not in outcomes, output
