"""When to poll a batch while waiting for it to end. Pure functions (sans-IO).

Theory of operation: ``batches.wait()`` retrieves the batch, and while it has not
ended, sleeps and retrieves it again. The sleeps grow geometrically from
``poll_interval`` up to ``max_poll_interval`` (a batch takes minutes to hours; there
is no point asking every second for an hour). A poll that fails with a retryable
error (429, 529, 5xx, a dropped connection) does not end the wait: the next poll
comes after the backoff or the server's ``retry-after``, whichever is longer, and
only ``max_poll_failures`` such failures in a row end it. Every sleep is clamped to
the caller's ``deadline``; once it has passed the wait fails with
:class:`~trio_msgstream.batches.BatchWaitTimeout`.

The drivers own the clock and the sleeping (``trio.sleep`` or ``time.sleep``); they
pass ``now`` in, so these rules are tested without any clock at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_POLL_FAILURES",
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "POLL_BACKOFF",
    "PollPlan",
    "WaitPolicy",
]

DEFAULT_POLL_INTERVAL = 5.0
"""Seconds before the second poll."""
DEFAULT_MAX_POLL_INTERVAL = 60.0
"""The sleeps between polls grow up to this many seconds."""
POLL_BACKOFF = 1.5
"""Each sleep is this many times the previous one (until the maximum)."""
DEFAULT_MAX_POLL_FAILURES = 10
"""Retryable poll failures in a row that end a wait (the last one is raised)."""


@dataclass(frozen=True)
class WaitPolicy:
    """How ``wait()`` polls: interval, growth, failures tolerated, deadline.

    Attributes:
        poll_interval: Seconds before the second poll (the first one is immediate).
        max_poll_interval: The cap of the growing interval.
        backoff: The growth factor of the interval (>= 1).
        max_poll_failures: Retryable failures in a row tolerated.
        deadline: Seconds the whole wait may take, or ``None`` for no limit.
    """

    poll_interval: float = DEFAULT_POLL_INTERVAL
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL
    backoff: float = POLL_BACKOFF
    max_poll_failures: int = DEFAULT_MAX_POLL_FAILURES
    deadline: float | None = None

    def __post_init__(self) -> None:
        if not self.poll_interval > 0:
            raise ValueError("poll_interval must be > 0")
        if self.max_poll_interval < self.poll_interval:
            raise ValueError("max_poll_interval must be >= poll_interval")
        if self.backoff < 1:
            raise ValueError("backoff must be >= 1")
        if self.max_poll_failures < 0:
            raise ValueError("max_poll_failures must be >= 0")
        if self.deadline is not None and not self.deadline >= 0:
            raise ValueError("deadline must be >= 0 seconds")

    def interval(self, polls_done: int) -> float:
        """The sleep after poll number ``polls_done`` (counted from 1) without a
        ``retry-after``: ``poll_interval * backoff**(polls_done - 1)``, capped."""
        exponent = max(polls_done - 1, 0)
        # Cap the exponent first: backoff**exponent overflows long before hours pass.
        if self.backoff > 1 and exponent > math.log(
            self.max_poll_interval / self.poll_interval, self.backoff
        ):
            return self.max_poll_interval
        return min(self.poll_interval * self.backoff**exponent, self.max_poll_interval)

    def deadline_at(self, now: float) -> float:
        """The clock value at which the wait gives up (``inf`` without a deadline)."""
        return math.inf if self.deadline is None else now + self.deadline

    def plan(
        self,
        *,
        polls_done: int,
        now: float,
        deadline_at: float,
        retry_after: float | None = None,
    ) -> PollPlan:
        """What to do after an unfinished (or failed) poll.

        Args:
            polls_done: Polls made so far, this one included.
            now: The driver's clock.
            deadline_at: From :meth:`deadline_at`.
            retry_after: The server's ``retry-after`` of a failed poll, in seconds.

        Returns:
            The sleep before the next poll, or a plan with ``give_up`` set when the
            deadline has passed.
        """
        remaining = deadline_at - now
        if remaining <= 0:
            return PollPlan(sleep=0.0, give_up=True)
        delay = self.interval(polls_done)
        if retry_after is not None and retry_after > delay:
            delay = retry_after
        return PollPlan(sleep=min(delay, remaining), give_up=False)


@dataclass(frozen=True)
class PollPlan:
    """The next step of a wait: sleep ``sleep`` seconds and poll, or give up."""

    sleep: float
    give_up: bool
