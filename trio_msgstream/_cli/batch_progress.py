"""The progress of ``trio-msgstream batch wait`` and ``batch results`` on stderr.

``wait`` polls a batch that may run for hours. On a terminal its state is a block of
three short lines at the bottom of the screen, redrawn in place (the fan-out board's
:class:`LiveLines`): the batch and its processing status; the requests done, the time
waited and the polls made; the requests counted by status. The clock is refreshed every
second between polls. When the wait ends the block is erased and the last state is
written once, as one plain line, so the screen keeps it. When stderr is not a terminal
there are no escape sequences: that plain line when the wait learns the batch's state,
and again each time the status or a count changes (a batch that runs for an hour
unchanged adds no line).

``results`` keeps a count of the results written on a terminal (and the final count
when done), and is silent otherwise (stdout carries the results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

import trio

from .._core.batches.models import MessageBatch
from .board import LiveLines

__all__ = ["ResultsProgress", "WaitProgress", "describe_batch", "format_elapsed"]

TICK = 1.0
"""Seconds between redraws of the live line (its clock shows seconds)."""

_STATUSES = ("succeeded", "errored", "canceled", "expired", "processing")


def format_elapsed(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``: minutes and seconds, hours once there are any."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def describe_batch(batch: MessageBatch, elapsed: float, polls: int) -> str:
    """One line: the status, the requests by status, the time waited and the polls."""
    counts = batch.request_counts
    done = counts.total - counts.processing
    by_status = ", ".join(f"{name} {getattr(counts, name):,}" for name in _STATUSES)
    plural = "" if polls == 1 else "s"
    return (
        f"batch {batch.id}: {batch.processing_status}, {done:,}/{counts.total:,} done "
        f"({by_status}), {format_elapsed(elapsed)} elapsed, {polls} poll{plural}"
    )


class WaitProgress:
    """What ``batch wait`` shows on ``err`` (see the module docstring).

    Call :meth:`on_poll` with every batch retrieved, run :meth:`run` in a task while
    waiting (on a terminal it refreshes the clock), and :meth:`close` at the end.
    """

    def __init__(
        self, batch_id: str, err: IO[str], *, clock: Callable[[], float] = trio.current_time
    ) -> None:
        self.batch_id = batch_id
        self.err = err
        self._clock = clock
        self._started = clock()
        self._batch: MessageBatch | None = None
        self._polled_at = self._started
        self._polls = 0
        self._shown: tuple[object, ...] | None = None
        self._screen = LiveLines(err, self._lines)

    @property
    def live(self) -> bool:
        """Whether the line is redrawn in place (stderr is a terminal)."""
        return self._screen.live

    def on_poll(self, batch: MessageBatch) -> None:
        """A poll retrieved ``batch``."""
        self._batch = batch
        self._polls += 1
        self._polled_at = self._clock()
        if self.live:
            self._screen.invalidate()
            self._screen.redraw()
            return
        counts = batch.request_counts
        state = (batch.processing_status, *(getattr(counts, name) for name in _STATUSES))
        if state != self._shown:
            self._shown = state
            self.err.write(self._line(self._polled_at) + "\n")
            self.err.flush()

    async def run(self) -> None:
        """Refresh the live line every second (cancel to stop); nothing to do otherwise."""
        if self.live:
            await self._screen.run(TICK, every_time=True)

    def close(self) -> None:
        """Erase the live line and write the last state once, as a plain line."""
        if not self.live:
            return
        self._screen.close()
        if self._batch is not None:
            self.err.write(self._line(self._polled_at) + "\n")
            self.err.flush()

    def _line(self, now: float) -> str:
        assert self._batch is not None
        return describe_batch(self._batch, now - self._started, self._polls)

    def _lines(self, width: int, height: int) -> list[str]:
        elapsed = format_elapsed(self._clock() - self._started)
        batch = self._batch
        if batch is None:
            return [f"batch {self.batch_id}: waiting for the first poll", f"  {elapsed} elapsed"]
        counts = batch.request_counts
        done = counts.total - counts.processing
        plural = "" if self._polls == 1 else "s"
        return [
            f"batch {batch.id}: {batch.processing_status}",
            f"  {done:,}/{counts.total:,} requests done, {elapsed} elapsed, "
            f"{self._polls} poll{plural}",
            "  " + ", ".join(f"{name} {getattr(counts, name):,}" for name in _STATUSES),
        ]


class ResultsProgress:
    """The count of results written, on a terminal only (redrawn in place)."""

    EVERY = 1000
    """Results between two redraws."""

    def __init__(self, batch_id: str, err: IO[str]) -> None:
        self.batch_id = batch_id
        self.count = 0
        self._screen = LiveLines(err, lambda width, height: [self._text()])

    def add(self) -> None:
        """One more result was written."""
        self.count += 1
        if self.count % self.EVERY == 0:
            self._screen.invalidate()
            self._screen.redraw()

    def close(self) -> None:
        """Erase the live count; on a terminal, write the final count once."""
        if self._screen.live and self.count:
            self._screen.close()
            self._screen.stream.write(self._text() + "\n")
            self._screen.stream.flush()
        self._screen.close()

    def _text(self) -> str:
        return f"batch {self.batch_id}: {self.count:,} results"
