"""Message Batches on the Trio client, against the fake batch endpoints on loopback."""

from __future__ import annotations

import collections
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing

import trio_msgstream as tms
from trio_msgstream.batches import (
    AsyncBatches,
    BatchLimitError,
    BatchNotEndedError,
    BatchResultsError,
    BatchUploadError,
    BatchWaitTimeout,
    DeletedMessageBatch,
    MessageBatchErroredResult,
    MessageBatchIndividualResponse,
    MessageBatchSucceededResult,
)
from trio_msgstream.testing import FakeBatches, ScriptedResponse, open_fake_anthropic

MODEL = "claude-sonnet-5-5"


def params(i: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"Say item number {i}"}],
    }


@asynccontextmanager
async def batch_env(**fake_kwargs: Any) -> AsyncIterator[tuple[FakeBatches, tms.AsyncClient]]:
    async with open_fake_anthropic() as server:
        fake = FakeBatches(server, **fake_kwargs)
        async with tms.AsyncClient(base_url=server.base_url, api_key="sk-test") as client:
            yield fake, client


def batch_requests_of(fake: FakeBatches, method: str, suffix: str = "") -> list[Any]:
    return [
        r
        for r in fake.server.requests
        if r.method == method
        and r.path.startswith("/v1/messages/batches")
        and r.path.endswith(suffix)
    ]


async def drain(results: AsyncIterator[MessageBatchIndividualResponse], into: list[str]) -> None:
    async for result in results:
        into.append(result.custom_id)


async def test_ten_thousand_requests_split_uploaded_polled_and_streamed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    kinds = ["succeeded", "errored", "canceled", "expired"]
    with trio.fail_after(600):  # virtual seconds
        async with batch_env(polls_until_ended=3) as (fake, client):
            for i in range(10_000):
                if i % 10 < 3:
                    fake.outcomes[f"item-{i}"] = kinds[1 + i % 10]  # type: ignore[assignment]
            items = {f"item-{i}": params(i) for i in range(10_000)}
            created = await client.messages.batches.create_many(items, max_requests=3_000)
            assert [b.request_counts.processing for b in created] == [3000, 3000, 3000, 1000]
            uploads = batch_requests_of(fake, "POST")
            assert [len(r.json["requests"]) for r in uploads] == [3000, 3000, 3000, 1000]
            assert uploads[0].json["requests"][0] == {"custom_id": "item-0", "params": params(0)}

            seen: collections.Counter[str] = collections.Counter()
            ids: set[str] = set()
            for batch in created:
                start = trio.current_time()
                ended = await client.messages.batches.wait(batch.id, poll_interval=10)
                # polls at 0, 10 and 25 s (the interval grows by half): ended on the third
                assert trio.current_time() - start == pytest.approx(25)
                assert ended.ended
                assert ended.results_url
                assert ended.request_counts.processing == 0
                async with client.messages.batches.results(batch.id) as results:
                    async for result in results:
                        seen[result.result.type] += 1
                        ids.add(result.custom_id)
                        if isinstance(result.result, MessageBatchSucceededResult):
                            text = result.result.message.content[0].text  # type: ignore[union-attr]
                            assert text.startswith(f"Reply to {result.custom_id}")
                        if isinstance(result.result, MessageBatchErroredResult):
                            assert result.result.error.error.type == "invalid_request_error"
            assert ids == set(items)
            assert seen == {"succeeded": 7000, "errored": 1000, "canceled": 1000, "expired": 1000}
            assert len(batch_requests_of(fake, "GET", "/results")) == 4


async def test_results_forms_await_and_plain_iteration() -> None:
    with trio.fail_after(20):
        async with batch_env(polls_until_ended=0) as (fake, client):
            fake.outcomes.update({"b": "errored", "c": "canceled", "d": "expired"})
            batch = await client.messages.batches.create(
                requests=[{"custom_id": k, "params": params(0)} for k in "abcd"]
            )
            kinds = {
                r.custom_id: r.result.type async for r in client.messages.batches.results(batch.id)
            }
            assert kinds == {"a": "succeeded", "b": "errored", "c": "canceled", "d": "expired"}
            results = await client.messages.batches.results(batch.id)
            assert [r.custom_id async for r in results] == list("abcd")


