"""The fan-out progress board, drawn on stderr, and the writer that keeps it apart
from the answers.

On a terminal (stderr is a TTY) the board is a block of lines at the bottom of the
screen, redrawn in place: the cursor only ever moves up over lines the board itself
drew. Before anything else is written, to stdout or stderr, the board is erased
(cursor up over its lines, erase to the end of the screen), the text is written where
the board was, and the board is drawn again below it. So answers on stdout are never
overwritten, and when the run ends the board is erased and nothing of it stays.

The board is at most as tall as the terminal allows (a summary line and the busiest
streams) and each line is cut to the terminal's width, so no line wraps and the
line count the cursor moves over is always right.

When stderr is not a terminal the board is not drawn: one plain line per state
change is written instead, and stdout gets nothing but answers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO

import trio

from .._trio.stream import MessageStream

__all__ = ["Board", "Progress", "progress_handler"]

REDRAW_INTERVAL = 0.1
ERASE_LINE = "\x1b[2K"
ERASE_BELOW = "\x1b[J"


@dataclass
class Progress:
    """One prompt's state on the board."""

    index: int
    prompt: str
    state: str = "queued"
    deltas: int = 0
    chars: int = 0
    tail: str = ""


class Board:
    """Per-prompt progress on ``err``; the only writer of ``out`` and ``err`` during a
    fan-out, so that the board and the answers never overlap."""

    def __init__(self, prompts: list[str], out: IO[str], err: IO[str]) -> None:
        self.items = [Progress(i + 1, p) for i, p in enumerate(prompts)]
        self.out = out
        self.err = err
        self.live = _isatty(err)
        self._drawn = 0
        self._dirty = True

    # -- writing around the board ------------------------------------------------------

    def write_out(self, text: str) -> None:
        """Write ``text`` (an answer) to stdout, with the board out of the way."""
        self._clear()
        self.out.write(text)
        self.out.flush()
        self._redraw_now()

    def say(self, line: str) -> None:
        """Write one line to stderr, with the board out of the way."""
        self._clear()
        self.err.write(line + "\n")
        self.err.flush()
        self._redraw_now()

    def set_state(self, item: Progress, state: str) -> None:
        if item.state == state:
            return
        item.state = state
        self._dirty = True
        if not self.live:
            detail = f" ({item.deltas} text deltas)" if state in ("done", "failed") else ""
            self.err.write(f"[{item.index}] {state}{detail}\n")
            self.err.flush()

    def text(self, item: Progress, text: str) -> None:
        if item.state == "queued":
            self.set_state(item, "streaming")
        item.deltas += 1
        item.chars += len(text)
        item.tail = (item.tail + text)[-80:]
        self._dirty = True

    # -- drawing -------------------------------------------------------------------------

    def lines(self, width: int, height: int) -> list[str]:
        """The board's lines for a terminal of ``width`` x ``height``."""
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.state] = counts.get(item.state, 0) + 1
        summary = ", ".join(
            f"{counts[state]} {state}"
            for state in ("streaming", "queued", "done", "failed")
            if counts.get(state)
        )
        lines = [f"fan-out: {len(self.items)} prompts: {summary}"]
        room = max(height - 2, 0)
        busy = [item for item in self.items if item.state == "streaming"]
        busy += [item for item in self.items if item.state == "queued"]
        for item in busy[:room]:
            prompt = item.prompt if len(item.prompt) <= 30 else item.prompt[:29] + "…"
            tail = " ".join(item.tail.split())[-40:]
            lines.append(
                f"[{item.index}] {item.state:<9} {item.deltas:>5} deltas  {prompt!r}  {tail}"
            )
        if len(busy) > room:
            lines[-1] = f"... and {len(busy) - room + 1} more"
        return [_fit(line, width) for line in lines]

    def _size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.err.fileno())
        except (OSError, ValueError, AttributeError):
            return 80, 24
        return (size.columns or 80), (size.lines or 24)

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.err.write(f"\x1b[{self._drawn}F{ERASE_BELOW}")
            self.err.flush()
            self._drawn = 0
            self._dirty = True

    def _redraw_now(self) -> None:
        if not self.live or not self._dirty:
            return
        width, height = self._size()
        lines = self.lines(width, height)
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.err.write(up + "".join(f"{ERASE_LINE}{line}\n" for line in lines) + ERASE_BELOW)
        self.err.flush()
        self._drawn = len(lines)
        self._dirty = False

    def close(self) -> None:
        """Erase the board for good (the run is over)."""
        self._clear()
        self.live = False

    async def run(self) -> None:
        """Redraw while the fan-out runs (cancel to stop)."""
        while True:
            self._redraw_now()
            await trio.sleep(REDRAW_INTERVAL)


def _fit(line: str, width: int) -> str:
    # One column is left free: a line that fills the width exactly makes some
    # terminals wrap on the next character, which would break the cursor arithmetic.
    limit = max(width - 1, 1)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_handler(board: Board, item: Progress) -> type[MessageStream]:
    """A stream class whose handlers report one prompt's text to the board."""

    class ProgressStream(MessageStream):
        async def on_text(self, text: str) -> None:
            board.text(item, text)

    return ProgressStream
