"""The consumer's rules, without I/O: position, final message, end hooks exactly once,
what asking for the final message gives after each way a stream can end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trio_msgstream._core.exceptions import (
    APIError,
    APITimeoutError,
    IncompleteStreamError,
    OverloadedError,
    StreamClosedError,
)
from trio_msgstream._core.stream.consumer import StreamConsumer
from trio_msgstream._core.stream.engine import StreamEngine

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 0},
}
EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": MESSAGE},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
]


def batch(events: list[dict[str, Any]] = EVENTS) -> list[Any]:
    engine = StreamEngine(accumulate=True)
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    return engine.receive_data(body)


def never(error: APIError) -> APIError:
    raise AssertionError("not expected to be called")


def drain(consumer: StreamConsumer) -> list[str]:
    seen = []
    while (event := consumer.take()) is not None:
        seen.append(event.type)
    return seen


def test_take_hands_out_the_batch_in_order_and_records_the_final_message() -> None:
    c = StreamConsumer()
    assert c.take() is None
    c.refill(batch())
    kinds = drain(c)
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "text" in kinds  # derived events too
    assert c.final_message is not None
    assert c.result(never) is c.final_message


def test_end_hooks_on_success_run_once() -> None:
    c = StreamConsumer()
    assert c.end_hooks(None) == ["on_end"]
    assert c.end_hooks(None) == []
    assert c.close_hooks() == []
    assert c.finished


def test_end_hooks_on_failure() -> None:
    c = StreamConsumer()
    error = OverloadedError("overloaded", status_code=529)
    assert c.end_hooks(error) == ["on_exception", "on_end"]
    assert c.end_hooks(IncompleteStreamError("again")) == []
    assert c.error is error  # the first error is the stream's
    with pytest.raises(OverloadedError):
        c.result(never)


def test_end_hooks_on_timeout() -> None:
    c = StreamConsumer()
    assert c.end_hooks(APITimeoutError("t", which="read")) == [
        "on_timeout",
        "on_exception",
        "on_end",
    ]


def test_close_then_end_runs_on_end_once() -> None:
    c = StreamConsumer()
    assert c.close_hooks() == ["on_end"]
    assert c.close_hooks() == []
    assert c.end_hooks(OverloadedError("late", status_code=529)) == []
    assert c.exhausted


def test_close_drops_the_batch_at_hand() -> None:
    c = StreamConsumer()
    c.refill(batch())
    c.take()
    c.mark_closed()
    assert c.take() is None
    assert c.exhausted


def test_final_message_after_close_before_message_stop() -> None:
    c = StreamConsumer()
    c.refill(batch(EVENTS[:3]))
    drain(c)
    c.close_hooks()
    with pytest.raises(StreamClosedError) as info:
        c.result(never)
    assert not isinstance(info.value, APIError)


def test_final_message_after_close_after_message_stop() -> None:
    c = StreamConsumer()
    c.refill(batch())
    drain(c)
    c.close_hooks()
    assert c.result(never).stop_reason == "end_turn"


def test_the_closed_error_type_is_the_drivers() -> None:
    class Mine(StreamClosedError):
        pass

    c = StreamConsumer(Mine)
    c.close_hooks()
    with pytest.raises(Mine):
        c.result(never)


def test_events_that_simply_stopped_are_incomplete() -> None:
    c = StreamConsumer()
    c.refill(batch(EVENTS[:3]))
    drain(c)
    c.end_hooks(None)
    with pytest.raises(IncompleteStreamError):
        c.result(lambda error: error)