async def test_results_of_a_batch_in_progress_is_a_clear_error() -> None:
    with trio.fail_after(20):
        async with batch_env(polls_until_ended=5) as (fake, client):
            batch = await client.messages.batches.create(requests={"a": params(0)})
            with pytest.raises(BatchNotEndedError, match="in_progress") as info:
                async for _ in client.messages.batches.results(batch.id):
                    pass
            assert info.value.batch.id == batch.id
            assert not batch_requests_of(fake, "GET", "/results")
            # The fake answers a direct request as the API does.
            async with httpx.AsyncClient(base_url=fake.server.base_url) as raw:
                response = await raw.get(f"/v1/messages/batches/{batch.id}/results")
            assert response.status_code == 400
            assert response.json()["error"]["type"] == "invalid_request_error"


async def test_cancelling_a_results_download_releases_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with batch_env(polls_until_ended=0, reply=lambda cid, p: "y" * 70_000) as (
            fake,
            client,
        ):
            fake.results_chunk_delay = 10  # one 70 kB line per piece, 10 s apart
            batch = await client.messages.batches.create(
                requests={f"r-{i}": params(i) for i in range(5)}
            )
            got: list[str] = []
            with trio.move_on_after(25) as scope:
                async with client.messages.batches.results(batch.id) as results:
                    await drain(results, got)
            assert scope.cancelled_caught
            assert got == ["r-0", "r-1", "r-2"]  # sent at 0, 10 and 20 s
            # The download was closed on the way out: nothing more comes from it, and
            # the client works on (a leaked response would warn: warnings are errors).
            assert [r.custom_id async for r in results] == []
            assert (await client.messages.batches.retrieve(batch.id)).ended


async def test_unknown_batch_id_is_not_found() -> None:
    with trio.fail_after(20):
        async with batch_env() as (_fake, client):
            batches = client.messages.batches
            with pytest.raises(tms.NotFoundError):
                await batches.retrieve("msgbatch_nope")
            with pytest.raises(tms.NotFoundError):
                await batches.wait("msgbatch_nope")
            with pytest.raises(tms.NotFoundError):
                await batches.cancel("msgbatch_nope")
            with pytest.raises(tms.NotFoundError):
                async for _ in batches.results("msgbatch_nope"):
                    pass


async def test_malformed_line_keeps_the_results_before_it() -> None:
    with trio.fail_after(20):
        async with batch_env(polls_until_ended=0) as (fake, client):
            batch = await client.messages.batches.create(
                requests={k: params(0) for k in ("a", "b", "c", "d")}
            )
            good = [fake.result_line(fake.batches[batch.id], i) for i in range(4)]
            fake.set_results(
                batch.id, [good[0], good[1], b'{"custom_id":"c","result":{"type":', good[3]]
            )
            got: list[str] = []
            async with client.messages.batches.results(batch.id) as results:
                with pytest.raises(BatchResultsError) as info:
                    await drain(results, got)
                assert got == ["a", "b"]
                assert (info.value.line_number, info.value.custom_id) == (3, "c")
                # Inside ``async with`` the download stays open: the lines after it follow.
                assert [r.custom_id async for r in results] == ["d"]


