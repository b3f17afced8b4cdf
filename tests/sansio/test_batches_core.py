"""The sans-IO parts of Message Batches: results decoder, wait policy, building/splitting,
and the models against the official SDK's types (the SDK is a test-only oracle)."""

from __future__ import annotations

import itertools
import json
import math
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_msgstream._core.batches.build import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    BatchLimitError,
    batch_requests,
    check_batch_limits,
    split_batches,
)
from trio_msgstream._core.batches.models import (
    BatchWaitTimeout,
    MessageBatch,
    MessageBatchCanceledResult,
    MessageBatchErroredResult,
    MessageBatchExpiredResult,
    MessageBatchIndividualResponse,
    MessageBatchSucceededResult,
    MessageBatchUnknownResult,
)
from trio_msgstream._core.batches.results import BatchResultsDecoder, BatchResultsError
from trio_msgstream._core.batches.wait import BatchWaiter, WaitPolicy
from trio_msgstream._core.exceptions import (
    APIStatusError,
    InternalServerError,
    NotFoundError,
    status_error_class,
)
from trio_msgstream._core.stream.sse import NEED_DATA


def _line(custom_id: str, kind: str, text: str = "hi") -> bytes:
    result: dict[str, Any] = {"type": kind}
    if kind == "succeeded":
        result["message"] = {
            "id": f"msg_{custom_id}",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
    elif kind == "errored":
        result["error"] = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "bad"},
        }
    return json.dumps({"custom_id": custom_id, "result": result}).encode() + b"\n"


ALL_KINDS = _line("a", "succeeded") + _line("b", "errored") + _line("c", "canceled")
ALL_KINDS += _line("d", "expired")


# --------------------------------------------------------------------------- decoder


def test_decoder_every_outcome_kind() -> None:
    results = BatchResultsDecoder().feed(ALL_KINDS)
    assert [r.custom_id for r in results] == ["a", "b", "c", "d"]
    succeeded, errored, canceled, expired = (r.result for r in results)
    assert isinstance(succeeded, MessageBatchSucceededResult)
    assert succeeded.message.content[0].text == "hi"  # type: ignore[union-attr]
    assert isinstance(errored, MessageBatchErroredResult)
    assert errored.error.error.type == "invalid_request_error"
    assert isinstance(canceled, MessageBatchCanceledResult)
    assert isinstance(expired, MessageBatchExpiredResult)


@given(st.lists(st.integers(min_value=0, max_value=len(ALL_KINDS)), max_size=12))
@settings(max_examples=40, deadline=None)
def test_decoder_any_chunking_gives_the_same_results(splits: list[int]) -> None:
    bounds = [0, *sorted(set(splits)), len(ALL_KINDS)]
    decoder = BatchResultsDecoder()
    results = []
    for a, b in itertools.pairwise(bounds):
        if b > a:
            results += decoder.feed(ALL_KINDS[a:b])
    results += decoder.feed(b"")
    assert [r.custom_id for r in results] == ["a", "b", "c", "d"]


def test_decoder_crlf_blank_lines_and_last_line_without_newline() -> None:
    data = _line("a", "canceled").replace(b"\n", b"\r\n") + b"\n\r\n" + _line("b", "expired")[:-1]
    decoder = BatchResultsDecoder()
    assert [r.custom_id for r in decoder.feed(data)] == ["a"]
    assert decoder.next_result() is NEED_DATA
    assert [r.custom_id for r in decoder.feed(b"")] == ["b"]
    assert decoder.line_number == 4
    assert decoder.next_result() is NEED_DATA


def test_malformed_line_names_line_and_custom_id_and_keeps_earlier_results() -> None:
    data = _line("a", "canceled") + b'{"custom_id":"req-7","result":{"type":"succ\n'
    data += _line("c", "expired")
    decoder = BatchResultsDecoder()
    with pytest.raises(BatchResultsError) as info:
        decoder.feed(data)
    error = info.value
    assert error.line_number == 2
    assert error.custom_id == "req-7"
    assert "line 2" in str(error)
    assert "req-7" in str(error)
    assert [r.custom_id for r in error.results] == ["a"]
    # The bad line is consumed: decoding goes on after it.
    assert [r.custom_id for r in decoder.feed(b"")] == ["c"]


def test_valid_json_of_the_wrong_shape_is_a_malformed_line() -> None:
    decoder = BatchResultsDecoder()
    decoder.receive_data(b'{"custom_id":"x-1","result":{"type":"succeeded"}}\n')
    with pytest.raises(BatchResultsError) as info:
        decoder.next_result()
    assert (info.value.line_number, info.value.custom_id) == (1, "x-1")
    assert "message" in str(info.value)


def test_malformed_line_without_a_readable_custom_id() -> None:
    with pytest.raises(BatchResultsError) as info:
        BatchResultsDecoder().feed(b"not json at all\n")
    assert info.value.custom_id is None
    assert info.value.line_number == 1


def test_unknown_result_type_is_kept() -> None:
    [result] = BatchResultsDecoder().feed(b'{"custom_id":"n","result":{"type":"new","x":1}}\n')
    assert isinstance(result.result, MessageBatchUnknownResult)
    assert result.result.model_dump() == {"type": "new", "x": 1}


