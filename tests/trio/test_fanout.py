"""Fan-out: many streams under one scope, against the loopback fake server."""

from __future__ import annotations

import dataclasses
import datetime
import gc
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import outcome
import pytest
import trio
import trio.testing

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    RecordedRequest,
    ScriptedResponse,
    default_responder,
    open_fake_anthropic,
    text_response,
)

MODEL = "claude-sonnet-5-5"
EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "fan_out.py"


def prompt(i: int) -> str:
    return f"Say item number {i}"


def expected_text(i: int) -> str:
    # The fake server's deterministic reply to prompt(i).
    return (
        f'Item number {i}! You wrote 4 words: "Say item number {i}". '
        "This is a deterministic reply from the trio_msgstream fake server. Have a great day!"
    )


def params(i: int, max_tokens: int = 200) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt(i)}],
    }


def item_of(request: RecordedRequest) -> int:
    content = request.json["messages"][-1]["content"]
    match = re.fullmatch(r"Say item number (\d+)", content)
    assert match is not None, content
    return int(match.group(1))


def text_of(result: tms.FanOutResult) -> str:
    message = result.message
    assert message is not None, result.error
    return "".join(b.text for b in message.content if isinstance(b, tms.TextBlock))


def slowed(delay: float, inner: Callable[[RecordedRequest], ScriptedResponse] = default_responder):
    """A responder: the default reply, with ``delay`` seconds between network chunks."""

    def responder(request: RecordedRequest) -> ScriptedResponse:
        return dataclasses.replace(inner(request), chunk_delay=delay)

    return responder


@asynccontextmanager
async def fake_and_client(
    responder: Callable[[RecordedRequest], ScriptedResponse] | None = None,
    *,
    max_connections: int = 100,
    max_retries: int = 2,
) -> AsyncIterator[tuple[FakeAnthropicServer, tms.AsyncClient]]:
    async with open_fake_anthropic(responder=responder) as server:
        http = httpx.AsyncClient(
            timeout=None,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
        )
        async with http:
            client = tms.AsyncClient(
                base_url=server.base_url,
                api_key="test-key",
                http_client=http,
                max_retries=max_retries,
            )
            yield server, client


def fanout_tasks() -> list[str]:
    """Names of the library's tasks still alive anywhere in this run."""
    root = trio.lowlevel.current_root_task()
    names: list[str] = []
    stack = [root]
    while stack:
        task = stack.pop()
        if task.name.startswith("trio_msgstream.") and not task.name.startswith(
            "trio_msgstream.testing"
        ):
            names.append(task.name)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return names


async def wait_until(predicate: Callable[[], bool], step: float = 0.005) -> None:
    # Polls counters of the fake server, which has no event to wait on.
    while not predicate():  # noqa: ASYNC110
        await trio.sleep(step)


# -- the required tests ------------------------------------------------------------


@pytest.mark.slow
async def test_500_items_with_max_concurrency_10(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):  # virtual seconds
        async with fake_and_client(slowed(0.01)) as (server, client):
            results: dict[int, tms.FanOutResult] = {}
            async with tms.open_fan_out(client, max_concurrency=10) as fan:

                async def submit_all() -> None:
                    for i in range(500):
                        await fan.submit(i, **params(i))
                    fan.done_submitting()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(submit_all)
                    async for result in fan.results():
                        assert result.key not in results  # each exactly once
                        results[result.key] = result  # type: ignore[index]
                        assert fan.statistics().running <= 10

            assert server.max_concurrent_requests == 10
            assert len(server.requests) == 500
            assert sorted(item_of(r) for r in server.requests) == list(range(500))
            assert sorted(results) == list(range(500))
            for i, result in results.items():
                assert result.ok
                assert result.error is None
                assert isinstance(result.outcome, outcome.Value)
                assert text_of(result) == expected_text(i)
                metrics = result.metrics
                assert metrics.retries == 0
                assert metrics.usage is not None
                assert metrics.usage.output_tokens > 0
                assert metrics.time_to_first_byte is not None
                assert metrics.time_to_first_text is not None
                assert 0 <= metrics.time_to_first_byte <= metrics.time_to_first_text
                assert metrics.time_to_first_text <= metrics.duration
                assert metrics.events > 10
            stats = fan.statistics()
            assert (stats.submitted, stats.finished, stats.running, stats.queued) == (
                500,
                500,
                0,
                0,
            )
            assert server.active_requests == 0