async def test_cancel_ends_the_batch_with_canceled_requests(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with batch_env(polls_until_ended=4) as (_fake, client):
            batches = client.messages.batches
            batch = await batches.create(requests={f"r-{i}": params(i) for i in range(8)})
            assert (await batches.retrieve(batch.id)).processing_status == "in_progress"
            canceling = await batches.cancel(batch.id)
            assert canceling.processing_status == "canceling"
            assert canceling.cancel_initiated_at is not None
            ended = await batches.wait(batch.id, poll_interval=1)
            assert ended.ended
            # One poll of four had passed: a quarter processed, the rest canceled.
            assert ended.request_counts.succeeded == 2
            assert ended.request_counts.canceled == 6
            kinds = collections.Counter([r.result.type async for r in batches.results(batch.id)])
            assert kinds == {"succeeded": 2, "canceled": 6}


async def test_delete_only_once_ended() -> None:
    with trio.fail_after(20):
        async with batch_env(polls_until_ended=1) as (_fake, client):
            batches = client.messages.batches
            batch = await batches.create(requests={"a": params(0)})
            with pytest.raises(tms.BadRequestError, match="has not ended"):
                await batches.delete(batch.id)
            await batches.wait(batch.id)
            deleted = await batches.delete(batch.id)
            assert deleted == DeletedMessageBatch(id=batch.id)
            with pytest.raises(tms.NotFoundError):
                await batches.retrieve(batch.id)


async def test_list_follows_the_pages() -> None:
    with trio.fail_after(20):
        async with batch_env() as (fake, client):
            batches = client.messages.batches
            made = [(await batches.create(requests={"a": params(i)})).id for i in range(5)]
            newest_first = made[::-1]
            assert [b.id async for b in batches.list(limit=2)] == newest_first
            pages = [page async for page in batches.list(limit=2).pages()]
            assert [[b.id for b in p.data] for p in pages] == [
                newest_first[0:2],
                newest_first[2:4],
                newest_first[4:5],
            ]
            assert [p.has_more for p in pages] == [True, True, False]
            listed = batch_requests_of(fake, "GET")
            assert [r.query for r in listed[-3:]] == [
                "limit=2",
                f"limit=2&after_id={newest_first[1]}",
                f"limit=2&after_id={newest_first[3]}",
            ]
            after = [b.id async for b in batches.list(after_id=newest_first[2])]
            assert after == newest_first[3:]


async def test_wait_honours_retry_after(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with batch_env(polls_until_ended=2) as (fake, client):
            batch = await client.messages.batches.create(requests={"a": params(0)})
            fake.fail_next(
                1,
                ScriptedResponse.error(529, "overloaded_error", headers=[("retry-after", "42")]),
                endpoint="retrieve",
                after=1,
            )
            start = trio.current_time()
            polls: list[str] = []
            ended = await client.messages.batches.wait(
                batch.id,
                poll_interval=5,
                max_retries=0,
                on_poll=lambda b: polls.append(b.processing_status),
            )
            # poll at 0 (in progress), at 5 (529, retry-after 42), at 47 (ended)
            assert trio.current_time() - start == pytest.approx(47)
            assert polls == ["in_progress", "ended"]
            assert ended.ended


async def test_wait_gives_up_after_repeated_failures(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with batch_env(polls_until_ended=2) as (fake, client):
            batch = await client.messages.batches.create(requests={"a": params(0)})
            fake.fail_next(9, ScriptedResponse.error(529, "overloaded_error"), endpoint="retrieve")
            with pytest.raises(tms.OverloadedError):
                await client.messages.batches.wait(
                    batch.id, poll_interval=1, max_retries=0, max_poll_failures=2
                )
            assert len(batch_requests_of(fake, "GET", batch.id)) == 3


async def test_wait_deadline(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with batch_env(polls_until_ended=1000) as (_fake, client):
            batch = await client.messages.batches.create(requests={"a": params(0)})
            start = trio.current_time()
            with pytest.raises(BatchWaitTimeout) as info:
                await client.messages.batches.wait(batch.id, poll_interval=10, deadline=100)
            assert trio.current_time() - start == pytest.approx(100)
            assert info.value.which == "deadline"
            assert info.value.batch is not None
            assert info.value.batch.processing_status == "in_progress"
            assert isinstance(info.value, tms.APITimeoutError)


async def test_wait_is_cancellable_by_scope(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with batch_env(polls_until_ended=1000) as (fake, client):
            batch = await client.messages.batches.create(requests={"a": params(0)})
            with trio.move_on_after(30) as scope:
                await client.messages.batches.wait(batch.id, poll_interval=10)
            assert scope.cancelled_caught
            polls_then = len(batch_requests_of(fake, "GET", batch.id))
            await trio.sleep(100)
            assert len(batch_requests_of(fake, "GET", batch.id)) == polls_then


async def test_limits_are_checked_before_upload() -> None:
    with trio.fail_after(20):
        async with batch_env() as (fake, client):
            batches = client.messages.batches
            with pytest.raises(BatchLimitError, match="twice"):
                await batches.create(requests=[("a", params(0)), ("a", params(1))])
            with pytest.raises(BatchLimitError, match="alone takes"):
                await batches.create_many({"a": params(0), "b": params(1)}, max_bytes=50)
            with pytest.raises(BatchLimitError, match="at least one"):
                await batches.create(requests=[])
            assert fake.server.requests == []


async def test_a_failed_upload_keeps_the_batches_created() -> None:
    with trio.fail_after(20):
        async with batch_env() as (fake, client):
            fake.fail_next(
                1, ScriptedResponse.error(400, "invalid_request_error"), endpoint="create", after=1
            )
            items = {f"r-{i}": params(i) for i in range(5)}
            with pytest.raises(BatchUploadError) as info:
                await client.messages.batches.create_many(items, max_requests=2)
            assert len(info.value.created) == 1
            assert [[r["custom_id"] for r in part] for part in info.value.remaining] == [
                ["r-2", "r-3"],
                ["r-4"],
            ]
            assert isinstance(info.value.__cause__, tms.BadRequestError)


async def test_beta_namespace_sends_betas_as_the_header_only() -> None:
    # As the official SDK: no ``?beta=true`` in the URL, only the anthropic-beta header.
    with trio.fail_after(20):
        async with batch_env(polls_until_ended=0) as (fake, client):
            beta = client.beta.messages.batches
            batch = await beta.create(requests={"a": params(0)}, betas=["some-beta-2025"])
            await beta.retrieve(batch.id, betas=["some-beta-2025", "other-beta"])
            results = beta.results(batch.id, betas=["some-beta-2025"])
            assert [r.custom_id async for r in results] == ["a"]
            assert [b.id async for b in beta.list(betas=["some-beta-2025"])] == [batch.id]
            await beta.delete(batch.id)
            sent = [r for r in fake.server.requests if r.path.startswith("/v1/messages/batches")]
            assert len(sent) == 6  # create, retrieve, retrieve + results, list, delete
            assert [r.query for r in sent] == ["", "", "", "", "", ""]
            assert [r.header("anthropic-beta") for r in sent] == [
                "some-beta-2025",
                "some-beta-2025,other-beta",
                "some-beta-2025",
                "some-beta-2025",
                "some-beta-2025",
                None,
            ]
            assert isinstance(beta, AsyncBatches)


async def test_per_request_options_and_unknown_keywords() -> None:
    with trio.fail_after(20):
        async with batch_env() as (fake, client):
            batch = await client.messages.batches.create(
                requests={"a": params(0)}, extra_headers={"x-trace": "t1"}
            )
            assert batch_requests_of(fake, "POST")[0].header("x-trace") == "t1"
            with pytest.raises(TypeError, match="nonsense"):
                await client.messages.batches.retrieve(batch.id, nonsense=1)


@pytest.mark.slow
async def test_memory_stays_flat_while_reading_100_mb_of_results() -> None:
    size = 1_000
    text = "x" * 100_000  # 1,000 lines of 100 kB: 100 MB of results

    with trio.fail_after(120):
        async with batch_env(polls_until_ended=0, reply=lambda cid, p: text) as (_fake, client):
            batch = await client.messages.batches.create(
                requests={f"r-{i}": params(i) for i in range(size)}
            )
            total = 0
            count = 0
            tracemalloc.start()
            try:
                async with client.messages.batches.results(batch.id) as results:
                    async for result in results:
                        count += 1
                        assert isinstance(result.result, MessageBatchSucceededResult)
                        total += len(result.result.message.content[0].text)  # type: ignore[union-attr]
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert count == size
            assert total == size * len(text)  # 100 MB of text went through
            assert peak < 4_000_000, f"peak {peak / 1e6:.1f} MB"
