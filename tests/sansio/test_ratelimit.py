"""The fan-out's rate-limit rules, pure: budgets, pauses, header parsing, estimates.

Both clocks are injected: ``now`` (the driver's monotonic clock) and ``wall_now``
(epoch seconds, for the absolute times servers send). No sockets, no trio.
"""

from __future__ import annotations

import datetime
import email.utils
import math

import pytest

from trio_msgstream._core.request.ratelimit import (
    GroupRateLimit,
    TokenBucket,
    estimate_tokens,
    ratelimit_pause,
    reset_delay,
    usage_tokens,
)
from trio_msgstream._core.request.retry import MAX_RETRY_AFTER
from trio_msgstream._core.schema.models import Usage

WALL = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.UTC).timestamp()
"""The injected wall clock: 2026-11-30T12:00:00Z."""


def rfc3339(seconds_after_wall: float) -> str:
    when = datetime.datetime.fromtimestamp(WALL + seconds_after_wall, tz=datetime.UTC)
    return when.isoformat().replace("+00:00", "Z")


def take_when_granted(bucket: TokenBucket, amount: float, now: float) -> float:
    """Drive ``take`` as a runtime would (sleep what it says, ask again); return the
    time at which ``amount`` was granted."""
    for _ in range(1000):
        wait = bucket.take(amount, now)
        if wait is None:
            return now
        assert wait > 0
        now += wait
    raise AssertionError("never granted")


# -- TokenBucket ----------------------------------------------------------------------------


def test_bucket_starts_full_and_refuses_without_spending() -> None:
    bucket = TokenBucket(60, now=100.0)
    assert bucket.take(60, 100.0) is None
    assert bucket.level == 0
    wait = bucket.take(1, 100.0)
    assert wait == pytest.approx(1.0)  # 60 per minute: one per second
    assert bucket.level == 0  # a refusal spends nothing


def test_bucket_refills_evenly_and_never_above_capacity() -> None:
    bucket = TokenBucket(120, now=0.0)
    assert bucket.take(120, 0.0) is None
    assert bucket.take(60, 29.0) == pytest.approx(1.0)  # 58 there after 29 s, 2 per s
    assert bucket.take(60, 30.0) is None
    bucket.give_back(0, now=1000.0)
    assert bucket.level == 120  # capped


def test_bucket_rate_over_time_with_a_runtime_loop() -> None:
    # 60 per minute: 60 at once, then one per second (first come, first served).
    bucket = TokenBucket(60, now=0.0)
    now = 0.0
    grants = []
    for _ in range(65):
        now = take_when_granted(bucket, 1, now)
        grants.append(now)
    assert grants[:60] == [0.0] * 60
    assert grants[60:] == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])


def test_bucket_grants_more_than_capacity_when_full() -> None:
    bucket = TokenBucket(100, now=0.0)
    assert bucket.take(30, 0.0) is None
    # 250 > capacity: waits until the bucket is full (30 tokens at 100/60 per s = 18 s)...
    assert take_when_granted(bucket, 250, 0.0) == pytest.approx(18.0)
    # ...and goes below zero, so the next taker waits for the debt too.
    assert bucket.level == pytest.approx(-150)
    assert bucket.take(10, 18.0) == pytest.approx(160 / (100 / 60))


def test_bucket_give_back_corrects_either_way() -> None:
    bucket = TokenBucket(600, now=0.0)
    assert bucket.take(500, 0.0) is None
    bucket.give_back(200, now=0.0)
    assert bucket.level == 300
    bucket.give_back(-400, now=0.0)  # spent more than estimated
    assert bucket.level == -100
    bucket.give_back(10_000, now=0.0)
    assert bucket.level == 600  # never above capacity


@pytest.mark.parametrize("per_minute", [0, -1, -0.5])
def test_bucket_rejects_a_budget_not_above_zero(per_minute: float) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        TokenBucket(per_minute, now=0.0)


