"""Usage limits, without I/O: the accounting rules and the request session's hooks."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from trio_msgstream._core.agents.usage_limits import RunUsage, UsageLimits, UsageTracker
from trio_msgstream._core.config import Timeout
from trio_msgstream._core.exceptions import APIError, OverloadedError, UsageLimitExceeded
from trio_msgstream._core.request.session import RequestSession
from trio_msgstream._core.request.spec import RequestSpec, usage_budgets
from trio_msgstream._core.schema.models import Message
from trio_msgstream.testing._sse import sse_bytes
from trio_msgstream.testing._transcripts import message_events, text_block

SSE = {"content-type": "text/event-stream"}


def _spec(*budgets: Any, max_retries: int = 2) -> RequestSpec:
    return RequestSpec(
        method="POST",
        path="/v1/messages",
        headers={},
        body=b"{}",
        timeout=Timeout(),
        max_retries=max_retries,
        usage=usage_budgets(list(budgets)),
    )


def _events(
    pieces: list[str], *, input_tokens: int = 10, output_tokens: int = 5, **usage: int
) -> list[bytes]:
    events = message_events(
        model="claude-sonnet-4-6",
        blocks=[text_block(pieces)],
        stop_reason="end_turn",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        message_id="msg_1",
    )
    events[0]["message"]["usage"].update(usage)
    return [sse_bytes([event]) for event in events]


def _stream(session: RequestSession, chunks: list[bytes]) -> list[Any]:
    session.begin_attempt(0.0)
    assert session.head_verdict(200, SSE) is None
    out: list[Any] = []
    for chunk in chunks:
        out += session.receive_data(chunk, 0.0)
    return out


def test_limits_are_checked_values() -> None:
    with pytest.raises(ValueError, match="request_limit"):
        UsageLimits(request_limit=-1)
    with pytest.raises(TypeError, match="output_tokens_limit"):
        UsageLimits(output_tokens_limit=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        UsageLimits(tool_calls_limit=True)
    with pytest.raises(TypeError, match="usage_limits"):
        usage_budgets("lots")
    assert not UsageLimits(request_limit=3).has_token_limits
    assert UsageLimits(total_tokens_limit=3).has_token_limits


def test_requests_are_counted_and_the_one_past_the_limit_is_refused() -> None:
    tracker = UsageTracker(UsageLimits(request_limit=2))
    for _ in range(2):
        _stream(RequestSession(_spec(tracker), now=0.0, mode="stream"), _events(["a"]))
    session = RequestSession(_spec(tracker), now=0.0, mode="stream")
    with pytest.raises(UsageLimitExceeded) as info:
        session.begin_attempt(0.0)
    assert session.attempts == 0  # not sent
    assert info.value.limit == "request_limit"
    assert info.value.usage.requests == 2
    assert tracker.usage.requests == 2


def test_totals_count_cache_reads_and_writes() -> None:
    tracker = UsageTracker()
    chunks = _events(
        ["Hello", " there"],
        input_tokens=10,
        output_tokens=7,
        cache_read_input_tokens=100,
        cache_creation_input_tokens=20,
    )
    _stream(RequestSession(_spec(tracker), now=0.0, mode="stream"), chunks)
    _stream(RequestSession(_spec(tracker), now=0.0, mode="raw"), chunks)
    usage = tracker.usage
    assert usage == RunUsage(
        requests=2,
        input_tokens=20,
        cache_creation_input_tokens=40,
        cache_read_input_tokens=200,
        output_tokens=14,
    )
    assert usage.total_input_tokens == 260
    assert usage.total_tokens == 274


def test_input_limit_cuts_the_stream_at_message_start() -> None:
    tracker = UsageTracker(UsageLimits(input_tokens_limit=50))
    session = RequestSession(_spec(tracker), now=0.0, mode="stream")
    chunks = _events(["a", "b"], input_tokens=10, cache_read_input_tokens=41)
    with pytest.raises(UsageLimitExceeded) as info:
        _stream(session, chunks[:1])
    assert info.value.limit == "input_tokens_limit"
    assert info.value.usage.total_input_tokens == 51
    # The driver hands the error to the session, which ends the request with it.
    with pytest.raises(UsageLimitExceeded) as ended:
        session.after_failure(info.value, 0.0)
    assert ended.value is info.value
    assert isinstance(info.value.partial_message, Message)


def test_output_is_estimated_while_streaming_and_exact_at_the_end() -> None:
    tracker = UsageTracker()
    session = RequestSession(_spec(tracker), now=0.0, mode="stream")
    chunks = _events(["one", " two", " three"], output_tokens=9)
    # message_start, block start, ping, three deltas, block stop, message_delta, stop
    _stream(session, chunks[:5])
    assert tracker.usage.output_tokens == 2  # two non-empty deltas so far
    for chunk in chunks[5:7]:
        session.receive_data(chunk, 0.0)
    assert tracker.usage.output_tokens == 3
    session.receive_data(chunks[7], 0.0)  # message_delta: the exact count
    assert tracker.usage.output_tokens == 9


def test_output_limit_cuts_a_stream_mid_reply_with_the_partial_message() -> None:
    tracker = UsageTracker(UsageLimits(output_tokens_limit=3))
    session = RequestSession(_spec(tracker), now=0.0, mode="stream")
    chunks = _events([f" w{i}" for i in range(10)], output_tokens=10)
    with pytest.raises(UsageLimitExceeded) as info:
        _stream(session, chunks)
    error = session.fail(info.value)
    assert error.limit == "output_tokens_limit"  # type: ignore[attr-defined]
    partial = error.partial_message
    assert partial is not None
    assert partial.content[0].text == " w0 w1 w2 w3"  # type: ignore[union-attr]
    assert tracker.exceeded is info.value
    # A tracker past a token limit refuses every further request.
    with pytest.raises(UsageLimitExceeded):
        RequestSession(_spec(tracker), now=0.0, mode="stream").begin_attempt(0.0)


def test_empty_deltas_are_not_counted() -> None:
    tracker = UsageTracker()
    events = message_events(
        model="claude-sonnet-4-6",
        blocks=[text_block(["", "a", ""])],
        stop_reason="end_turn",
        input_tokens=1,
        output_tokens=1,
        message_id="msg_1",
    )
    session = RequestSession(_spec(tracker), now=0.0, mode="stream")
    _stream(session, [sse_bytes([event]) for event in events[:-2]])
    assert tracker.usage.output_tokens == 1


def test_a_reply_read_whole_is_settled_and_may_pass_the_limit() -> None:
    tracker = UsageTracker(UsageLimits(total_tokens_limit=100))
    message = Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 90, "output_tokens": 20},
        }
    )
    session = RequestSession(_spec(tracker), now=0.0, mode="body")
    session.begin_attempt(0.0)
    with pytest.raises(UsageLimitExceeded) as info:
        session.succeed(message)
    assert info.value.partial_message is message
    assert info.value.usage.total_tokens == 110


def test_retries_are_not_requests_but_keep_what_was_reported() -> None:
    tracker = UsageTracker(UsageLimits(request_limit=1))
    session = RequestSession(_spec(tracker), now=0.0, mode="stream")
    chunks = _events(["a"], input_tokens=10)
    _stream(session, chunks[:1])  # message_start only, then the attempt fails
    assert session.after_failure(OverloadedError("busy", status_code=529), 0.0) >= 0
    session.begin_attempt(0.0)
    assert session.head_verdict(200, SSE) is None
    for chunk in chunks:
        session.receive_data(chunk, 0.0)
    usage = tracker.usage
    assert usage.requests == 1
    assert usage.input_tokens == 20


def test_several_budgets_one_refuses_none_counts() -> None:
    ample = UsageTracker(UsageLimits(request_limit=5))
    spent = UsageTracker(UsageLimits(request_limit=0))
    with pytest.raises(UsageLimitExceeded):
        RequestSession(_spec(ample, spent), now=0.0, mode="stream").begin_attempt(0.0)
    assert ample.usage.requests == 0


def test_a_limits_value_is_a_budget_of_its_own_request() -> None:
    limits = UsageLimits(output_tokens_limit=2)
    for _ in range(2):  # each request starts from zero
        _stream(
            RequestSession(_spec(limits), now=0.0, mode="stream"), _events(["a"], output_tokens=2)
        )
    with pytest.raises(UsageLimitExceeded):
        _stream(
            RequestSession(_spec(limits), now=0.0, mode="stream"), _events(["a"], output_tokens=3)
        )


def test_tool_calls_limit() -> None:
    tracker = UsageTracker(UsageLimits(tool_calls_limit=3))
    tracker.count_tool_calls(2)
    with pytest.raises(UsageLimitExceeded) as info:
        tracker.count_tool_calls(2)
    assert info.value.limit == "tool_calls_limit"
    assert tracker.usage.tool_calls == 2
    tracker.count_tool_calls(1)
    assert tracker.usage.tool_calls == 3


def test_the_error_pickles_and_is_an_api_error_that_is_never_retried() -> None:
    from trio_msgstream._core.request.retry import is_retryable

    tracker = UsageTracker(UsageLimits(request_limit=0))
    with pytest.raises(UsageLimitExceeded) as info:
        tracker.check_request()
    assert isinstance(info.value, APIError)
    assert not is_retryable(info.value)
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.usage == info.value.usage
    assert copy.limit == "request_limit"
    assert "request_limit=0" in str(copy)


def test_a_reply_with_iterations_counts_their_sum() -> None:
    # A compaction, say: the top-level usage is the last sampling's only; the billed
    # usage is the sum over the iterations.
    tracker = UsageTracker()
    session = RequestSession(_spec(tracker), now=0.0, mode="body")
    session.begin_attempt(0.0)
    usage = {
        "input_tokens": 23000,
        "output_tokens": 1000,
        "iterations": [
            {"type": "compaction", "input_tokens": 180000, "output_tokens": 3500},
            {"type": "message", "input_tokens": 23000, "output_tokens": 1000},
        ],
    }
    message = Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
    )
    session.succeed(message)
    assert (tracker.usage.input_tokens, tracker.usage.output_tokens) == (203000, 4500)


def test_a_middlewares_hops_count_as_requests_of_the_request() -> None:
    # A UsageLimits given to one request is that request's budget: its hops count there.
    session = RequestSession(_spec(UsageLimits(request_limit=2)), now=0.0, mode="body")
    session.begin_attempt(0.0)
    session.hop_reply({"input_tokens": 5, "output_tokens": 2})
    session.count_hop()
    with pytest.raises(UsageLimitExceeded, match="request_limit"):
        session.count_hop()
