"""The request session's rules, without I/O: time is a number passed in, responses are
status codes, headers and bytes. (Both clients drive this object; the contract suite
checks that they do what it says.)"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from trio_msgstream._core.config import Timeout
from trio_msgstream._core.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BadRequestError,
    IncompleteStreamError,
    OverloadedError,
    StreamProtocolError,
)
from trio_msgstream._core.request.session import CONTENT_TYPE_PREVIEW, RequestSession
from trio_msgstream._core.request.spec import RequestSpec
from trio_msgstream._core.request.status import MAX_ERROR_BODY, status_error

SSE = {"content-type": "text/event-stream; charset=utf-8"}


@dataclass
class Head:
    """The part of a response a status error keeps (what the retry rules read)."""

    headers: dict[str, str] = field(default_factory=dict)
    status_code: int = 500


def spec(*, max_retries: int = 2, **timeouts: float | None) -> RequestSpec:
    return RequestSpec(
        method="POST",
        path="/v1/messages",
        headers={},
        body=b"{}",
        timeout=Timeout(**timeouts),  # type: ignore[arg-type]
        max_retries=max_retries,
    )


def session(
    *, now: float = 0.0, mode: str = "stream", max_retries: int = 2, **timeouts: float | None
) -> RequestSession:
    return RequestSession(spec(max_retries=max_retries, **timeouts), now=now, mode=mode)  # type: ignore[arg-type]


def error(status: int, **headers: str) -> APIError:
    body = json.dumps({"type": "error", "error": {"type": "x", "message": "m"}}).encode()
    return status_error(status, body, request_id=None, response=Head(headers, status))


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


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
START = {"type": "message_start", "message": MESSAGE}
PING = {"type": "ping"}
BLOCK = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}


def delta(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


END = [
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]


def types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


# -- attempts and the retry decision ------------------------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_the_budget_is_max_retries(max_retries: int) -> None:
    s = session(max_retries=max_retries)
    for _ in range(max_retries):
        s.begin_attempt(0.0)
        assert s.after_failure(error(529, **{"retry-after-ms": "0"}), 0.0) == 0.0
    s.begin_attempt(0.0)
    with pytest.raises(OverloadedError):
        s.after_failure(error(529, **{"retry-after-ms": "0"}), 0.0)
    assert s.attempts == max_retries + 1
    assert s.retries == max_retries


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses(status: int) -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.after_failure(error(status, **{"retry-after": "1"}), 0.0) == 1.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    s = session()
    s.begin_attempt(0.0)
    with pytest.raises(APIError) as info:
        s.after_failure(error(status), 0.0)
    assert info.value.status_code == status  # type: ignore[attr-defined]


def test_x_should_retry_overrides_the_status_both_ways() -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.after_failure(error(400, **{"x-should-retry": "true", "retry-after": "2"}), 0.0) == 2
    s.begin_attempt(2.0)
    with pytest.raises(OverloadedError):
        s.after_failure(error(529, **{"x-should-retry": "false"}), 2.0)


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (APIConnectionError("reset"), True),
        (APITimeoutError("t", which="read"), True),
        (APITimeoutError("t", which="connect"), True),
        (APITimeoutError("t", which="content_idle"), True),
        (APITimeoutError("t", which="deadline"), False),
        (IncompleteStreamError("cut"), True),
        (StreamProtocolError("garbage"), False),
    ],
)
def test_which_failures_are_retried(failure: APIError, retried: bool) -> None:
    s = session()
    s.begin_attempt(0.0)
    if retried:
        assert s.after_failure(failure, 0.0) >= 0
    else:
        with pytest.raises(type(failure)):
            s.after_failure(failure, 0.0)


def test_nothing_is_retried_after_content() -> None:
    s = session()
    s.begin_attempt(0.0)
    s.receive_data(sse(START, BLOCK, delta("hi")), 0.0)
    assert s.content_delivered
    with pytest.raises(OverloadedError) as info:
        s.after_failure(error(529), 0.0)
    assert info.value.partial_message is not None  # the attempt's message is attached


# -- the wait --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "200", "retry-after": "9"}, 0.2),  # the ms header wins
        ({"retry-after-ms": "-5"}, 0.0),
    ],
)
def test_retry_after_headers(headers: dict[str, str], wait: float) -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.after_failure(error(429, **headers), 0.0) == pytest.approx(wait)


def test_retry_after_http_date() -> None:
    from trio_msgstream._core.request.retry import retry_after_from_headers

    date = "Wed, 21 Oct 2026 07:28:10 GMT"
    import email.utils

    at = email.utils.parsedate_to_datetime(date).timestamp()
    assert retry_after_from_headers({"retry-after": date}, now=at - 7) == pytest.approx(7)
    assert retry_after_from_headers({"retry-after": date}, now=at + 7) == 0.0
    assert retry_after_from_headers({"retry-after": "soon"}) is None


@pytest.mark.parametrize("retries_done", range(7))
def test_backoff_without_retry_after(retries_done: int) -> None:
    s = session(max_retries=10)
    for _ in range(retries_done):
        s.begin_attempt(0.0)
        s.after_failure(error(529, **{"retry-after-ms": "0"}), 0.0)
    s.begin_attempt(0.0)
    delay = s.after_failure(error(529), 0.0)
    base = min(0.5 * 2**retries_done, 8.0)
    assert 0.75 * base <= delay <= base


def test_a_retry_after_over_a_minute_falls_back_to_backoff() -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.after_failure(error(529, **{"retry-after": "3600"}), 0.0) <= 0.5


def test_the_wait_is_cut_at_the_deadline_where_the_deadline_error_is_raised() -> None:
    s = session(deadline=10.0)
    s.begin_attempt(0.0)
    first = error(529, **{"retry-after": "30"})
    assert s.after_failure(first, 4.0) == pytest.approx(6.0)
    with pytest.raises(APITimeoutError) as info:
        s.begin_attempt(10.0)
    assert info.value.which == "deadline"
    assert info.value.__cause__ is first
    assert s.attempts == 1


def test_deadline_error_names_its_cause_however_it_is_noticed() -> None:
    s = session(deadline=10.0)
    s.begin_attempt(0.0)
    first = error(503, **{"retry-after": "1"})
    s.after_failure(first, 1.0)
    assert s.deadline_error().__cause__ is first  # e.g. a cancel scope cut the wait


# -- the response head ---------------------------------------------------------------------


def test_head_verdict() -> None:
    stream = session()
    assert stream.head_verdict(200, SSE) is None
    assert stream.head_verdict(200, {"content-type": "application/json"}) == CONTENT_TYPE_PREVIEW
    assert stream.head_verdict(200, {"content-type": "text/html"}) == CONTENT_TYPE_PREVIEW
    # Without a content type, the body decides (issue 19 item 7: a mock's SSE body).
    assert stream.head_verdict(200, {}) is None
    assert stream.head_verdict(429, SSE) == MAX_ERROR_BODY
    body = session(mode="body")
    assert body.head_verdict(200, {"content-type": "application/json"}) is None
    assert body.head_verdict(500, {}) == MAX_ERROR_BODY


@pytest.mark.parametrize("split", [1, 3, 1000])
def test_a_body_without_content_type_is_read_when_it_is_an_event_stream(split: int) -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.head_verdict(200, {}) is None
    body = sse(START, BLOCK, delta("hi"))
    seen = []
    for i in range(0, len(body), split):
        seen += s.receive_data(body[i : i + split], 0.0)
    assert "content_block_delta" in types(seen)


@pytest.mark.parametrize("split", [1, 3, 1000])
@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b'{"type": "message"}', b"nope"])
def test_a_body_without_content_type_that_is_no_event_stream_is_refused(
    split: int, body: bytes
) -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.head_verdict(200, {}) is None

    def feed() -> None:
        for i in range(0, len(body), split):
            s.receive_data(body[i : i + split], 0.0)
        s.receive_eof()

    with pytest.raises(StreamProtocolError, match="content-type text/event-stream") as info:
        feed()
    assert body.decode().startswith(info.value.body or "?")


def test_head_error() -> None:
    s = session()
    refused = s.head_error(200, {"content-type": "text/html"}, b"<html>")
    assert isinstance(refused, StreamProtocolError)
    assert "text/html" in refused.message
    status = s.head_error(
        400,
        {"request-id": "req_1"},
        b'{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}',
    )
    assert isinstance(status, BadRequestError)
    assert status.request_id == "req_1"
    assert "bad" in status.message


# -- holding events back -----------------------------------------------------------------


def test_events_are_held_until_the_first_content() -> None:
    s = session()
    s.begin_attempt(0.0)
    assert s.receive_data(sse(START, PING), 0.0) == []
    out = s.receive_data(sse(BLOCK, delta("a")), 1.0)
    assert types(out) == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "text",
    ]
    assert types(s.receive_data(sse(PING), 2.0)) == ["ping"]  # no holding after content


def test_held_pings_are_bounded() -> None:
    s = session()
    s.begin_attempt(0.0)
    ping = sse(PING)
    chunk = ping * (64 * 1024 // len(ping))
    for _ in range(4 * 1024 * 1024 // len(chunk)):  # 4 MB of pings
        assert s.receive_data(chunk, 0.0) == []
    assert s.receive_data(sse(START), 0.0) == []
    out = s.receive_data(sse(BLOCK), 0.0)
    assert types(out) == ["ping", "message_start", "content_block_start"]


def test_held_events_are_handed_out_at_eof_then_incomplete() -> None:
    s = session()
    s.begin_attempt(0.0)
    s.receive_data(sse(START), 0.0)
    with pytest.raises(IncompleteStreamError):
        s.receive_eof()


def test_a_new_attempt_starts_afresh() -> None:
    s = session()
    s.begin_attempt(0.0)
    s.receive_data(sse(START, PING), 0.0)
    s.after_failure(APIConnectionError("reset"), 0.0)
    s.begin_attempt(1.0)
    out = s.receive_data(sse(START, BLOCK), 1.0)
    assert types(out) == ["message_start", "content_block_start"]  # nothing of attempt 1


def test_raw_mode_holds_nothing() -> None:
    s = session(mode="raw")
    s.begin_attempt(0.0)
    assert types(s.receive_data(sse(START, PING), 0.0)) == ["message_start", "ping"]


def test_done_at_message_stop() -> None:
    s = session()
    s.begin_attempt(0.0)
    s.receive_data(sse(START, BLOCK, delta("x")), 0.0)
    assert not s.done
    s.receive_data(sse(*END), 0.0)
    assert s.done


# -- the idle clock and the deadline -----------------------------------------------------------


def test_idle_deadline_moves_on_content_not_on_pings() -> None:
    s = session(content_idle=10.0)
    s.begin_attempt(0.0)
    assert s.idle_deadline == pytest.approx(10.01)  # idle + idle/1000 of slack
    s.receive_data(sse(START, BLOCK), 5.0)
    assert s.idle_deadline == pytest.approx(15.01)
    s.receive_data(sse(PING), 9.0)
    assert s.idle_deadline == pytest.approx(15.01)  # a ping is not content
    s.receive_data(sse(delta("a")), 5.005)
    assert s.idle_deadline == pytest.approx(15.01)  # within the step: not moved
    s.receive_data(sse(delta("b")), 12.0)
    assert s.idle_deadline == pytest.approx(22.01)


def test_the_consumers_time_is_not_idle_time() -> None:
    s = session(content_idle=10.0)
    s.begin_attempt(0.0)
    s.receive_data(sse(START, BLOCK), 2.0)
    s.pause_idle(3.0)
    assert s.idle_deadline == math.inf
    s.pause_idle(4.0)  # pausing twice changes nothing
    s.resume_idle(50.0)
    assert s.idle_deadline == pytest.approx(50.0 + 12.01 - 3.0)
    s.resume_idle(60.0)  # nor does resuming twice
    assert s.idle_deadline == pytest.approx(59.01)


def test_no_idle_limit() -> None:
    s = session(content_idle=None)
    s.begin_attempt(0.0)
    s.receive_data(sse(START, BLOCK), 2.0)
    assert s.idle_deadline == math.inf
    assert s.wait_deadline == math.inf


def test_wait_deadline_and_which_timeout() -> None:
    s = session(content_idle=10.0, deadline=30.0)
    s.begin_attempt(0.0)
    assert s.deadline_at == 30.0
    assert s.wait_deadline == pytest.approx(10.01)
    assert s.timeout_error(10.01).which == "content_idle"
    s.receive_data(sse(START, BLOCK), 25.0)
    assert s.wait_deadline == 30.0
    assert s.timeout_error(30.0).which == "deadline"


def test_begin_attempt_past_the_deadline() -> None:
    s = session(deadline=5.0, now=100.0)
    with pytest.raises(APITimeoutError) as info:
        s.begin_attempt(105.0)
    assert info.value.which == "deadline"
    assert s.attempts == 0


# -- transport limits for a driver that cannot cancel (the sync client) ------------------------


def test_transport_timeouts_are_clamped_to_the_deadline_and_idle() -> None:
    s = session(connect=5.0, read=600.0, write=600.0, pool=None, content_idle=20.0, deadline=30.0)
    s.begin_attempt(0.0)
    assert s.transport_timeouts(0.0) == (5.0, pytest.approx(20.02), 30.0, 30.0)
    s.receive_data(sse(START, BLOCK), 15.0)  # the idle deadline is now 35.02
    assert s.transport_timeouts(28.0) == pytest.approx((2.0, 2.0, 2.0, 2.0))
    assert s.transport_timeouts(31.0) == (0.0, 0.0, 0.0, 0.0)


def test_transport_timeouts_without_limits() -> None:
    s = session(connect=None, read=None, write=None, pool=None, content_idle=None)
    s.begin_attempt(0.0)
    assert s.transport_timeouts(0.0) == (None, None, None, None)


def test_a_clamped_read_timeout_is_reported_as_what_it_was() -> None:
    s = session(read=600.0, content_idle=20.0, deadline=100.0)
    s.begin_attempt(0.0)
    read = APITimeoutError("read", which="read")
    assert s.explain_transport_timeout(read, 5.0) is read  # a genuine read timeout
    assert s.explain_transport_timeout(read, 20.02).which == "content_idle"
    assert s.explain_transport_timeout(read, 100.0).which == "deadline"
    connect = APITimeoutError("connect", which="connect")
    assert s.explain_transport_timeout(connect, 100.0).which == "deadline"
    assert s.fail(read, 20.02).which == "content_idle"  # type: ignore[attr-defined]