def failing_item_7(kind: str) -> Callable[[RecordedRequest], ScriptedResponse]:
    def responder(request: RecordedRequest) -> ScriptedResponse:
        reply = dataclasses.replace(default_responder(request), chunk_delay=0.05)
        if item_of(request) != 7:
            return reply
        if kind == "status":
            return ScriptedResponse.error(400, "invalid_request_error", "item 7 is not welcome")
        return ScriptedResponse.error_event_after(6, reply, "invalid_request_error", "nope")

    return responder


@pytest.mark.parametrize("kind", ["status", "mid_stream"])
async def test_collect_policy_keeps_going(
    autojump_clock: trio.testing.MockClock, kind: str
) -> None:
    with trio.fail_after(600):
        async with fake_and_client(failing_item_7(kind), max_retries=0) as (server, client):
            async with tms.open_fan_out(client, max_concurrency=4) as fan:
                for i in range(20):
                    await fan.submit(i, **params(i))
                results = await fan.gather()
            assert sorted(results) == list(range(20))  # type: ignore[type-var]
            failed = results[7]
            assert not failed.ok
            assert failed.message is None
            assert isinstance(failed.error, tms.BadRequestError)
            assert isinstance(failed.outcome, outcome.Error)
            if kind == "mid_stream":
                assert failed.error.partial_message is not None
                assert failed.metrics.time_to_first_text is not None
            for i in range(20):
                if i != 7:
                    assert text_of(results[i]) == expected_text(i)
            assert server.active_requests == 0


@pytest.mark.parametrize("kind", ["status", "mid_stream"])
async def test_cancel_policy_raises_the_failure_itself(
    autojump_clock: trio.testing.MockClock, kind: str
) -> None:
    with trio.fail_after(600):
        async with fake_and_client(failing_item_7(kind), max_retries=0) as (server, client):
            seen: list[tms.FanOutResult] = []
            handles: list[tms.FanOutHandle] = []

            async def run() -> None:
                async with tms.open_fan_out(client, max_concurrency=4, on_error="cancel") as fan:
                    for i in range(20):
                        handles.append(await fan.submit(i, **params(i)))
                    fan.done_submitting()
                    async for result in fan.results():
                        seen.append(result)
                    pytest.fail("the failure of item 7 must cancel the body")

            with pytest.raises(tms.BadRequestError) as excinfo:
                await run()
            assert type(excinfo.value) is tms.BadRequestError  # not an ExceptionGroup
            assert "item 7" in str(excinfo.value) or kind == "mid_stream"
            assert all(r.ok for r in seen)
            # Siblings in flight were cancelled, later ones never started.
            assert len(seen) < 19
            assert len(server.requests) < 20
            assert fanout_tasks() == []
            for handle in handles:
                if handle.stream is not None:
                    assert handle.stream.statistics().finished
            await wait_until(lambda: server.active_requests == 0)


@pytest.mark.parametrize(
    ("status", "error_type", "header"),
    [
        (429, "rate_limit_error", ("retry-after", "2")),
        (529, "overloaded_error", ("retry-after-ms", "2000")),
    ],
)
async def test_429_retry_after_pauses_every_new_start(
    autojump_clock: trio.testing.MockClock, status: int, error_type: str, header: tuple[str, str]
) -> None:
    arrivals: list[tuple[float, int]] = []
    limited = False

    def responder(request: RecordedRequest) -> ScriptedResponse:
        nonlocal limited
        i = item_of(request)
        arrivals.append((trio.current_time(), i))
        if i == 2 and not limited:
            limited = True
            return ScriptedResponse.error(status, error_type, headers=[header])
        # Each reply takes ~0.5 s, so slots free up during the pause.
        return text_response(f"reply {i}", chunk_delay=0.1)

    with trio.fail_after(600):
        async with fake_and_client(responder) as (server, client):
            async with tms.open_fan_out(client, max_concurrency=4) as fan:
                for i in range(12):
                    await fan.submit(i, **params(i))
                results = await fan.gather()

            assert all(r.ok for r in results.values())
            assert results[2].metrics.retries == 1
            assert len(server.requests) == 13
            t429 = next(t for t, i in arrivals if i == 2)
            later = [(t - t429, i) for t, i in arrivals if t > t429]
            # Other items finished during the pause, but nothing new started until 2 s.
            assert later, arrivals
            assert all(dt >= 2.0 for dt, _ in later), later
            assert min(dt for dt, _ in later) == pytest.approx(2.0, abs=0.05)
            # Without the pause items 4.. would have started at ~0.5 s.
            assert any(r.metrics.queued >= 2.0 for k, r in results.items() if k != 2)


