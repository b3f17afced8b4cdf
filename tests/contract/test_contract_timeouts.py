"""Contract: each timeout fires in both clients as the same typed error.

Times are in ticks (``driver.tick``): virtual seconds for the async client (autojump
clock, exact), 50 ms of real time for the sync one (lower bounds only).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from _drivers import Driver, driver_at

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, error_response, split_events, text_response

TEXT = "one two three four five six seven eight"
ENTRIES = ["stream", "raw", "create"]


async def run_entry(driver: Driver, entry: str, **kw: Any) -> Any:
    if entry == "stream":
        return await driver.final(**kw)
    if entry == "raw":
        return await driver.raw(**kw)
    return await driver.create(**kw)


def boundary(n_events: int) -> int:
    return sum(len(e) for e in split_events(text_response(TEXT).body)[:n_events])


def stalled(n_events: int, *, pings_every: float | None = None) -> ScriptedResponse:
    """TEXT that stalls forever after ``n_events`` events (sending pings, if asked)."""
    return text_response(
        TEXT,
        stall_after_bytes=boundary(n_events),
        stall_seconds=math.inf,
        stall_pings_every=pings_every,
    )


def stalled_json() -> ScriptedResponse:
    """A non-streaming answer whose body never comes."""
    return ScriptedResponse(
        headers=[("content-type", "application/json")],
        body=b'{"id": "msg"}',
        stall_after_bytes=0,
        stall_seconds=math.inf,
    )


def stalled_for(entry: str, n_events: int, **kw: Any) -> ScriptedResponse:
    return stalled_json() if entry == "create" else stalled(n_events, **kw)


def text_of(message: tms.Message | None) -> str:
    assert message is not None
    return "".join(b.text for b in message.content if isinstance(b, tms.TextBlock))


TIMEOUT_HOOKS = ["on_timeout", "on_exception:APITimeoutError", "on_end"]


@pytest.mark.parametrize("entry", ["stream", "create"])
async def test_connect_timeout(driver: Driver, clock: Any, blackhole: str, entry: str) -> None:
    async with driver_at(driver, blackhole) as other:
        with pytest.raises(tms.APITimeoutError) as info:
            await run_entry(other, entry, timeout=tms.Timeout(connect=3 * driver.tick))
    assert info.value.which == "connect"
    assert info.value.partial_message is None
    if entry == "stream":
        assert other.log == TIMEOUT_HOOKS  # the stream failed before it started


@pytest.mark.parametrize("entry", ENTRIES)
async def test_read_timeout(driver: Driver, clock: Any, entry: str) -> None:
    # message_start, block start, ping, "one", " two": then nothing at all.
    driver.server.fail_first(10, stalled_for(entry, 5))
    start = driver.now()
    with pytest.raises(tms.APITimeoutError) as info:
        await run_entry(driver, entry, timeout=tms.Timeout(read=3 * driver.tick), max_retries=1)
    elapsed = driver.now() - start
    assert info.value.which == "read"
    assert elapsed >= 3 * driver.tick - 1e-3
    if entry == "create":
        # Nothing reached the caller: a read timeout is retried (2 attempts).
        assert len(driver.server.requests) == 2
    else:
        assert len(driver.server.requests) == 1  # content delivered: not retried
    if entry == "stream":
        assert text_of(info.value.partial_message) == "one two"
        assert driver.log == TIMEOUT_HOOKS


async def test_read_timeout_before_content_is_retried(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(stalled(1), text_response(TEXT))
    message = await driver.final(timeout=tms.Timeout(read=3 * driver.tick), max_retries=1)
    assert text_of(message) == TEXT
    assert len(driver.server.requests) == 2


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_content_idle_with_pings(driver: Driver, clock: Any, entry: str) -> None:
    tick = driver.tick
    driver.server.enqueue(stalled(5, pings_every=tick))
    start = driver.now()
    with pytest.raises(tms.APITimeoutError) as info:
        await run_entry(driver, entry, timeout=tms.Timeout(read=20 * tick, content_idle=4 * tick))
    elapsed = driver.now() - start
    assert info.value.which == "content_idle"
    assert elapsed >= 4 * tick - 1e-3
    if driver.exact:
        assert elapsed <= 4 * tick * 1.001 + 1e-6
    assert len(driver.server.requests) == 1
    if entry == "stream":
        assert text_of(info.value.partial_message) == "one two"
        assert driver.log == TIMEOUT_HOOKS


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_content_idle_silent_server(driver: Driver, clock: Any, entry: str) -> None:
    driver.server.enqueue(stalled(5))
    with pytest.raises(tms.APITimeoutError) as info:
        await run_entry(driver, entry, timeout=tms.Timeout(content_idle=3 * driver.tick))
    assert info.value.which == "content_idle"


async def test_content_keeps_content_idle_from_firing(driver: Driver, clock: Any) -> None:
    # An event every tick (content at least every 2 ticks: a ping comes between the
    # block's start and its first delta) keeps a 6-tick content_idle from firing.
    tick = driver.tick
    driver.server.enqueue(text_response("one two three", chunk_delay=tick))
    message = await driver.final(timeout=tms.Timeout(content_idle=6 * tick))
    assert text_of(message) == "one two three"


@pytest.mark.parametrize("entry", ENTRIES)
async def test_deadline(driver: Driver, clock: Any, entry: str) -> None:
    tick = driver.tick
    driver.server.enqueue(stalled_for(entry, 5, pings_every=tick))
    start = driver.now()
    with pytest.raises(tms.APITimeoutError) as info:
        await run_entry(driver, entry, timeout=tms.Timeout(deadline=4 * tick), max_retries=2)
    elapsed = driver.now() - start
    assert info.value.which == "deadline"
    assert elapsed >= 4 * tick - 1e-3
    if driver.exact:
        assert elapsed == pytest.approx(4 * tick)
    assert len(driver.server.requests) == 1  # the deadline is never retried
    if entry == "stream":
        assert driver.log == TIMEOUT_HOOKS


@pytest.mark.parametrize("entry", ENTRIES)
async def test_deadline_cuts_the_retry_wait(driver: Driver, clock: Any, entry: str) -> None:
    tick = driver.tick
    wait = [("retry-after-ms", str(round(40 * tick * 1000)))]
    driver.server.fail_first(5, error_response(529, "overloaded_error", headers=wait))
    start = driver.now()
    with pytest.raises(tms.APITimeoutError) as info:
        await run_entry(driver, entry, timeout=tms.Timeout(deadline=4 * tick), max_retries=3)
    elapsed = driver.now() - start
    assert info.value.which == "deadline"
    assert isinstance(info.value.__cause__, tms.OverloadedError)
    assert len(driver.server.requests) == 1
    assert elapsed >= 4 * tick - 1e-3
    if driver.exact:
        assert elapsed == pytest.approx(4 * tick)
