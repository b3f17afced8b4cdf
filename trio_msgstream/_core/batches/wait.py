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
pass ``now`` in, so these rules are tested without any clock at all. A driver's loop
is::

    waiter = BatchWaiter(batch_id, policy, now=clock())
    while True:
        try:
            plan = waiter.polled(retrieve(batch_id), now=clock())
        except APIError as exc:
            plan = waiter.failed(exc, now=clock())  # re-raises what ends the wait
        if plan.batch is not None:
            return plan.batch
        sleep(plan.sleep)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..exceptions import APIError
from ..request.retry import error_headers, is_retryable, retry_after_from_headers
from .models import BatchWaitTimeout, MessageBatch

__all__ = [
    "DEFAULT_MAX_POLL_FAILURES",
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "POLL_BACKOFF",
    "BatchWaiter",
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
    """The next step of a wait: sleep ``sleep`` seconds and poll, or give up; or, when
    ``batch`` is set, the wait is over and this is the ended batch."""

    sleep: float
    give_up: bool
    batch: MessageBatch | None = None


class BatchWaiter:
    """The state of one ``wait()``: polls made, failures in a row, last batch seen.

    Args:
        batch_id: The batch waited for (for the error messages).
        policy: How to poll.
        now: The driver's clock when the wait starts.
    """

    def __init__(self, batch_id: str, policy: WaitPolicy, *, now: float) -> None:
        self.batch_id = batch_id
        self.policy = policy
        self.deadline_at = policy.deadline_at(now)
        self.polls = 0
        self.failures = 0
        self.last: MessageBatch | None = None

    def polled(self, batch: MessageBatch, *, now: float) -> PollPlan:
        """A poll answered: done when the batch has ended, else when to poll again.

        Raises:
            BatchWaitTimeout: The deadline has passed.
        """
        self.polls += 1
        self.failures = 0
        self.last = batch
        if batch.ended:
            return PollPlan(sleep=0.0, give_up=False, batch=batch)
        return self._next(now, retry_after=None)

    def failed(self, error: APIError, *, now: float) -> PollPlan:
        """A poll failed: when to poll again, honouring the server's ``retry-after``.

        Raises:
            APIError: ``error`` itself, when it is not retryable (an unknown batch id,
                a bad key) or when ``max_poll_failures`` failures came in a row.
            BatchWaitTimeout: The deadline has passed.
        """
        self.polls += 1
        self.failures += 1
        if not is_retryable(error) or self.failures > self.policy.max_poll_failures:
            raise error
        try:
            retry_after = retry_after_from_headers(error_headers(error))
        except (TypeError, ValueError, OverflowError):
            retry_after = None
        return self._next(now, retry_after=retry_after)

    def timeout_error(self) -> BatchWaitTimeout:
        """The error of a wait whose deadline passed."""
        status = self.last.processing_status if self.last is not None else "unknown"
        return BatchWaitTimeout(
            f"batch {self.batch_id} did not end within the wait's deadline of "
            f"{self.policy.deadline} s (last status: {status}, {self.polls} polls); "
            "it keeps running on the API's side",
            batch=self.last,
        )

    def _next(self, now: float, *, retry_after: float | None) -> PollPlan:
        plan = self.policy.plan(
            polls_done=self.polls, now=now, deadline_at=self.deadline_at, retry_after=retry_after
        )
        if plan.give_up:
            raise self.timeout_error()
        return plan
