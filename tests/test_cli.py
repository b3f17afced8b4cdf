"""``python -m trio_msgstream`` without ANTHROPIC_API_KEY: in this process (see
``_cli_support``), and in a subprocess where the process is what is tested (the README's
demo command, Ctrl-C, the installed script)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from _cli_support import run_cli, run_cli_process
from _shared import env_without_anthropic

from trio_msgstream._core.schema import model_names
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    split_events,
    text_response,
)


@pytest.mark.slow
def test_demo_streams_with_embedded_server() -> None:
    # The README's demo command, as users type it.
    result = run_cli_process("Say hello there!")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Hello there!")
    assert "Say hello there!" in result.stdout
    assert "embedded local server" in result.stderr
    assert "ANTHROPIC_API_KEY" in result.stderr


def test_prompt_from_stdin() -> None:
    result = run_cli(stdin="What is structured concurrency?\n")
    assert result.returncode == 0, result.stderr
    assert "What is structured concurrency?" in result.stdout
    assert "embedded local server" in result.stderr


def test_json_lines() -> None:
    result = run_cli("--json", "Say hello there!")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    # Compact: one object per line, no spaces between tokens.
    assert all(
        line == json.dumps(e, separators=(",", ":"), ensure_ascii=False)
        for line, e in zip(lines, events, strict=True)
    )
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    # The API's events only: no derived ``text`` event repeats a delta.
    assert set(kinds) <= {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    text = "".join(deltas)
    assert text.startswith("Hello there!")
    assert events[-1]["message"]["stop_reason"] == "end_turn"
    assert events[-1]["message"]["content"][0]["text"] == text


def test_stats_on_stderr() -> None:
    result = run_cli("--stats", "--system", "Be brief.", "--max-tokens", "5", "Say hello there!")
    assert result.returncode == 0, result.stderr
    stats = [line for line in result.stderr.splitlines() if line.startswith("stats:")]
    assert len(stats) == 1
    line = stats[0]
    for part in ("ttft=", "tokens/s=", "input_tokens=", "output_tokens=5", "request_id=req_"):
        assert part in line
    assert "stop_reason=max_tokens" in line
    assert "stats" not in result.stdout


def test_fan_out(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Say hello\n\nWhat is trio?\nCount to three\n", encoding="utf-8")
    result = run_cli("--fan-out", str(prompts), "--stats", "--concurrency", "2")
    assert result.returncode == 0, result.stderr
    for index, prompt in enumerate(["Say hello", "What is trio?", "Count to three"], 1):
        assert f"### [{index}] {prompt}" in result.stdout
        assert f"[{index}] done" in result.stderr
        assert f"stats[{index}]:" in result.stderr
    assert result.stdout.count("deterministic reply") == 3


def test_fan_out_json(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\ntwo\n", encoding="utf-8")
    result = run_cli("--fan-out", str(prompts), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["prompt"] for r in records) == ["one", "two"]
    assert all("deterministic" in r["text"] for r in records)


def test_api_error_exit_code(sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(error_response(400, "invalid_request_error", "max_tokens: too large"))
    result = run_cli(
        "--base-url", sync_server.base_url, "hi", ANTHROPIC_API_KEY="sk-test-not-shown"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "400" in lines[0]
    assert "max_tokens: too large" in lines[0]
    assert "request id req_" in lines[0]
    assert "sk-test-not-shown" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "embedded" not in result.stderr
    assert sync_server.requests[0].header("authorization") == "Bearer sk-test-not-shown"


def test_mid_stream_error_exit_code(sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(
        ScriptedResponse.error_event_after(6, text_response("one two three four five"))
    )
    result = run_cli("--base-url", sync_server.base_url, "hi")
    assert result.returncode == 1
    assert "overloaded" in result.stderr.lower()
    assert result.stdout.strip()  # the text before the error was printed


def test_timeout_exit_code(sync_server: FakeAnthropicServer) -> None:
    response = text_response("one two three four five")
    head = sum(len(e) for e in split_events(response.body)[:5])
    stalled = ScriptedResponse(
        body=response.body,
        headers=response.headers,
        stall_after_bytes=head,
        stall_seconds=float("inf"),
        stall_pings_every=0.05,
    )
    sync_server.enqueue(stalled)
    result = run_cli("--base-url", sync_server.base_url, "--timeout", "0.5", "hi")
    assert result.returncode == 3, result.stderr
    assert "content_idle" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--max-tokens", "0", "hi"], ["--max-tokens", "x", "hi"], ["--no-such-option"], []],
)
def test_usage_errors(args: list[str]) -> None:
    result = run_cli(*args, stdin="")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_fan_out_missing_file(tmp_path: Path) -> None:
    result = run_cli("--fan-out", str(tmp_path / "missing.txt"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exit_code(sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(text_response(" ".join(["word"] * 200), chunk_delay=0.05))
    process = subprocess.Popen(
        [sys.executable, "-m", "trio_msgstream", "--base-url", sync_server.base_url, "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_without_anthropic(),
    )
    assert process.stdout is not None
    # Wait for the stream to be flowing, then interrupt.
    first = process.stdout.read(4)
    assert first == "word"
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert time.monotonic() - started < 10


def test_console_script_entry_point() -> None:
    from trio_msgstream.__main__ import main

    assert main(["--max-tokens", "0", "hi"]) == 2


@pytest.mark.slow
def test_installed_script_prints_usage() -> None:
    script = Path(sysconfig.get_path("scripts")) / "trio-msgstream"
    assert script.exists(), f"the package's console script is not installed at {script}"
    result = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_without_anthropic(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: trio-msgstream ")
    assert "exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted" in (
        result.stdout
    )
    assert result.stderr == ""


@pytest.mark.slow
def test_deprecated_model_notice_without_python_warning() -> None:
    # As users run it: the interpreter's default filters show DeprecationWarnings of
    # ``__main__``, so the raw warning (file path, source line) would print here.
    model = next(iter(model_names.DEPRECATED_MODELS))
    result = run_cli_process("--model", model, "Say hi")
    assert result.returncode == 0, result.stderr
    assert "DeprecationWarning" not in result.stderr
    assert ".py:" not in result.stderr
    notices = [line for line in result.stderr.splitlines() if model in line]
    assert notices == [f"trio-msgstream: warning: {model_names.deprecation_notice(model)}"]
