"""Retry policy: which failures are retried, and how long to wait. Pure functions.

Part of the sans-IO core: the trio runtime and the sync client both ask these
functions and do the sleeping themselves, so the rules exist once.

The budget is ``max_retries`` for the whole request, counted across every kind of
failure. A failure is retried only while nothing but pings has reached the consumer:
once content has been delivered, a retry would duplicate it.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

from ..exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    IncompleteStreamError,
)

__all__ = [
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "is_retryable",
    "retry_delay",
    "retry_after_from_headers",
]

INITIAL_RETRY_DELAY = 0.5
"""Seconds before the first retry when the server gives no ``retry-after``."""
MAX_RETRY_DELAY = 8.0
"""Cap of the exponential backoff, in seconds."""
MAX_RETRY_AFTER = 60.0
"""A server's ``retry-after`` is honoured up to this many seconds; a longer one is
treated as a hint to fail rather than to park the caller for minutes."""

RETRYABLE_STATUS = frozenset({408, 409, 429})


def _should_retry_header(headers: Mapping[str, str] | None) -> bool | None:
    if not headers:
        return None
    value = headers.get("x-should-retry")
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether a failure may be retried (when the budget and delivery state allow).

    Retried: connection errors and timeouts (except the overall deadline), truncated
    streams, and statuses 408, 409, 429 and >= 500 (529 included), as responses or
    as mid-stream ``error`` events. The server's ``x-should-retry`` header overrides
    the status rule either way.
    """
    if isinstance(exc, APITimeoutError):
        return exc.which != "deadline"
    if isinstance(exc, (APIConnectionError, IncompleteStreamError)):
        return True
    if isinstance(exc, APIStatusError):
        headers = getattr(exc.response, "headers", None) if exc.response is not None else None
        verdict = _should_retry_header(headers)
        if verdict is not None:
            return verdict
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    return False


def retry_after_from_headers(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """The server's requested wait in seconds, from ``retry-after-ms`` or
    ``retry-after`` (seconds or an HTTP date); ``None`` when absent or unusable."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
    except (TypeError, ValueError):  # not a date either (Python >= 3.10 raises)
        return None
    if parsed is None:
        return None
    current = time.time() if now is None else now
    return max(parsed.timestamp() - current, 0.0)


def retry_delay(
    retries_done: int,
    *,
    headers: Mapping[str, str] | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``retries_done + 1``.

    A usable server ``retry-after`` (at most :data:`MAX_RETRY_AFTER`) wins; otherwise
    exponential backoff from :data:`INITIAL_RETRY_DELAY`, capped at
    :data:`MAX_RETRY_DELAY`, with up to 25% jitter taken off.
    """
    try:
        server = retry_after_from_headers(headers)
    except (TypeError, ValueError, OverflowError):
        server = None
    if server is not None and server <= MAX_RETRY_AFTER:
        return server
    base = min(INITIAL_RETRY_DELAY * (2.0**retries_done), MAX_RETRY_DELAY)
    jitter = 1.0 - 0.25 * (rng or random).random()
    return base * jitter


def error_headers(exc: APIError) -> Mapping[str, str] | None:
    """The response headers behind an error, when it has a response."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if headers is not None else None
