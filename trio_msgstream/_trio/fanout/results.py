"""The fan-out's result types: what an item's outcome and a group's counters look like.

Values only: the scheduler (``fanout.py``) builds them, the caller reads them.
:class:`FanOutResult` carries an :mod:`outcome` (``Value`` of the message or ``Error``
of the failure), which is why these live in the trio runtime rather than in the core.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import outcome

from ..._core.exceptions import MsgStreamError
from ..._core.schema.models import Message, Usage

__all__ = ["FanOutCancelled", "FanOutMetrics", "FanOutResult", "FanOutStatistics"]


class FanOutCancelled(MsgStreamError):
    """The error of an item that was cancelled by :meth:`FanOutHandle.cancel`.

    It is never raised by the fan-out; it is what ``result.error`` holds for such an
    item (and ``result.outcome`` is ``outcome.Error`` of it).

    Attributes:
        key: The item's key.
        partial_message: The message accumulated before the cancellation, or ``None``
            when the item had not started streaming.
    """

    def __init__(self, key: Hashable, *, partial_message: Message | None = None) -> None:
        super().__init__(f"fan-out item {key!r} was cancelled")
        self.key = key
        self.partial_message = partial_message


@dataclass(frozen=True)
class FanOutMetrics:
    """Per-item measurements (seconds, on the Trio clock).

    Every duration is measured from the moment the item got a concurrency slot, so it
    includes waits at the group's gate (pauses and budgets) and retries.

    Attributes:
        queued: From ``submit`` to getting a slot.
        time_to_first_byte: To the status line and headers of the response that was
            streamed (the last attempt); ``None`` when no response arrived.
        time_to_first_text: To the first text delta consumed; ``None`` when there was
            no text.
        duration: To the end of the item (success, failure or cancellation).
        events: Events consumed from the stream (raw and derived, pings included).
        retries: Requests sent beyond the first.
        usage: The final usage (from the last ``message_delta``), else the usage of the
            partial message of a failure, else ``None``.
    """

    queued: float
    time_to_first_byte: float | None
    time_to_first_text: float | None
    duration: float
    events: int
    retries: int
    usage: Usage | None


@dataclass(frozen=True)
class FanOutResult:
    """The outcome of one submitted item, as yielded by :meth:`FanOut.results`.

    Attributes:
        key: The key given to :meth:`FanOut.submit`.
        outcome: ``outcome.Value(message)`` or ``outcome.Error(exception)``. Read
            :attr:`message` / :attr:`error` rather than unwrapping it (an outcome can
            be unwrapped only once).
        metrics: Timings and counters of the item.
    """

    key: Hashable
    outcome: outcome.Value[Message] | outcome.Error
    metrics: FanOutMetrics

    @property
    def message(self) -> Message | None:
        """The final message, or ``None`` when the item failed or was cancelled."""
        return self.outcome.value if isinstance(self.outcome, outcome.Value) else None

    @property
    def error(self) -> BaseException | None:
        """The item's failure (an :class:`APIError`, a handler's exception, or
        :class:`FanOutCancelled`), or ``None`` on success."""
        return self.outcome.error if isinstance(self.outcome, outcome.Error) else None

    @property
    def ok(self) -> bool:
        """Whether the item produced a message."""
        return isinstance(self.outcome, outcome.Value)

    @property
    def cancelled(self) -> bool:
        """Whether the item was cancelled through its handle."""
        return isinstance(self.error, FanOutCancelled)

    def unwrap(self) -> Message:
        """The message, or raise the item's error.

        Raises:
            BaseException: The item's error, as itself.
        """
        if isinstance(self.outcome, outcome.Value):
            return self.outcome.value
        raise self.outcome.error


@dataclass(frozen=True)
class FanOutStatistics:
    """A snapshot of a fan-out's counters (see :meth:`FanOut.statistics`).

    Attributes:
        submitted: Items accepted by :meth:`FanOut.submit`.
        queued: Items waiting for a slot.
        running: Items holding a slot.
        finished: Items whose result has been produced.
        paused_for: Seconds left of the group's pause on new starts (0 when none).
    """

    submitted: int
    queued: int
    running: int
    finished: int
    paused_for: float
