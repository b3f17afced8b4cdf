"""A pseudo-terminal and a tiny terminal model, for the tests of what the CLI draws.

Importable as ``_terminal_support`` from every test module (``tests/`` is on
``sys.path``, see ``_shared``). :class:`Screen` replays what was written to a terminal
(text, CR/LF, and the cursor and erase sequences the CLI's live lines use: ``F``,
``K``, ``J``) and fails on any other escape sequence; :func:`pty_pair` opens a
pseudo-terminal of ``WIDTH`` x ``HEIGHT``; :func:`read_until_closed` reads its master
side until the process has closed it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

__all__ = ["HEIGHT", "WIDTH", "Screen", "pty_pair", "read_until_closed"]

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


def pty_pair() -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    return master, slave


def read_until_closed(master: int, process: subprocess.Popen[bytes], timeout: float) -> bytes:
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
