"""Contract: both clients retry the same requests, the same number of times.

Request counts are read on the fake server. Scripted errors carry ``retry-after-ms: 0``
unless a test is about the wait, so the sync client's real clock costs nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from _drivers import Driver, driver_at

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, error_response, split_events, text_response

TEXT = "one two three four five six"
NOW = [("retry-after-ms", "0")]
ENTRIES = ["stream", "raw", "create"]


async def run_entry(driver: Driver, entry: str, **kw: Any) -> Any:
    if entry == "stream":
        return await driver.final(**kw)
    if entry == "raw":
        return await driver.raw(**kw)
    return await driver.create(**kw)


def text_of(result: Any) -> str:
    """The text of a message, or of a raw stream's deltas."""
    if isinstance(result, tms.Message):
        return "".join(b.text for b in result.content if isinstance(b, tms.TextBlock))
    return "".join(
        e.delta.text
        for e in result
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def first_message(script: ScriptedResponse) -> Any:
    """The ``message`` of a script's ``message_start`` event."""
    head = split_events(script.body)[0].decode()
    return json.loads(head.split("data: ", 1)[1])["message"]


def reply() -> ScriptedResponse:
    return text_response(TEXT)


async def answer(driver: Driver, entry: str, **kw: Any) -> Any:
    """Queue the reply in the shape the entry point asks for, then run it."""
    if entry == "create":
        # The fake server answers a non-streaming request from its responder.
        return await driver.create(**kw)
    driver.server.enqueue(reply())
    return await run_entry(driver, entry, **kw)


@pytest.mark.parametrize("entry", ENTRIES)
async def test_retryable_status_is_retried_until_success(
    driver: Driver, clock: Any, entry: str
) -> None:
    driver.server.fail_first(2, error_response(529, "overloaded_error", headers=NOW))
    result = await answer(driver, entry, max_retries=2)
    assert len(driver.server.requests) == 3
    assert text_of(result)


@pytest.mark.parametrize("entry", ENTRIES)
async def test_retry_budget_is_max_retries(driver: Driver, clock: Any, entry: str) -> None:
    driver.server.fail_first(10, error_response(500, "api_error", headers=NOW))
    with pytest.raises(tms.InternalServerError):
        await run_entry(driver, entry, max_retries=3)
    assert len(driver.server.requests) == 4


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", tms.BadRequestError),
        (401, "authentication_error", tms.AuthenticationError),
        (404, "not_found_error", tms.NotFoundError),
        (413, "request_too_large", tms.RequestTooLargeError),
    ],
)
async def test_non_retryable_status_is_sent_once(
    driver: Driver, clock: Any, entry: str, status: int, error_type: str, cls: type
) -> None:
    driver.server.fail_first(10, error_response(status, error_type, headers=NOW))
    with pytest.raises(cls):
        await run_entry(driver, entry, max_retries=3)
    assert len(driver.server.requests) == 1


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
async def test_retryable_statuses(driver: Driver, clock: Any, status: int) -> None:
    driver.server.fail_first(1, error_response(status, "api_error", headers=NOW))
    await answer(driver, "stream", max_retries=1)
    assert len(driver.server.requests) == 2


@pytest.mark.parametrize("entry", ENTRIES)
async def test_x_should_retry_false_stops_a_retryable_status(
    driver: Driver, clock: Any, entry: str
) -> None:
    headers = [*NOW, ("x-should-retry", "false")]
    driver.server.fail_first(10, error_response(529, "overloaded_error", headers=headers))
    with pytest.raises(tms.OverloadedError):
        await run_entry(driver, entry, max_retries=3)
    assert len(driver.server.requests) == 1


@pytest.mark.parametrize("entry", ENTRIES)
async def test_x_should_retry_true_retries_a_client_error(
    driver: Driver, clock: Any, entry: str
) -> None:
    headers = [*NOW, ("x-should-retry", "true")]
    driver.server.fail_first(1, error_response(400, "invalid_request_error", headers=headers))
    await answer(driver, entry, max_retries=1)
    assert len(driver.server.requests) == 2


@pytest.mark.parametrize("header", ["retry-after-ms", "retry-after"])
async def test_retry_after_is_honoured(driver: Driver, clock: Any, header: str) -> None:
    wait = 4 * driver.tick
    value = str(round(wait * 1000)) if header == "retry-after-ms" else str(wait)
    driver.server.fail_first(1, error_response(429, "rate_limit_error", headers=[(header, value)]))
    start = driver.now()
    await answer(driver, "stream", max_retries=1)
    elapsed = driver.now() - start
    assert len(driver.server.requests) == 2
    assert elapsed >= wait - 1e-3
    if driver.exact:
        assert elapsed == pytest.approx(wait)


async def test_backoff_without_retry_after(driver: Driver, clock: Any) -> None:
    driver.server.fail_first(1, error_response(529, "overloaded_error"))
    start = driver.now()
    await answer(driver, "stream", max_retries=1)
    elapsed = driver.now() - start
    assert len(driver.server.requests) == 2
    # The first backoff: 0.5 s with up to 25% jitter taken off.
    assert elapsed >= 0.375 - 1e-3
    if driver.exact:
        assert elapsed <= 0.5 + 1e-6


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_no_retry_after_content(driver: Driver, clock: Any, entry: str) -> None:
    # "one" reached the consumer before the error event: a retry would duplicate it.
    driver.server.enqueue(ScriptedResponse.error_event_after(4, reply()))
    driver.server.enqueue(reply())
    with pytest.raises(tms.OverloadedError):
        await run_entry(driver, entry, max_retries=3)
    assert len(driver.server.requests) == 1


async def test_retry_before_content(driver: Driver, clock: Any) -> None:
    # Only message_start (and pings) before the error event: they were held back, the
    # consumer has seen nothing, so the request is retried.
    events = [{"type": "message_start", "message": first_message(reply())}, {"type": "ping"}]
    driver.server.enqueue(ScriptedResponse.error_event_after(2, events))
    driver.server.enqueue(reply())
    message = await driver.final(max_retries=1)
    assert len(driver.server.requests) == 2
    assert text_of(message) == TEXT
    assert driver.log == ["on_message", "on_end"]


async def test_connection_dropped_before_content_is_retried(driver: Driver, clock: Any) -> None:
    head = len(split_events(reply().body)[0])  # message_start alone: held back
    driver.server.enqueue(text_response(TEXT, drop_after_bytes=head))
    driver.server.enqueue(reply())
    message = await driver.final(max_retries=1)
    assert len(driver.server.requests) == 2
    assert text_of(message) == TEXT


async def test_connection_refused_is_retried_then_raised(driver: Driver, clock: Any) -> None:
    closed_port = driver.server.base_url.rsplit(":", 1)[0] + ":9"  # discard: nobody listens
    async with driver_at(driver, closed_port) as other:
        with pytest.raises(tms.APIConnectionError):
            await other.create(max_retries=1, timeout=tms.Timeout(connect=5 * driver.tick))
