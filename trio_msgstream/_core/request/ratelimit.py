"""A group's rate-limit rules: pauses, per-minute budgets and token estimates. Pure.

Part of the sans-IO core (no trio, no httpx). Two clocks are passed in: ``now``, the
driver's monotonic clock (the trio clock in a fan-out), on which pauses and budgets
run; and ``wall_now``, seconds since the epoch, against which the servers' absolute
times (``retry-after`` HTTP dates, ``anthropic-ratelimit-*-reset``) are read.

Theory of operation::

    driver (one per group)                       GroupRateLimit
    ─────────────────────────────────────────    ─────────────────────────────────────
    before every request (retries too):
      sleep until  paused_until                  a pause only ever grows
      requests.take(1, now)   ──▶ None | wait    per-minute token buckets, refilled
      tokens.take(estimate, now)                 evenly; the driver serialises the
      (repeat while a pause began meanwhile)     takers of one bucket (first come,
                                                 first served) and sleeps ``wait``
    every response's head:
      observe(status, headers, now, wall_now)    429/529 + retry-after(-ms) and an
                                                 anthropic-ratelimit-*-remaining of 0
                                                 pause the whole group
    an item ends:
      settle_tokens(reserved, usage, ...)        the estimate is corrected from the
                                                 final usage, or given back when no
                                                 response streamed

The rules exist here once; the trio runtime only waits and sleeps as told
(``_trio/fanout/gate.py``).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping

from ..schema.models import Usage
from .retry import MAX_RETRY_AFTER, retry_after_from_headers

__all__ = [
    "PAUSE_STATUSES",
    "RATELIMIT_HEADER_PREFIX",
    "GroupRateLimit",
    "TokenBucket",
    "estimate_tokens",
    "ratelimit_pause",
    "reset_delay",
    "usage_tokens",
]

PAUSE_STATUSES = frozenset({429, 529})
"""Statuses whose ``retry-after`` pauses new starts for the whole group."""

RATELIMIT_HEADER_PREFIX = "anthropic-ratelimit-"

_RATELIMIT_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")

BYTES_PER_INPUT_TOKEN = 4.0
"""The estimate's guess of request bytes per input token, until usage is known."""


class TokenBucket:
    """A per-minute budget: ``per_minute`` units refill evenly over 60 s.

    Requests for more than the capacity are granted when the bucket is full (and take
    it below zero), so a large item can never wait forever.

    Args:
        per_minute: The budget; must be > 0.
        now: The current time of the driver's clock.

    Raises:
        ValueError: ``per_minute`` is not > 0.
    """

    def __init__(self, per_minute: float, now: float) -> None:
        if per_minute <= 0:
            raise ValueError("a per-minute budget must be > 0")
        self.capacity = float(per_minute)
        self.rate = float(per_minute) / 60.0
        self.level = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, amount: float, now: float) -> float | None:
        """Spend ``amount`` if it is available now.

        Returns:
            ``None`` when it was spent; otherwise the seconds to wait before asking
            again (nothing was spent).
        """
        self._refill(now)
        needed = min(amount, self.capacity)
        if self.level >= needed:
            self.level -= amount
            return None
        return (needed - self.level) / self.rate

    def give_back(self, amount: float, now: float) -> None:
        """Return ``amount`` (negative: charge more), e.g. to correct an estimate."""
        self._refill(now)
        self.level = min(self.capacity, self.level + amount)


def reset_delay(value: str | None, *, wall_now: float) -> float | None:
    """Seconds until an ``anthropic-ratelimit-*-reset`` RFC 3339 time, or ``None``
    when absent or unusable (a time in the past gives 0)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - wall_now, 0.0)


def ratelimit_pause(headers: Mapping[str, str], *, wall_now: float) -> float | None:
    """How long to pause when an ``anthropic-ratelimit-*-remaining`` header is 0: the
    latest of the matching resets, or ``None`` when nothing is exhausted (or no usable
    reset time says until when)."""
    pause: float | None = None
    for kind in _RATELIMIT_KINDS:
        remaining = headers.get(f"{RATELIMIT_HEADER_PREFIX}{kind}-remaining")
        if remaining is None:
            continue
        try:
            if int(remaining.strip()) > 0:
                continue
        except ValueError:
            continue
        wait = reset_delay(headers.get(f"{RATELIMIT_HEADER_PREFIX}{kind}-reset"), wall_now=wall_now)
        if wait is not None:
            pause = wait if pause is None else max(pause, wait)
    return pause


def estimate_tokens(max_tokens: int, body_size: int) -> float:
    """An item's tokens before its usage is known: ``max_tokens`` plus a quarter of the
    request body's size in bytes."""
    return float(max_tokens) + body_size / BYTES_PER_INPUT_TOKEN