async def test_cancelling_the_group_mid_flight_leaks_nothing() -> None:
    def responder(request: RecordedRequest) -> ScriptedResponse:
        # A few events, then hang until the client goes away.
        return dataclasses.replace(
            default_responder(request), stall_after_bytes=600, stall_seconds=float("inf")
        )

    with trio.fail_after(20):
        async with fake_and_client(responder) as (server, client):
            handles: list[tms.FanOutHandle] = []
            ended: list[int] = []

            class Tracking(tms.MessageStream):
                async def on_end(self) -> None:
                    ended.append(1)

            async def run_and_cancel(scope: trio.CancelScope) -> None:
                async with tms.open_fan_out(client, max_concurrency=8, max_pending=12) as fan:
                    for i in range(20):  # 8 running, 1 held by the dispatcher, 11 queued
                        handles.append(await fan.submit(i, event_handler=Tracking, **params(i)))
                    await wait_until(lambda: server.active_requests == 8)
                    await wait_until(lambda: sum(h.stream is not None for h in handles) == 8)
                    assert len(fanout_tasks()) > 8
                    scope.cancel()
                    await trio.sleep_forever()

            escaped: list[BaseException] = []
            with trio.CancelScope() as scope:
                try:
                    await run_and_cancel(scope)
                except BaseException as exc:
                    escaped.append(exc)
                    raise
            assert scope.cancelled_caught
            # The enclosing scope's Cancelled leaves as itself, not as a group.
            assert [type(e) for e in escaped] == [trio.Cancelled]
            # Deterministic: nothing of the fan-out outlives the block.
            assert fanout_tasks() == []
            started = [h for h in handles if h.stream is not None]
            assert len(started) == 8
            assert all(h.stream.statistics().finished for h in started)  # type: ignore[union-attr]
            assert len(ended) == 8  # on_end ran once per started stream
            assert all(h.result is None for h in handles)
            await wait_until(lambda: server.active_requests == 0)
        gc.collect()  # a leaked response or socket would warn (warnings are errors)


@pytest.mark.slow
async def test_1000_concurrent_streams_on_one_loop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def responder(request: RecordedRequest) -> ScriptedResponse:
        return text_response(f"ok {item_of(request)}", chunk_delay=0.5)

    with trio.fail_after(600):
        async with fake_and_client(responder, max_connections=1000) as (server, client):
            async with tms.open_fan_out(client, max_concurrency=1000) as fan:
                for i in range(1000):
                    await fan.submit(i, **params(i, max_tokens=16))
                results = await fan.gather()
            assert len(results) == 1000
            for i, result in results.items():
                assert text_of(result) == f"ok {i}"
            assert len(server.requests) == 1000
            assert server.max_concurrent_requests > 900


# -- handles, events, budgets ---------------------------------------------------------------


