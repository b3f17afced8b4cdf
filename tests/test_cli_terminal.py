"""The fan-out progress board on a pseudo-terminal: drawn on stderr only when stderr is
a terminal, erased before answers, never over stdout's lines.

The CLI runs in a subprocess whose stdout and/or stderr is the slave side of a pty;
what it writes is replayed through a tiny terminal model (the cursor and erase
sequences the board uses), and the final screen is checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _shared import env_without_anthropic
from _terminal_support import WIDTH, Screen, pty_pair, read_until_closed

from trio_msgstream.testing import FakeAnthropicServer, fake_anthropic_in_thread, text_response

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

PROMPTS = ["first prompt", "second prompt", "third prompt", "fourth prompt"]


def test_screen_model() -> None:
    screen = Screen(20)
    screen.feed("answer\nboard 1\nboard 2\n\x1b[2F\x1b[Jnext\n")
    assert screen.text() == ["answer", "next"]


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread() as server:
        yield server


def _enqueue_slow_answers(server: FakeAnthropicServer) -> None:
    for i in range(len(PROMPTS)):
        server.enqueue(text_response(_answer(i), chunk_delay=0.02))


def _answer(i: int) -> str:
    return f"Answer {i}: " + " ".join(f"w{i}.{n}" for n in range(12))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "trio_msgstream", *args]


def _env() -> dict[str, str]:
    env = env_without_anthropic()
    env.pop("TERM", None)
    return env


def _prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_board_on_a_terminal_never_covers_the_answers(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    _enqueue_slow_answers(server)
    master, slave = pty_pair()
    try:
        process = subprocess.Popen(
            _cli(
                "--base-url",
                server.base_url,
                "--fan-out",
                str(_prompts_file(tmp_path)),
                "--concurrency",
                "2",
            ),
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            env=_env(),
        )
        os.close(slave)
        raw = read_until_closed(master, process, timeout=60).decode("utf-8")
    finally:
        os.close(master)
    assert process.returncode == 0, raw
    assert "fan-out: 4 prompts" in raw  # the board was drawn
    screen = Screen(WIDTH)
    screen.feed(raw)
    lines = screen.text()
    # Nothing of the board stays; every answer is whole, in the order it finished.
    assert not any(line.startswith(("fan-out:", "[1] ", "[2] ", "[3] ", "[4] ")) for line in lines)
    headers = [line for line in lines if line.startswith("### [")]
    assert sorted(headers) == [f"### [{i}] {p}" for i, p in enumerate(PROMPTS, 1)]
    # Which prompt gets which scripted answer depends on the order of the requests.
    answers = sorted(lines[lines.index(header) + 1] for header in headers)
    assert answers == [_answer(i) for i in range(len(PROMPTS))]
    assert all(len(line) < WIDTH for line in lines)


@pytest.mark.slow
def test_board_on_stderr_terminal_with_stdout_piped(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    _enqueue_slow_answers(server)
    master, slave = pty_pair()
    try:
        process = subprocess.Popen(
            _cli("--base-url", server.base_url, "--fan-out", str(_prompts_file(tmp_path))),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=_env(),
        )
        os.close(slave)
        assert process.stdout is not None
        stderr = read_until_closed(master, process, timeout=60).decode("utf-8")
        stdout = process.stdout.read().decode("utf-8")
        process.stdout.close()
    finally:
        os.close(master)
    assert process.returncode == 0, stderr
    assert "\x1b" not in stdout
    assert stdout.count("### [") == 4
    assert "fan-out: 4 prompts" in stderr
    screen = Screen(WIDTH)
    screen.feed(stderr)
    assert screen.text() == []  # erased at the end


@pytest.mark.slow
def test_no_board_when_stderr_is_not_a_terminal(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    _enqueue_slow_answers(server)
    master, slave = pty_pair()
    try:
        process = subprocess.Popen(
            _cli("--base-url", server.base_url, "--fan-out", str(_prompts_file(tmp_path))),
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        os.close(slave)
        assert process.stderr is not None
        stdout = read_until_closed(master, process, timeout=60).decode("utf-8")
        stderr = process.stderr.read().decode("utf-8")
        process.stderr.close()
    finally:
        os.close(master)
    assert process.returncode == 0, stderr
    assert "\x1b" not in stdout
    assert "\x1b" not in stderr
    assert stdout.count("### [") == 4
    for index in range(1, 5):
        assert f"[{index}] done" in stderr
