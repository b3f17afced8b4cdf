"""The fan-out progress board on a pseudo-terminal: drawn on stderr only when stderr is
a terminal, erased before answers, never over stdout's lines.

The CLI runs in a subprocess whose stdout and/or stderr is the slave side of a pty;
what it writes is replayed through a tiny terminal model (the cursor and erase
sequences the board uses), and the final screen is checked.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _shared import env_without_anthropic

from trio_msgstream.testing import FakeAnthropicServer, fake_anthropic_in_thread, text_response

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

PROMPTS = ["first prompt", "second prompt", "third prompt", "fourth prompt"]
WIDTH, HEIGHT = 100, 24


class Screen:
    """Enough of a terminal for the board: text, CR/LF, cursor up (F), erase (K, J)."""

    _CSI = re.compile(r"\x1b\[(\d*)([A-Za-z])")

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.row = 0
        self.col = 0

    def _line(self) -> list[str]:
        while len(self.rows) <= self.row:
            self.rows.append([])
        return self.rows[self.row]

    def feed(self, text: str) -> None:
        pos = 0
        while pos < len(text):
            match = self._CSI.match(text, pos)
            if match is not None:
                self._csi(int(match.group(1) or 0), match.group(2))
                pos = match.end()
                continue
            char = text[pos]
            pos += 1
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.row += 1
                self._line()
            else:
                assert char != "\x1b", f"unexpected escape sequence at {text[pos - 1 : pos + 8]!r}"
                if self.col >= self.width:  # the terminal would wrap
                    self.row += 1
                    self.col = 0
                line = self._line()
                while len(line) < self.col:
                    line.append(" ")
                if self.col < len(line):
                    line[self.col] = char
                else:
                    line.append(char)
                self.col += 1

    def _csi(self, number: int, command: str) -> None:
        if command == "F":
            self.row = max(self.row - max(number, 1), 0)
            self.col = 0
        elif command == "K":
            assert number == 2
            self._line().clear()
        elif command == "J":
            assert number == 0
            line = self._line()
            del line[self.col :]
            del self.rows[self.row + 1 :]
        else:
            raise AssertionError(f"unexpected CSI {command!r}")

    def text(self) -> list[str]:
        lines = ["".join(row).rstrip() for row in self.rows]
        while lines and not lines[-1]:
            lines.pop()
        return lines


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


def _pty_pair() -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    return master, slave


def _read_until_closed(master: int, process: subprocess.Popen[bytes], timeout: float) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            process.kill()
            raise AssertionError(f"the CLI did not finish; output so far: {bytes(data)!r}")
        ready, _, _ = select.select([master], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every slave descriptor is closed
            break
        if not chunk:
            break
        data.extend(chunk)
    process.wait(timeout=30)
    return bytes(data)


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
    master, slave = _pty_pair()
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
        raw = _read_until_closed(master, process, timeout=60).decode("utf-8")
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
    master, slave = _pty_pair()
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
        stderr = _read_until_closed(master, process, timeout=60).decode("utf-8")
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
    master, slave = _pty_pair()
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
        stdout = _read_until_closed(master, process, timeout=60).decode("utf-8")
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
