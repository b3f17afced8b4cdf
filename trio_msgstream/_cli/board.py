"""Progress on stderr that redraws in place on a terminal: the fan-out board, and the
terminal handling it shares with ``batch wait`` (:class:`LiveLines`).

On a terminal (stderr is a TTY) a live block is a few lines at the bottom of the
screen, redrawn in place: the cursor only ever moves up over lines the block itself
drew. Before anything else is written, to stdout or stderr, the block is erased
(cursor up over its lines, erase to the end of the screen), the text is written where
the block was, and the block is drawn again below it. So answers on stdout are never
overwritten, and when the run ends the block is erased and nothing of it stays.

The block is at most as tall as the terminal allows and each line is cut to the
terminal's width, so no line wraps and the line count the cursor moves over is always
right. The fan-out board shows a summary line and the busiest streams.

When stderr is not a terminal no block is drawn: the users of :class:`LiveLines` write
one plain line per state change instead (``live`` says which), and stdout gets
nothing but answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import trio

from .._trio.stream import MessageStream

__all__ = ["Board", "LiveLines", "Progress", "progress_handler"]

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


class LiveLines:
    """Lines at the bottom of a terminal, redrawn in place (see the module docstring).

    Args:
        stream: Where the lines go (stderr); they are drawn only when it is a terminal
            (``live``).
        render: The lines for a terminal of ``width`` x ``height``; called at each
            redraw, so they may show the time.
    """

    def __init__(self, stream: IO[str], render: Callable[[int, int], list[str]]) -> None:
        self.stream = stream
        self.live = _isatty(stream)
        self._render = render
        self._drawn = 0
        self._dirty = True

    def invalidate(self) -> None:
        """The lines changed: the next :meth:`redraw` draws them."""
        self._dirty = True

    def write(self, target: IO[str], text: str) -> None:
        """Write ``text`` to ``target`` (stdout, or the terminal itself) with the lines out
        of the way, then draw them again below it."""
        self.clear()
        target.write(text)
        target.flush()
        self.redraw()

    def clear(self) -> None:
        """Erase the lines (the cursor goes back to where they began)."""
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F{ERASE_BELOW}")
            self.stream.flush()
            self._drawn = 0
            self._dirty = True

    def redraw(self) -> None:
        """Draw the lines over the previous ones, if they changed."""
        if not self.live or not self._dirty:
            return
        width, height = self._size()
        lines = [_fit(line, width) for line in self._render(width, height)]
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.stream.write(up + "".join(f"{ERASE_LINE}{line}\n" for line in lines) + ERASE_BELOW)
        self.stream.flush()
        self._drawn = len(lines)
        self._dirty = False

    def close(self) -> None:
        """Erase the lines for good (the run is over)."""
        self.clear()
        self.live = False

    async def run(self, interval: float, *, every_time: bool = False) -> None:
        """Redraw every ``interval`` seconds (cancel to stop): when the lines changed, or
        every time with ``every_time`` (lines that show a clock)."""
        while True:
            if every_time:
                self._dirty = True
            self.redraw()
            await trio.sleep(interval)

    def _size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            return 80, 24
        return (size.columns or 80), (size.lines or 24)


class Board:
    """Per-prompt progress on ``err``; the only writer of ``out`` and ``err`` during a
    fan-out, so that the board and the answers never overlap."""

    def __init__(self, prompts: list[str], out: IO[str], err: IO[str]) -> None:
        self.items = [Progress(i + 1, p) for i, p in enumerate(prompts)]
        self.out = out
        self.err = err
        self._screen = LiveLines(err, self.lines)

    @property
    def live(self) -> bool:
        """Whether the board is drawn (stderr is a terminal, and the run goes on)."""
        return self._screen.live

    # -- writing around the board ------------------------------------------------------

    def write_out(self, text: str) -> None:
        """Write ``text`` (an answer) to stdout, with the board out of the way."""
        self._screen.write(self.out, text)

    def say(self, line: str) -> None:
        """Write one line to stderr, with the board out of the way."""
        self._screen.write(self.err, line + "\n")

    def set_state(self, item: Progress, state: str) -> None:
        if item.state == state:
            return
        item.state = state
        self._screen.invalidate()
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
        self._screen.invalidate()

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

    def close(self) -> None:
        """Erase the board for good (the run is over)."""
        self._screen.close()

    async def run(self) -> None:
        """Redraw while the fan-out runs (cancel to stop)."""
        await self._screen.run(REDRAW_INTERVAL)


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