async def test_handle_cancel_running_and_queued(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with fake_and_client(slowed(0.1)) as (server, client):
            async with tms.open_fan_out(client, max_concurrency=2, max_pending=10) as fan:
                handles = [await fan.submit(i, **params(i)) for i in range(6)]
                running = handles[0]
                stream = await running.wait_started()
                assert stream is not None
                assert running.stream is stream
                async with running.open_text_stream() as texts:
                    first = await texts.__anext__()
                assert first
                await running.cancel()
                queued = handles[5]
                assert queued.stream is None
                await queued.cancel()
                await queued.cancel()  # idempotent
                assert await queued.wait_started() is None
                results = await fan.gather()
            assert results[0].cancelled
            assert results[5].cancelled
            cancelled = results[0].error
            assert isinstance(cancelled, tms.FanOutCancelled)
            assert isinstance(cancelled, tms.MsgStreamError)
            assert cancelled.key == 0
            assert cancelled.partial_message is not None
            assert results[5].error.partial_message is None  # type: ignore[union-attr]
            assert stream.statistics().finished
            for i in (1, 2, 3, 4):
                assert text_of(results[i]) == expected_text(i)
            assert await handles[1].wait() is results[1]
            assert len(server.requests) == 5  # item 5 never started


async def test_cancel_policy_ignores_handle_cancellation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with fake_and_client(slowed(0.1)) as (_, client):
            async with tms.open_fan_out(client, max_concurrency=3, on_error="cancel") as fan:
                handles = [await fan.submit(i, **params(i)) for i in range(3)]
                await handles[1].wait_started()
                await handles[1].cancel()
                results = await fan.gather()
            assert results[1].cancelled
            assert results[0].ok
            assert results[2].ok


async def test_open_events_follows_live_and_handlers_run() -> None:
    texts: list[str] = []

    class Collect(tms.MessageStream):
        async def on_text(self, text: str, snapshot: str) -> None:
            texts.append(text)

    with trio.fail_after(20):
        async with fake_and_client(slowed(0.01)) as (_, client):
            async with tms.open_fan_out(client) as fan:
                handle = await fan.submit("a", event_handler=Collect, **params(1))
                await handle.wait_started()
                async with handle.open_events() as events:
                    seen = [event async for event in events]
                result = await handle.wait()
                fan.done_submitting()
            assert result is not None
            assert "".join(texts) == expected_text(1) == text_of(result)
            assert seen
            assert seen[-1].type == "message_stop"
            assert result.metrics.events >= len(seen)
            async with handle.open_events() as events:  # after the end: empty
                assert [e async for e in events] == []


async def test_submit_validation_and_backpressure() -> None:
    with trio.fail_after(20):
        async with fake_and_client(slowed(0.005)) as (_, client):
            async with tms.open_fan_out(client, max_concurrency=1, max_pending=1) as fan:
                await fan.submit("a", **params(1))
                with pytest.raises(ValueError, match="already submitted"):
                    await fan.submit("a", **params(1))
                with pytest.raises(TypeError):
                    await fan.submit("b", event_handler=int, **params(1))  # type: ignore[arg-type]
                await fan.submit("b", **params(2))
                await fan.submit("c", **params(3))
                await trio.testing.wait_all_tasks_blocked()
                # "a" runs, the dispatcher holds "b" waiting for a slot, "c" fills the queue.
                assert fan.statistics().running == 1
                with trio.move_on_after(0.01) as blocked:
                    await fan.submit("d", **params(4))  # waits: the queue is full
                assert blocked.cancelled_caught
                assert fan.statistics().submitted == 3  # "d" was not queued
                fan.done_submitting()
                with pytest.raises(RuntimeError):
                    await fan.submit("e", **params(5))
                results = await fan.gather()
            assert sorted(results) == ["a", "b", "c"]  # type: ignore[type-var]
    for bad in ({"max_concurrency": 0}, {"max_pending": -1}, {"on_error": "explode"}):
        with pytest.raises(ValueError, match="must be"):
            async with tms.open_fan_out(client, **bad):  # type: ignore[arg-type]
                pass


class Picky(tms.MessageStream):
    """A handler that fails on item 3's text."""

    async def on_text(self, text: str, snapshot: str) -> None:
        if "number 3" in snapshot:
            raise ValueError("handler does not like item 3")


async def test_handler_exception_is_the_item_error() -> None:
    with trio.fail_after(20):
        async with fake_and_client() as (_, client):
            async with tms.open_fan_out(client, max_concurrency=3) as fan:
                for i in range(6):
                    await fan.submit(i, event_handler=Picky, **params(i))
                results = await fan.gather()
            assert isinstance(results[3].error, ValueError)
            assert [k for k, r in results.items() if not r.ok] == [3]

            async def run() -> None:
                async with tms.open_fan_out(client, max_concurrency=3, on_error="cancel") as fan:
                    for i in range(6):
                        await fan.submit(i, event_handler=Picky, **params(i))

            with pytest.raises(ValueError, match="item 3") as excinfo:
                await run()
            assert type(excinfo.value) is ValueError
            assert fanout_tasks() == []


async def test_body_exception_cancels_items_and_comes_out_unwrapped() -> None:
    def responder(request: RecordedRequest) -> ScriptedResponse:
        return dataclasses.replace(
            default_responder(request), stall_after_bytes=600, stall_seconds=float("inf")
        )

    with trio.fail_after(20):
        async with fake_and_client(responder) as (server, client):

            async def run() -> None:
                async with tms.open_fan_out(client, max_concurrency=4) as fan:
                    for i in range(4):
                        await fan.submit(i, **params(i))
                    await wait_until(lambda: server.active_requests == 4)
                    raise KeyError("boom")

            with pytest.raises(KeyError, match="boom"):
                await run()
            assert fanout_tasks() == []
            await wait_until(lambda: server.active_requests == 0)


async def test_requests_per_minute_budget(autojump_clock: trio.testing.MockClock) -> None:
    arrivals: list[float] = []

    def responder(request: RecordedRequest) -> ScriptedResponse:
        arrivals.append(trio.current_time())
        return default_responder(request)

    with trio.fail_after(600):
        async with fake_and_client(responder) as (_, client):
            start = trio.current_time()
            async with tms.open_fan_out(client, max_concurrency=10, requests_per_minute=60) as fan:
                for i in range(70):
                    await fan.submit(i, **params(i))
                results = await fan.gather()
            assert all(r.ok for r in results.values())
            # A burst of 60, then one per second.
            assert sum(t - start < 1.0 for t in arrivals) == 60
            assert arrivals[-1] - start == pytest.approx(10.0, abs=0.2)


async def test_tokens_per_minute_budget_is_corrected_from_usage(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arrivals: list[float] = []

    def responder(request: RecordedRequest) -> ScriptedResponse:
        arrivals.append(trio.current_time())
        return default_responder(request)

    with trio.fail_after(600):
        async with fake_and_client(responder) as (_, client):
            start = trio.current_time()
            # Estimate per item: 1000 + ~body/4 tokens; real usage is ~40 tokens, so after
            # the first item completes and is corrected, the rest fit in the budget at once.
            async with tms.open_fan_out(client, max_concurrency=1, tokens_per_minute=1200) as fan:
                for i in range(5):
                    await fan.submit(i, **params(i, max_tokens=1000))
                results = await fan.gather()
            assert all(r.ok for r in results.values())
            assert arrivals[-1] - start < 1.0


async def test_ratelimit_headers_at_zero_pause_the_group(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arrivals: list[float] = []

    def responder(request: RecordedRequest) -> ScriptedResponse:
        arrivals.append(trio.current_time())
        reply = default_responder(request)
        if len(arrivals) == 1:
            reset = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
            stamp = reset.isoformat().replace("+00:00", "Z")
            reply = dataclasses.replace(
                reply,
                headers=[
                    *reply.headers,
                    ("anthropic-ratelimit-requests-remaining", "0"),
                    ("anthropic-ratelimit-requests-reset", stamp),
                    ("anthropic-ratelimit-requests-limit", "50"),
                ],
            )
        return reply

    with trio.fail_after(600):
        async with fake_and_client(responder) as (_, client):
            async with tms.open_fan_out(client, max_concurrency=1) as fan:
                for i in range(3):
                    await fan.submit(i, **params(i))
                results = await fan.gather()
                assert fan.rate_limit_headers["anthropic-ratelimit-requests-limit"] == "50"
            assert all(r.ok for r in results.values())
            # Wall-clock reset converted to a pause of ~5 s on the trio clock.
            assert 4.0 <= arrivals[1] - arrivals[0] <= 5.5


# -- the example -------------------------------------------------------------------------


@pytest.mark.slow  # starts a Python subprocess
async def test_example_runs_against_the_embedded_server() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY",)}
    env["PYTHONWARNINGS"] = "error"
    with trio.fail_after(60):
        done = await trio.run_process(
            [sys.executable, str(EXAMPLE), "-n", "4", "--plain"],
            capture_stdout=True,
            capture_stderr=True,
            env=env,
            check=False,
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    for i in range(4):
        assert re.search(rf"^\[prompt-{i}\] done \(\d+ chars\)", out, re.MULTILINE), out
        assert re.search(rf"^prompt-{i}\s+ok\s+\d+", out, re.MULTILINE), out
    assert "key" in out
    assert "ttft" in out
    assert "tokens" in out
