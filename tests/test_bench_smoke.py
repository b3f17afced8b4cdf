"""Smoke test of the benchmark: ``benchmarks/run.py --quick`` runs, prints its table and
writes valid JSON. Tiny sizes, one repeat; the SDK contender only if it is installed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"


@pytest.mark.slow
def test_bench_quick(tmp_path: Path) -> None:
    contenders = ["raw_httpx", "raw_sse", "ours_stream", "ours_raw", "ours_text"]
    if importlib.util.find_spec("anthropic") is not None:
        contenders.append("sdk")
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            "--no-chart",
            "--only",
            "short_chat,long_text,big_tool,core",
            "--contenders",
            ",".join(contenders),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "| scenario" in out
    assert "(d) ours open_message_stream" in out
    assert "core (sans-IO" in out
    results = json.loads((tmp_path / "results.json").read_text())
    cells = results["cells"]
    assert {c["contender"] for c in cells} == set(contenders)
    for cell in cells:
        assert not cell.get("error"), cell
        assert cell["runs"], cell
        assert cell["wall"] > 0
        assert cell["events"] > 0
    # Every accumulating contender rebuilt the same message from the same bytes.
    for scenario in ("short_chat", "long_text", "big_tool"):
        checks = {
            c["check"]
            for c in cells
            if c["scenario"] == scenario and c["contender"] in ("ours_stream", "sdk")
        }
        assert len(checks) == 1, (scenario, checks)
    assert results["core"]
    assert all(r["engine_us_per_event"] > 0 for r in results["core"])
    assert results["machine"]["python"]