def usage_tokens(usage: Usage) -> int:
    """The tokens a finished request spent against a tokens-per-minute budget."""
    return usage.input_tokens + usage.output_tokens + (usage.cache_creation_input_tokens or 0)


class GroupRateLimit:
    """The rate-limit state shared by every request of a group.

    Args:
        now: The current time of the driver's clock.
        requests_per_minute: Budget of requests sent (retries count); ``None`` or 0
            for none.
        tokens_per_minute: Budget of tokens (see :func:`estimate_tokens`); ``None``
            or 0 for none.

    Raises:
        ValueError: A negative budget.

    Attributes:
        paused_until: No request of the group may start before this time (``-inf``
            when never paused).
        requests: The requests-per-minute bucket, or ``None``.
        tokens: The tokens-per-minute bucket, or ``None``.
        headers: The ``anthropic-ratelimit-*`` headers (names lower-cased) of the
            latest response that had any.
    """

    def __init__(
        self,
        now: float,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        self.paused_until = -math.inf
        self.requests = TokenBucket(requests_per_minute, now) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, now) if tokens_per_minute else None
        self.headers: dict[str, str] = {}

    def pause(self, seconds: float, now: float) -> None:
        """Hold every new request of the group for ``seconds``; a pause only grows."""
        self.paused_until = max(self.paused_until, now + seconds)

    def paused_for(self, now: float) -> float:
        """Seconds left of the pause (0 when none)."""
        return max(self.paused_until - now, 0.0)

    def observe(
        self, status_code: int, headers: Mapping[str, str], *, now: float, wall_now: float
    ) -> None:
        """Read a response's head: a 429/529 with ``retry-after``/``retry-after-ms``,
        or an ``anthropic-ratelimit-*-remaining`` of 0 until its reset, pauses the
        group (each wait capped at ``MAX_RETRY_AFTER``).

        Args:
            status_code: The response's status.
            headers: Its headers (a case-insensitive mapping, as HTTP clients give).
            now: The driver's clock.
            wall_now: Seconds since the epoch, for absolute times in the headers.
        """
        waits: list[float] = []
        if status_code in PAUSE_STATUSES:
            try:
                wait = retry_after_from_headers(headers, now=wall_now)
            except (TypeError, ValueError, OverflowError):
                wait = None
            if wait is not None:
                waits.append(wait)
        limits = {
            name.lower(): value
            for name, value in headers.items()
            if name.lower().startswith(RATELIMIT_HEADER_PREFIX)
        }
        if limits:
            self.headers = limits
            wait = ratelimit_pause(limits, wall_now=wall_now)
            if wait is not None:
                waits.append(wait)
        if waits:
            self.pause(min(max(waits), MAX_RETRY_AFTER), now)

    def settle_tokens(
        self, reserved: float, *, usage: Usage | None, streamed: bool, now: float
    ) -> None:
        """Correct an item's token reservation once it ended.

        Args:
            reserved: What the item took from the tokens bucket (0: nothing).
            usage: Its final usage (or its partial message's), if known.
            streamed: Whether a response streamed. Without usage and without a
                response the API spent nothing, so the reservation comes back; with a
                response but no usage (cancelled or failed mid-stream) the estimate
                stays spent.
            now: The driver's clock.
        """
        if self.tokens is None or not reserved:
            return
        if usage is not None:
            self.tokens.give_back(reserved - usage_tokens(usage), now)
        elif not streamed:
            self.tokens.give_back(reserved, now)
