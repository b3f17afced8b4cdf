"""Every ``python`` code block in README.md and docs/ runs, so the docs cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


# Every block runs in a subprocess (a test module: a whole pytest run, ~2.5 s of CPU;
# any other: a script, ~0.7 s): slow.
@pytest.mark.slow
@pytest.mark.parametrize(("where", "code"), [pytest.param(w, c, id=w) for w, c in BLOCKS])
def test_code_block_runs(where: str, code: str, tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
    }
    if _is_test_module(code):
        # A test module for users' apps: run it with pytest (our plugin's fixtures).
        script = tmp_path / "test_block.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    else:
        script = tmp_path / "block.py"
        command = [sys.executable, "-W", "error::ResourceWarning"]
    script.write_text(code)
    result = subprocess.run(
        [*command, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{where} printed nothing"
    if _is_test_module(code):
        assert " passed" in result.stdout
        assert "failed" not in result.stdout
