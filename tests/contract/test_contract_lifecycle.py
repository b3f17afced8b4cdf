"""Contract: success, close, cancel, the end hooks and the end at ``message_stop``,
the same in both clients."""

from __future__ import annotations

import math
from typing import Any

import pytest
from _drivers import Driver, HandlerFailed

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, error_response, split_events, text_response

TEXT = "one two three four five six seven eight"


def text_of(message: Any) -> str:
    assert isinstance(message, tms.Message), message
    return "".join(b.text for b in message.content if isinstance(b, tms.TextBlock))


def stalled_after(n_events: int) -> ScriptedResponse:
    head = sum(len(e) for e in split_events(text_response(TEXT).body)[:n_events])
    return text_response(TEXT, stall_after_bytes=head, stall_seconds=math.inf)


# -- success ----------------------------------------------------------------------------


async def test_stream_final_message_and_hooks(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(text_response(TEXT))
    message = await driver.final()
    assert text_of(message) == TEXT
    assert message.stop_reason == "end_turn"
    assert driver.log == ["on_message", "on_end"]
    assert driver.streamed(0) is True


async def test_stream_events(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(text_response(TEXT))
    kinds = await driver.events()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "ping" in kinds
    assert kinds.count("text") == kinds.count("content_block_delta") == len(TEXT.split())
    assert driver.log == ["on_message", "on_end"]


async def test_raw_stream(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(text_response(TEXT))
    events = await driver.raw()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "text" not in kinds  # wire events only
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == TEXT
    assert driver.streamed(0) is True


async def test_create_returns_the_message(driver: Driver, clock: Any) -> None:
    message = await driver.create()
    assert isinstance(message, tms.Message)
    assert text_of(message)
    assert message.stop_reason == "end_turn"
    assert driver.streamed(0) is False


# -- the end hooks ----------------------------------------------------------------------


async def test_hooks_when_the_request_fails_before_streaming(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(error_response(404, "not_found_error"))
    with pytest.raises(tms.NotFoundError):
        await driver.final()
    assert driver.log == ["on_exception:NotFoundError", "on_end"]


async def test_hooks_when_retries_run_out_before_streaming(driver: Driver, clock: Any) -> None:
    driver.server.fail_first(
        5, error_response(529, "overloaded_error", headers=[("retry-after-ms", "0")])
    )
    with pytest.raises(tms.OverloadedError):
        await driver.final(max_retries=2)
    assert driver.log == ["on_exception:OverloadedError", "on_end"]  # once, not per attempt


async def test_hooks_when_the_stream_fails(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(ScriptedResponse.error_event_after(5, text_response(TEXT)))
    with pytest.raises(tms.OverloadedError):
        await driver.final()
    assert driver.log == ["on_exception:OverloadedError", "on_end"]


async def test_a_handler_that_raises(driver: Driver, clock: Any) -> None:
    # The handler's own exception comes out as itself; closing runs on_end once and
    # lets the connection go, though the server had more to send.
    driver.fail_on_text = True
    driver.server.enqueue(stalled_after(6))
    with pytest.raises(HandlerFailed) as info:
        await driver.final()
    assert str(info.value) == "one"
    assert driver.log == ["on_end"]
    await driver.wait_server_idle()


# -- close ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 5])
async def test_final_message_after_close_raises_stream_closed(
    driver: Driver, clock: Any, n: int
) -> None:
    driver.server.enqueue(text_response(TEXT))
    closed = await driver.close_after(n)
    assert len(closed.seen) == n
    assert closed.after == []  # the iteration ends at once
    assert isinstance(closed.final, tms.StreamClosedError)
    assert not isinstance(closed.final, tms.APIError)
    assert driver.log == ["on_end"]
    await driver.wait_server_idle()


async def test_close_twice_runs_on_end_once(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(text_response(TEXT))
    closed = await driver.close_after(3, twice=True)
    assert isinstance(closed.final, tms.StreamClosedError)
    assert driver.log == ["on_end"]


async def test_close_after_the_message_is_complete_keeps_it(driver: Driver, clock: Any) -> None:
    # Every wire event, and the derived text event of each delta.
    n_events = len(split_events(text_response(TEXT).body)) + len(TEXT.split())
    driver.server.enqueue(text_response(TEXT))
    closed = await driver.close_after(n_events)
    assert closed.seen[-1] == "message_stop"
    assert text_of(closed.final) == TEXT


async def test_close_while_the_consumer_waits(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(stalled_after(5))
    closed = await driver.close_while_reading(5)
    assert (
        closed.seen
        == [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "text",
            "content_block_delta",
            "text",
        ][: len(closed.seen)]
    )
    assert len(closed.seen) >= 5
    assert isinstance(closed.final, tms.StreamClosedError)
    assert driver.log == ["on_end"]
    await driver.wait_server_idle()


async def test_leaving_the_block_early_closes(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(stalled_after(6))
    seen = await driver.leave_early(4)
    assert len(seen) == 4
    assert driver.log == ["on_end"]
    await driver.wait_server_idle()


async def test_raw_stream_close(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(stalled_after(6))
    closed = await driver.raw_close_after(3)
    assert closed.seen == ["message_start", "content_block_start", "ping"]
    assert closed.after == []
    await driver.wait_server_idle()


# -- the end is message_stop --------------------------------------------------------------


def kept_open() -> ScriptedResponse:
    """A complete message whose body then stays open, sending pings forever."""
    body = text_response(TEXT).body
    return text_response(
        TEXT, stall_after_bytes=len(body), stall_seconds=math.inf, stall_pings_every=0.01
    )


async def test_stream_ends_at_message_stop_on_a_body_kept_open(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(kept_open())
    start = driver.now()
    # No deadline, no idle limit that could end it: only message_stop can.
    message = await driver.final(timeout=tms.Timeout(read=None, content_idle=None))
    assert text_of(message) == TEXT
    # get_final_message() did not wait for the end of the body (nor give up on it).
    assert driver.released_at_stop is False
    if driver.exact:
        assert driver.stop_time is not None
        assert driver.stop_time - start < 0.1
    assert driver.log == ["on_message", "on_end"]
    await driver.wait_server_idle()  # closing let the connection go


async def test_raw_stream_ends_at_message_stop_on_a_body_kept_open(
    driver: Driver, clock: Any
) -> None:
    driver.server.enqueue(kept_open())
    start = driver.now()
    events = await driver.raw(timeout=tms.Timeout(read=None, content_idle=None))
    assert events[-1].type == "message_stop"
    assert driver.released_at_stop is False  # handed out before the rest of the body
    if driver.exact:
        assert driver.stop_time is not None
        assert driver.stop_time - start < 0.1
    await driver.wait_server_idle()
