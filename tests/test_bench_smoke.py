"""Smoke test of the benchmark: ``benchmarks/run.py --quick`` runs, prints its tables and
writes valid JSON, for the one-write-per-event sections and for the arrival patterns of
issue 11 (bulk, paced, slow, first byte). Tiny sizes, one repeat; the SDK contender only
if it is installed. It checks that every contender did the same work on the same bytes;
it asserts nothing about time (the numbers of a quick run mean nothing)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
HAVE_SDK = importlib.util.find_spec("anthropic") is not None


def _start(out: Path, only: str, contenders: list[str]) -> subprocess.Popen[str]:
    cmd = [sys.executable, str(RUN), "--quick", "--no-chart", "--only", only]
    cmd += ["--contenders", ",".join(contenders), "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> str:
    try:
        out, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    return out


@pytest.mark.slow
def test_bench_quick(tmp_path: Path) -> None:
    per_event = ["raw_httpx", "raw_sse", "ours_stream", "ours_raw", "ours_text"]
    arrivals = [*per_event, "ours_handlers", "ours_sync", "raw_httpx_sync"]
    if HAVE_SDK:
        arrivals.append("sdk")
    # The two halves side by side (two cores): the test stays short.
    a = _start(tmp_path / "a", "short_chat,core", per_event)
    b = _start(tmp_path / "b", "bulk,bulk_scaling,paced,slow,first_byte", arrivals)
    out_a, out_b = _finish(a), _finish(b)

    # One write per event, and the sans-IO core.
    assert "| scenario" in out_a
    assert "(d) ours open_message_stream" in out_a
    assert "core (sans-IO" in out_a
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    cells = results["cells"]
    assert {c["contender"] for c in cells} == set(per_event)
    for cell in cells:
        assert not cell.get("error"), cell
        assert cell["runs"], cell
        assert cell["wall"] > 0
        assert cell["events"] > 0
    # The same bytes for everyone: equal events (raw SSE, raw stream), equal text.
    by_contender = {c["contender"]: c for c in cells}
    assert by_contender["raw_sse"]["check"] == by_contender["ours_raw"]["check"]
    assert by_contender["ours_stream"]["check"] == by_contender["ours_text"]["check"]
    assert all(run["checks_equal"] for cell in cells for run in cell["runs"])
    assert results["core"]
    assert all(r["engine_us_per_event"] > 0 for r in results["core"])
    assert results["machine"]["python"]

    # The arrival patterns.
    for heading in ("| bulk |", "| paced knee |", "| slow |", "| first item", "| issue 11 target"):
        assert heading in out_b, heading
    arr = json.loads((tmp_path / "b" / "results.json").read_text())["arrivals"]
    every = [*arr["bulk"], *arr["scaling"], *arr["paced"]["trials"], *arr["paced"]["fixed"]]
    every += [*arr["slow"], *arr["first_byte"]]
    for cell in every:
        assert not cell.get("error"), (cell["contender"], cell.get("stderr"))
        assert cell["runs"], cell
        assert cell["checks_equal"], cell
        assert cell["wall"] > 0
    long_text = {c["contender"]: c for c in arr["bulk"] if c["scenario"] == "long_text"}
    assert set(long_text) == set(arrivals)
    # The same bytes for everyone: equal bytes, equal events, equal text.
    assert long_text["raw_httpx"]["check"] == long_text["raw_httpx_sync"]["check"]
    assert long_text["raw_sse"]["check"] == long_text["ours_raw"]["check"]
    texts = {"ours_stream", "ours_text", "ours_handlers", "ours_sync", "sdk"} & set(arrivals)
    assert len({long_text[c]["check"] for c in texts}) == 1
    paced = arr["paced"]
    assert set(paced["knees"]) == {"raw_httpx", "ours_text"}
    for cell in paced["trials"]:
        assert cell["lag"]["n"] == cell["deltas"], cell  # every delta's lag recorded
    for cell in arr["slow"]:
        assert cell["max_concurrent"] >= 1
        assert cell["gc_collections"] is not None
    for cell in arr["first_byte"]:
        assert cell["first_item"]["n"] == cell["runs"][0]["rounds"]
    targets = json.loads((tmp_path / "b" / "results.json").read_text())["issue11_targets"]
    assert len(targets) >= 8