def test_oversize_line_is_an_error_and_memory_stays_bounded() -> None:
    decoder = BatchResultsDecoder(max_line_size=1000)
    decoder.feed(_line("ok", "canceled"))
    decoder.receive_data(b'{"custom_id":"huge-1","result":' + b" " * 600)
    assert decoder.next_result() is NEED_DATA
    decoder.receive_data(b" " * 600)
    with pytest.raises(BatchResultsError) as info:
        decoder.next_result()
    assert (info.value.line_number, info.value.custom_id) == (2, "huge-1")
    assert decoder.buffered == 0


def test_buffer_holds_one_line_at_a_time() -> None:
    decoder = BatchResultsDecoder()
    line = _line("x", "succeeded", text="y" * 5000)
    peak = 0
    for _ in range(200):
        for piece in (line[:1234], line[1234:]):
            decoder.feed(piece)
            peak = max(peak, len(decoder._buffer))
    assert peak < 2 * len(line) + 64 * 1024


def test_data_after_eof_is_refused() -> None:
    decoder = BatchResultsDecoder()
    decoder.receive_data(b"")
    with pytest.raises(RuntimeError):
        decoder.receive_data(b"x")


# --------------------------------------------------------------------------- wait policy


def test_poll_interval_grows_to_the_cap() -> None:
    policy = WaitPolicy(poll_interval=2, max_poll_interval=10, backoff=2)
    assert [policy.interval(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]
    assert policy.interval(10_000) == 10  # no overflow


def test_plan_honours_retry_after_and_the_deadline() -> None:
    policy = WaitPolicy(poll_interval=5, max_poll_interval=60, deadline=100)
    deadline_at = policy.deadline_at(now=1000.0)
    assert deadline_at == 1100.0
    plan = policy.plan(polls_done=1, now=1000.0, deadline_at=deadline_at)
    assert (plan.sleep, plan.give_up) == (5, False)
    plan = policy.plan(polls_done=1, now=1000.0, deadline_at=deadline_at, retry_after=30)
    assert plan.sleep == 30
    plan = policy.plan(polls_done=1, now=1090.0, deadline_at=deadline_at, retry_after=30)
    assert plan.sleep == 10  # clamped to the deadline
    assert policy.plan(polls_done=9, now=1100.0, deadline_at=deadline_at).give_up


def test_no_deadline_never_gives_up() -> None:
    policy = WaitPolicy()
    assert policy.deadline_at(now=5.0) == math.inf
    assert not policy.plan(polls_done=10**6, now=1e12, deadline_at=math.inf).give_up


@pytest.mark.parametrize(
    "kwargs",
    [
        {"poll_interval": 0},
        {"poll_interval": 10, "max_poll_interval": 5},
        {"backoff": 0.5},
        {"deadline": -1},
        {"max_poll_failures": -1},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        WaitPolicy(**kwargs)


# --------------------------------------------------------------------------- building


def _params(text: str = "hi") -> dict[str, Any]:
    return {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": text}]}


def test_the_api_limits() -> None:
    assert MAX_BATCH_REQUESTS == 100_000
    assert MAX_BATCH_BYTES == 256_000_000


def test_three_input_shapes_give_the_same_requests() -> None:
    as_mapping = batch_requests({"a": _params(), "b": _params("x")})
    as_pairs = batch_requests([("a", _params()), ("b", _params("x"))])
    as_api = batch_requests(
        [{"custom_id": "a", "params": _params()}, {"custom_id": "b", "params": _params("x")}]
    )
    assert as_mapping == as_pairs == as_api
    assert as_mapping[0].to_api() == {"custom_id": "a", "params": _params()}


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        ({"has space": _params()}, "has space"),
        ({"x" * 65: _params()}, "64"),
        ([(1, _params())], "1"),
        ([("a", _params()), ("a", _params())], "twice"),
        ({"a": "not params"}, "mapping"),
        ({"a": {**_params(), "stream": True}}, "stream"),
        ({"a": {"model": object()}}, "JSON"),
        ([{"custom_id": "a", "params": _params(), "extra": 1}], "extra"),
    ],
)
def test_malformed_requests_are_refused_clearly(items: Any, needle: str) -> None:
    with pytest.raises(BatchLimitError, match=needle):
        batch_requests(items)


def test_limits_are_checked_with_the_exact_body_size() -> None:
    requests = batch_requests({f"r-{i}": _params("x" * i) for i in range(50)})
    body = json.dumps(
        {"requests": [r.to_api() for r in requests]}, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert check_batch_limits(requests) == len(body)
    with pytest.raises(BatchLimitError, match=f"at most {len(body) - 1:,} bytes"):
        check_batch_limits(requests, max_bytes=len(body) - 1)
    with pytest.raises(BatchLimitError, match="at most 49 requests, this one has 50"):
        check_batch_limits(requests, max_requests=49)
    with pytest.raises(BatchLimitError, match="at least one"):
        check_batch_limits([])


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=60),
    max_requests=st.integers(min_value=1, max_value=20),
    max_bytes=st.integers(min_value=400, max_value=3000),
)
@settings(max_examples=40, deadline=None)
def test_split_fits_keeps_order_and_is_greedy(
    sizes: list[int], max_requests: int, max_bytes: int
) -> None:
    items = [(f"r-{i}", _params("é" * n)) for i, n in enumerate(sizes)]
    requests = batch_requests(items)
    if any(r.size + 15 > max_bytes for r in requests):
        with pytest.raises(BatchLimitError, match="alone"):
            split_batches(requests, max_requests=max_requests, max_bytes=max_bytes)
        return
    batches = split_batches(items, max_requests=max_requests, max_bytes=max_bytes)
    assert [r for batch in batches for r in batch] == requests
    for index, batch in enumerate(batches):
        check_batch_limits(batch, max_requests=max_requests, max_bytes=max_bytes)
        if index + 1 < len(batches):  # greedy: the next request would not have fitted
            with pytest.raises(BatchLimitError):
                check_batch_limits(
                    [*batch, batches[index + 1][0]], max_requests=max_requests, max_bytes=max_bytes
                )


def test_ten_thousand_requests_split_by_count() -> None:
    items = {f"item-{i}": _params(f"prompt {i}") for i in range(10_000)}
    batches = split_batches(items, max_requests=3_000)
    assert [len(b) for b in batches] == [3_000, 3_000, 3_000, 1_000]


# --------------------------------------------------------------------------- SDK shape


def test_models_read_what_the_sdk_reads() -> None:
    sdk = pytest.importorskip("anthropic.types.messages")
    batch = {
        "id": "msgbatch_01",
        "type": "message_batch",
        "processing_status": "ended",
        "request_counts": {
            "processing": 0,
            "succeeded": 1,
            "errored": 1,
            "canceled": 1,
            "expired": 1,
        },
        "created_at": "2026-11-30T10:00:00Z",
        "expires_at": "2026-12-01T10:00:00Z",
        "ended_at": "2026-11-30T11:00:00Z",
        "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_01/results",
    }
    ours = MessageBatch.model_validate(batch)
    theirs = sdk.MessageBatch.model_validate(batch)
    assert ours.model_dump() == theirs.model_dump()
    assert ours.ended
    assert ours.request_counts.total == 4
    for raw in ALL_KINDS.splitlines():
        mine = MessageBatchIndividualResponse.model_validate_json(raw)
        sdk_line = sdk.MessageBatchIndividualResponse.model_validate_json(raw)
        assert mine.custom_id == sdk_line.custom_id
        assert mine.result.type == sdk_line.result.type
        dumped = mine.model_dump(exclude_none=True)
        assert dumped == sdk_line.model_dump(exclude_none=True)


# --------------------------------------------------------------------------- waiter


def _batch(status: str) -> MessageBatch:
    return MessageBatch(
        id="msgbatch_1",
        processing_status=status,
        created_at="2026-11-30T10:00:00Z",  # type: ignore[arg-type]
        expires_at="2026-12-01T10:00:00Z",  # type: ignore[arg-type]
    )


def _status_error(status: int, headers: dict[str, str] | None = None) -> APIStatusError:
    response = SimpleNamespace(headers=headers or {})
    return status_error_class(status)("boom", status_code=status, response=response)


def test_waiter_polls_until_ended_and_remembers_the_last_batch() -> None:
    waiter = BatchWaiter("msgbatch_1", WaitPolicy(poll_interval=2, backoff=2), now=0.0)
    assert waiter.polled(_batch("in_progress"), now=0.0).sleep == 2
    assert waiter.polled(_batch("canceling"), now=2.0).sleep == 4
    plan = waiter.polled(_batch("ended"), now=6.0)
    assert plan.batch is not None
    assert plan.batch.ended
    assert waiter.polls == 3


def test_waiter_retries_retryable_failures_with_retry_after() -> None:
    waiter = BatchWaiter("msgbatch_1", WaitPolicy(poll_interval=2, max_poll_failures=2), now=0.0)
    assert waiter.failed(_status_error(529, {"retry-after": "30"}), now=0.0).sleep == 30
    assert waiter.failed(_status_error(500), now=30.0).sleep == 3  # backoff of poll 2
    with pytest.raises(InternalServerError):
        waiter.failed(_status_error(503), now=33.0)  # the third in a row


def test_waiter_raises_what_is_not_retryable() -> None:
    waiter = BatchWaiter("msgbatch_1", WaitPolicy(), now=0.0)
    error = _status_error(404)
    with pytest.raises(NotFoundError) as info:
        waiter.failed(error, now=0.0)
    assert info.value is error


def test_waiter_deadline_error_names_the_batch_and_status() -> None:
    waiter = BatchWaiter("msgbatch_1", WaitPolicy(poll_interval=5, deadline=10), now=100.0)
    waiter.polled(_batch("in_progress"), now=100.0)
    with pytest.raises(BatchWaitTimeout, match=r"msgbatch_1.*in_progress") as info:
        waiter.polled(_batch("in_progress"), now=110.0)
    assert info.value.which == "deadline"
    assert info.value.batch is not None
