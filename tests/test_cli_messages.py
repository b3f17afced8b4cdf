"""CLI usage errors (exit 2 at once, no request) and error messages that name their cause.

The CLI runs in this process (``_cli_support.run_cli``); the servers in threads.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator

import pytest
from _cli_support import run_cli

from trio_msgstream._core.schema import model_names
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    fake_anthropic_in_thread,
    text_response,
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread() as server:
        yield server


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--base-url", "ftp://x", "hi"], {}, "--base-url must be an http:// or https:// URL"),
        (["--base-url", "not a url", "hi"], {}, "got 'not a url'"),
        (["--base-url", "http://", "hi"], {}, "--base-url must be"),
        (["hi"], {"ANTHROPIC_BASE_URL": "localhost:8080"}, "ANTHROPIC_BASE_URL must be"),
        (["--concurrency", "3", "hi"], {}, "--concurrency only applies with --fan-out"),
        (["--max-retries", "-1", "hi"], {}, "--max-retries must be >= 0"),
        (["--timeout", "0", "hi"], {}, "--timeout must be > 0"),
        (["--max-retries", "x", "hi"], {}, "invalid int value"),
    ],
)
def test_usage_errors_exit_2(args: list[str], env: dict[str, str], expected: str) -> None:
    result = run_cli(*args, **env)
    assert result.returncode == 2, result.stderr
    assert "usage:" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "embedded" not in result.stderr  # nothing was started
    assert result.stdout == ""


def test_usage_error_sends_no_request(server: FakeAnthropicServer) -> None:
    server.reset()
    result = run_cli("--base-url", server.base_url, "--concurrency", "2", "hi")
    assert result.returncode == 2
    assert server.requests == []


def test_max_retries_flag(server: FakeAnthropicServer) -> None:
    server.reset()
    server.fail_first(2, error_response(529, "overloaded_error", "busy"))
    server.enqueue(text_response("made it"))
    result = run_cli("--base-url", server.base_url, "--max-retries", "0", "hi")
    assert result.returncode == 1
    assert len(server.requests) == 1
    assert "overloaded_error" in result.stderr

    server.reset()
    server.fail_first(2, error_response(529, "overloaded_error", "busy"))
    server.enqueue(text_response("made it"))
    result = run_cli("--base-url", server.base_url, "--max-retries", "2", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "made it\n"
    assert len(server.requests) == 3
    notices = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(notices) == 2
    assert notices[0].startswith(
        "trio-msgstream: attempt 1 of 3 failed (OverloadedError); retrying in "
    )
    assert notices[1].startswith("trio-msgstream: attempt 2 of 3 failed (OverloadedError)")


def test_html_error_page_is_summarised(server: FakeAnthropicServer) -> None:
    server.reset()
    server.enqueue(ScriptedResponse.html(502))
    result = run_cli("--base-url", server.base_url, "--max-retries", "0", "hi")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    host = server.base_url.split("//", 1)[1].rstrip("/")
    assert line.startswith(
        f'trio-msgstream: HTTP 502 from {host}: an HTML error page titled "502 Bad Gateway" '
        "(request id req_"
    )
    assert "<html" not in result.stderr


def test_html_page_with_200_is_summarised(server: FakeAnthropicServer) -> None:
    server.reset()
    server.enqueue(ScriptedResponse.html(200))
    result = run_cli("--base-url", server.base_url, "--max-retries", "0", "hi")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "answered with an HTML page, not an event stream" in line
    assert "<html" not in result.stderr


def test_connection_error_names_the_host() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("--base-url", f"http://127.0.0.1:{port}", "--max-retries", "0", "hi")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"trio-msgstream: cannot reach 127.0.0.1:{port}: ")
    assert len(line) > len(f"trio-msgstream: cannot reach 127.0.0.1:{port}: ")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="Linux drops SYNs on a full backlog"
)
def test_connect_timeout_says_phase_limit_and_time() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        result = run_cli(
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--timeout",
            "0.2",
            "--max-retries",
            "1",
            "hi",
        )
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(
        f"trio-msgstream: timed out connecting to 127.0.0.1:{port}: connect timeout of 0.2 s "
        "(2 attempts, gave up after "
    )
    assert "attempt 1 of 2 failed (APITimeoutError); retrying in" in result.stderr


def test_content_idle_timeout_message(server: FakeAnthropicServer) -> None:
    server.reset()
    server.enqueue(ScriptedResponse.pings_only(200, interval=0.05))
    result = run_cli("--base-url", server.base_url, "--timeout", "0.3", "--max-retries", "0", "hi")
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "timed out waiting for content from" in line
    assert "(no event but pings): content_idle timeout of 0.3 s" in line


def test_max_tokens_stop_is_noted(server: FakeAnthropicServer) -> None:
    result = run_cli("--max-tokens", "3", "Say hello there!")
    assert result.returncode == 0, result.stderr
    assert "max_tokens limit (3 tokens)" in result.stderr
    assert "max_tokens" not in result.stdout


def test_no_note_when_the_answer_is_complete() -> None:
    result = run_cli("Say hello there!")
    assert result.returncode == 0, result.stderr
    assert "max_tokens" not in result.stderr


def test_fan_out_json_is_compact_lines(tmp_path: os.PathLike[str]) -> None:
    prompts = os.path.join(tmp_path, "prompts.txt")
    with open(prompts, "w", encoding="utf-8") as file:
        file.write("one\ntwo\n")
    result = run_cli("--fan-out", prompts, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        record = json.loads(line)
        assert line == json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        assert set(record) == {"index", "prompt", "text", "message"}


def test_deprecated_model_is_a_one_line_notice(server: FakeAnthropicServer) -> None:
    # A CLI user gets the library's deprecation text as one line on stderr, not a
    # Python warning with a file path (in this process, pytest's warnings are errors).
    model = next(iter(model_names.DEPRECATED_MODELS))
    result = run_cli("--model", model, "hi", ANTHROPIC_BASE_URL=server.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"trio-msgstream: warning: {model_names.deprecation_notice(model)}"
    ]
    assert server.requests[-1].json["model"] == model
