"""Message Batches on the sync client, against the fake batch endpoints in a thread."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest

import trio_msgstream as tms
import trio_msgstream._sync.batches as sync_batches
from trio_msgstream.batches import (
    Batches,
    BatchLimitError,
    BatchNotEndedError,
    BatchResultsError,
    BatchWaitTimeout,
    MessageBatchSucceededResult,
)
from trio_msgstream.testing import FakeBatches, ScriptedResponse, fake_anthropic_in_thread


def params(i: int) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-5-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"Say item number {i}"}],
    }


class FakeClock:
    """Stands in for time.monotonic/time.sleep in the sync driver: virtual time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(sync_batches, "_clock", fake.monotonic)
    monkeypatch.setattr(sync_batches, "_sleep", fake.sleep)
    return fake


@pytest.fixture
def env() -> Iterator[tuple[FakeBatches, tms.Client]]:
    with fake_anthropic_in_thread() as server:
        fake = FakeBatches(server, polls_until_ended=3)
        with tms.Client(base_url=server.base_url, api_key="sk-test") as client:
            yield fake, client


def test_ten_thousand_requests_split_waited_and_streamed(
    env: tuple[FakeBatches, tms.Client], clock: FakeClock
) -> None:
    fake, client = env
    kinds = ["errored", "canceled", "expired"]
    for i in range(0, 10_000, 7):
        fake.outcomes[f"item-{i}"] = kinds[i % 3]  # type: ignore[assignment]
    items = {f"item-{i}": params(i) for i in range(10_000)}
    created = client.messages.batches.create_many(items, max_requests=4_000)
    assert [b.request_counts.total for b in created] == [4000, 4000, 2000]
    counts: collections.Counter[str] = collections.Counter()
    ids = set()
    for batch in created:
        ended = client.messages.batches.wait(batch.id, poll_interval=10)
        assert ended.ended
        with client.messages.batches.results(batch.id) as results:
            for result in results:
                counts[result.result.type] += 1
                ids.add(result.custom_id)
    assert ids == set(items)
    special = len(range(0, 10_000, 7))
    assert counts["succeeded"] == 10_000 - special
    assert counts["errored"] + counts["canceled"] + counts["expired"] == special
    assert set(counts) == {"succeeded", "errored", "canceled", "expired"}
    assert clock.sleeps == [10, 15] * 3


def test_wait_deadline_and_retry_after(
    env: tuple[FakeBatches, tms.Client], clock: FakeClock
) -> None:
    fake, client = env
    fake.polls_until_ended = 1000
    batch = client.messages.batches.create(requests={"a": params(0)})
    fake.fail_next(
        1,
        ScriptedResponse.error(429, "rate_limit_error", headers=[("retry-after", "20")]),
        endpoint="retrieve",
    )
    with pytest.raises(BatchWaitTimeout) as info:
        client.messages.batches.wait(batch.id, poll_interval=5, deadline=50, max_retries=0)
    # 429 (retry-after 20), then the backoff of polls 2 and 3, then clamped to the deadline
    assert clock.sleeps == [20, 7.5, 11.25, 11.25]
    assert clock.now == 1050
    assert info.value.batch is not None
    assert not info.value.batch.ended


def test_results_every_kind_and_plain_iteration(env: tuple[FakeBatches, tms.Client]) -> None:
    fake, client = env
    fake.polls_until_ended = 0
    fake.outcomes.update({"b": "errored", "c": "canceled", "d": "expired"})
    batch = client.messages.batches.create(requests={k: params(0) for k in "abcd"})
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert {k: v.type for k, v in results.items()} == {
        "a": "succeeded",
        "b": "errored",
        "c": "canceled",
        "d": "expired",
    }
    assert isinstance(results["a"], MessageBatchSucceededResult)
    assert results["a"].message.content[0].text.startswith("Reply to a")  # type: ignore[union-attr]


def test_malformed_line(env: tuple[FakeBatches, tms.Client]) -> None:
    fake, client = env
    fake.polls_until_ended = 0
    batch = client.messages.batches.create(requests={k: params(0) for k in "abc"})
    good = [fake.result_line(fake.batches[batch.id], i) for i in range(3)]
    fake.set_results(batch.id, [good[0], b"{oops", good[2]])
    got = []
    with client.messages.batches.results(batch.id) as results:
        with pytest.raises(BatchResultsError) as info:
            got.extend(result.custom_id for result in results)
        assert [r.custom_id for r in results] == ["c"]
    assert got == ["a"]
    assert info.value.line_number == 2
    assert info.value.custom_id is None


def test_errors(env: tuple[FakeBatches, tms.Client]) -> None:
    _fake, client = env
    batches: Batches = client.messages.batches
    with pytest.raises(tms.NotFoundError):
        batches.retrieve("msgbatch_nope")
    batch = batches.create(requests={"a": params(0)})
    with pytest.raises(BatchNotEndedError):
        list(batches.results(batch.id))
    with pytest.raises(BatchLimitError, match="64"):
        batches.create(requests={"x" * 65: params(0)})
    with pytest.raises(tms.BadRequestError):
        batches.delete(batch.id)


def test_cancel_list_delete(env: tuple[FakeBatches, tms.Client], clock: FakeClock) -> None:
    _fake, client = env
    batches = client.messages.batches
    first = batches.create(requests={"a": params(0), "b": params(1)})
    second = batches.create(requests={"c": params(2)})
    assert batches.cancel(first.id).processing_status == "canceling"
    ended = batches.wait(first.id)
    assert ended.request_counts.canceled == 2
    assert [b.id for b in batches.list(limit=1)] == [second.id, first.id]
    assert len(list(batches.list(limit=1).pages())) == 2
    assert batches.delete(first.id).id == first.id
    assert [b.id for b in batches.list()] == [second.id]