# -- reset times and anthropic-ratelimit-* headers ------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (rfc3339(10), 10.0),
        (rfc3339(2.5).replace("Z", "z"), 2.5),
        ("2026-11-30T13:00:30+01:00", 30.0),
        ("2026-11-30T12:00:07", 7.0),  # no offset: UTC
        (" 2026-11-30T12:00:07Z ", 7.0),
        (rfc3339(-30), 0.0),  # already past
        (None, None),
        ("", None),
        ("soon", None),
        ("Mon, 30 Nov 2026 12:00:10 GMT", None),  # not RFC 3339
    ],
)
def test_reset_delay(value: str | None, expected: float | None) -> None:
    result = reset_delay(value, wall_now=WALL)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_ratelimit_pause_only_for_an_exhausted_limit() -> None:
    headers = {
        "anthropic-ratelimit-requests-remaining": "3",
        "anthropic-ratelimit-requests-reset": rfc3339(20),
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": rfc3339(5),
    }
    assert ratelimit_pause(headers, wall_now=WALL) == pytest.approx(5.0)
    headers["anthropic-ratelimit-tokens-remaining"] = "1"
    assert ratelimit_pause(headers, wall_now=WALL) is None


def test_ratelimit_pause_takes_the_latest_reset_of_all_kinds() -> None:
    headers = {}
    for kind, after in [("requests", 4), ("tokens", 9), ("input-tokens", 2), ("output-tokens", 6)]:
        headers[f"anthropic-ratelimit-{kind}-remaining"] = " 0 "
        headers[f"anthropic-ratelimit-{kind}-reset"] = rfc3339(after)
    assert ratelimit_pause(headers, wall_now=WALL) == pytest.approx(9.0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"anthropic-ratelimit-requests-remaining": "0"},  # no reset: nothing says how long
        {
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "later",
        },
        {
            "anthropic-ratelimit-requests-remaining": "none",
            "anthropic-ratelimit-requests-reset": rfc3339(5),
        },
        {"anthropic-ratelimit-unknown-remaining": "0", "anthropic-ratelimit-unknown-reset": "x"},
    ],
)
def test_ratelimit_pause_ignores_what_it_cannot_use(headers: dict[str, str]) -> None:
    assert ratelimit_pause(headers, wall_now=WALL) is None


# -- token estimates ------------------------------------------------------------------------


def test_estimate_is_max_tokens_plus_a_quarter_of_the_body() -> None:
    assert estimate_tokens(200, 1000) == 450.0
    assert estimate_tokens(0, 2) == 0.5


def test_usage_tokens_counts_input_output_and_cache_creation() -> None:
    assert usage_tokens(Usage(input_tokens=10, output_tokens=5)) == 15
    usage = Usage(
        input_tokens=10, output_tokens=5, cache_creation_input_tokens=7, cache_read_input_tokens=99
    )
    assert usage_tokens(usage) == 22  # cache reads are not charged against the budget


# -- GroupRateLimit -------------------------------------------------------------------------


def group(**budgets: float | None) -> GroupRateLimit:
    return GroupRateLimit(0.0, **budgets)


def test_group_budgets_are_optional() -> None:
    limits = group()
    assert limits.requests is None
    assert limits.tokens is None
    assert group(requests_per_minute=0, tokens_per_minute=0).tokens is None
    limits = group(requests_per_minute=30, tokens_per_minute=1000)
    assert limits.requests is not None
    assert limits.requests.capacity == 30
    assert limits.tokens is not None
    assert limits.tokens.capacity == 1000
    with pytest.raises(ValueError, match="must be > 0"):
        group(tokens_per_minute=-5)


def test_group_pause_only_grows() -> None:
    limits = group()
    assert limits.paused_until == -math.inf
    assert limits.paused_for(0.0) == 0.0
    limits.pause(5, now=10.0)
    assert limits.paused_until == 15.0
    limits.pause(1, now=11.0)  # shorter: no change
    assert limits.paused_until == 15.0
    assert limits.paused_for(12.0) == 3.0
    assert limits.paused_for(20.0) == 0.0
    limits.pause(10, now=12.0)
    assert limits.paused_until == 22.0


@pytest.mark.parametrize("status", [429, 529])
def test_observe_retry_after_pauses_the_group(status: int) -> None:
    limits = group()
    limits.observe(status, {"retry-after": "2"}, now=50.0, wall_now=WALL)
    assert limits.paused_until == 52.0
    limits.observe(status, {"retry-after-ms": "3500"}, now=50.0, wall_now=WALL)
    assert limits.paused_until == 53.5


def test_observe_retry_after_http_date_against_the_wall_clock() -> None:
    limits = group()
    date = email.utils.formatdate(WALL + 8, usegmt=True)
    limits.observe(429, {"retry-after": date}, now=1.0, wall_now=WALL)
    assert limits.paused_until == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, {"retry-after": "2"}),
        (503, {"retry-after": "2"}),  # only 429/529 pause the group
        (429, {}),
        (429, {"retry-after": "whenever"}),
        (429, {"retry-after": "Thu, 99 Foo 2026 99:99:99 GMT"}),
    ],
)
def test_observe_without_a_usable_pause(status: int, headers: dict[str, str]) -> None:
    limits = group()
    limits.observe(status, headers, now=0.0, wall_now=WALL)
    assert limits.paused_until == -math.inf


def test_observe_caps_each_wait() -> None:
    limits = group()
    limits.observe(429, {"retry-after": "3600"}, now=0.0, wall_now=WALL)
    assert limits.paused_until == MAX_RETRY_AFTER
    headers = {
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": rfc3339(7200),
    }
    limits.observe(200, headers, now=100.0, wall_now=WALL)
    assert limits.paused_until == 100.0 + MAX_RETRY_AFTER


def test_observe_ratelimit_headers_recorded_and_pausing() -> None:
    limits = group()
    headers = {
        "Anthropic-RateLimit-Requests-Limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": rfc3339(4),
        "content-type": "text/event-stream",
    }
    limits.observe(200, headers, now=10.0, wall_now=WALL)
    assert limits.headers == {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": rfc3339(4),
    }
    assert limits.paused_until == pytest.approx(14.0)
    # A response without any keeps the latest ones; one with some replaces them.
    limits.observe(200, {"content-type": "text/event-stream"}, now=11.0, wall_now=WALL)
    assert limits.headers["anthropic-ratelimit-requests-limit"] == "50"
    limits.observe(200, {"anthropic-ratelimit-tokens-limit": "9"}, now=12.0, wall_now=WALL + 2)
    assert limits.headers == {"anthropic-ratelimit-tokens-limit": "9"}
    assert limits.paused_until == pytest.approx(14.0)


def test_observe_a_429_with_both_takes_the_longer() -> None:
    limits = group()
    headers = {
        "retry-after": "3",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": rfc3339(6),
    }
    limits.observe(429, headers, now=0.0, wall_now=WALL)
    assert limits.paused_until == pytest.approx(6.0)
    headers["retry-after"] = "9"
    limits.observe(429, headers, now=0.0, wall_now=WALL)
    assert limits.paused_until == pytest.approx(9.0)


# -- correcting an item's token reservation -------------------------------------------------


def spent_tokens(limits: GroupRateLimit) -> float:
    assert limits.tokens is not None
    return limits.tokens.capacity - limits.tokens.level


def reserved_group(reserved: float) -> GroupRateLimit:
    limits = group(tokens_per_minute=10_000)
    assert limits.tokens is not None
    assert limits.tokens.take(reserved, 0.0) is None
    return limits


def test_settle_from_the_final_usage() -> None:
    limits = reserved_group(1000)
    limits.settle_tokens(
        1000, usage=Usage(input_tokens=300, output_tokens=100), streamed=True, now=0
    )
    assert spent_tokens(limits) == 400
    limits = reserved_group(1000)
    big = Usage(input_tokens=900, output_tokens=400, cache_creation_input_tokens=200)
    limits.settle_tokens(1000, usage=big, streamed=True, now=0)
    assert spent_tokens(limits) == 1500  # more than estimated: the difference is charged


def test_settle_without_usage() -> None:
    limits = reserved_group(1000)
    limits.settle_tokens(1000, usage=None, streamed=False, now=0)
    assert spent_tokens(limits) == 0  # no response: the API spent nothing
    limits = reserved_group(1000)
    limits.settle_tokens(1000, usage=None, streamed=True, now=0)
    assert spent_tokens(limits) == 1000  # cut off mid-stream: the estimate stays spent


def test_settle_nothing_reserved_or_no_budget() -> None:
    limits = reserved_group(1000)
    limits.settle_tokens(0, usage=Usage(input_tokens=5), streamed=True, now=0)
    assert spent_tokens(limits) == 1000
    unbudgeted = group()
    unbudgeted.settle_tokens(1000, usage=Usage(input_tokens=5), streamed=True, now=0)
    assert unbudgeted.tokens is None
