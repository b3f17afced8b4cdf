"""Cancellation and hygiene (issue 3).

Every way a stream can be abandoned (the enclosing scope cancelled, ``close()`` from
another task, ``close()`` twice, cancelling twice, a handler that raises, leaving the
``async with`` early) must end with: the producer finished, the response closed, the
connection released (the fake server sees no active request, the httpx pool no busy
connection), ``on_end`` called exactly once, no new task left behind, and no
``ResourceWarning`` (``filterwarnings = error`` plus an explicit ``gc.collect()``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from _failure_support import (
    busy_connections,
    collect_resource_warnings,
    fake_client,
    wait_server_idle,
)
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import FakeAnthropicServer, text_response

TEXT = " ".join(f"word{i}" for i in range(30))
FULL = text_response(TEXT)
N_EVENTS = len(FULL.network_chunks())
N_BYTES = len(FULL.body)

KINDS = [
    "cancel_scope",
    "close_other_task",
    "close_twice",
    "cancel_twice",
    "handler_raises",
    "leave_early",
]
BYTE_KINDS = ["cancel_scope", "close_other_task", "cancel_twice"]


class Boom(Exception):
    pass


class Tracked(tms.MessageStream):
    raise_at: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ends = 0
        self.seen = 0

    async def on_stream_event(self, event: Any) -> None:
        self.seen += 1
        if self.raise_at is not None and self.seen >= self.raise_at:
            raise Boom("handler failed")

    async def on_end(self) -> None:
        self.ends += 1


@dataclass
class Case:
    kind: str
    entry: str  # "manager" or "open"
    at_event: int | None  # act when the consumer has seen this many events
    stall_at: int | None  # or: the server stalls at this byte offset, act once all block


def task_names() -> list[str]:
    def walk(task: trio.lowlevel.Task) -> list[str]:
        names = [task.name]
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                names.extend(walk(child))
        return names

    return sorted(walk(trio.lowlevel.current_root_task()))


def count_tasks() -> int:
    """Tasks of the run but the fake server's per-connection handlers (a connection kept
    alive in the pool legitimately keeps one; connections are checked separately)."""
    return sum(1 for name in task_names() if not name.endswith("_run_handler"))


async def run_case(server: FakeAnthropicServer, client: tms.AsyncClient, case: Case) -> Tracked:
    """Run one abandoned stream; return it for the caller's checks."""
    if case.stall_at is not None:
        server.enqueue(text_response(TEXT, stall_after_bytes=case.stall_at, stall_seconds=math.inf))
    else:
        server.enqueue(text_response(TEXT))
    handler = type("Handler", (Tracked,), {"raise_at": None})
    if case.kind == "handler_raises":
        handler.raise_at = case.at_event
    holder: list[Tracked] = []
    ready = trio.Event()

    async def consume(stream: Tracked, scope: trio.CancelScope) -> None:
        holder.append(stream)
        ready.set()
        count = 0
        async for _ in stream:
            count += 1
            if case.at_event is None or count < case.at_event:
                continue
            if case.kind in ("cancel_scope", "cancel_twice"):
                scope.cancel()
                if case.kind == "cancel_twice":
                    scope.cancel()
                await trio.lowlevel.checkpoint()
            elif case.kind == "close_twice":
                await stream.close()
                await stream.close()
            elif case.kind == "close_other_task":
                ready.set()
                await trio.lowlevel.checkpoint()  # let the other task close it
            elif case.kind == "leave_early":
                break

    async def body(scope: trio.CancelScope) -> None:
        if case.entry == "manager":
            async with client.messages.stream(**PARAMS, event_handler=handler) as stream:
                await consume(stream, scope)
        else:
            async with trio.open_nursery() as nursery:
                async with tms.open_message_stream(
                    nursery, client, event_handler=handler, **PARAMS
                ) as stream:
                    await consume(stream, scope)

    scope = trio.CancelScope()
    async with trio.open_nursery() as outer:

        async def controller() -> None:
            if case.at_event is not None and case.kind != "close_other_task":
                return
            await ready.wait()
            if case.stall_at is not None:
                await trio.testing.wait_all_tasks_blocked()
            stream = holder[0]
            if case.kind == "close_other_task":
                await stream.close()
            else:
                scope.cancel()
                if case.kind == "cancel_twice":
                    scope.cancel()

        outer.start_soon(controller)
        try:
            with scope:
                await body(scope)
        except Boom:
            assert case.kind == "handler_raises"
        except BaseExceptionGroup as group:  # the caller's own nursery (entry "open")
            assert case.entry == "open"
            assert case.kind == "handler_raises"
            booms, rest = group.split(Boom)
            assert booms is not None
            assert rest is None
    return holder[0]


async def check_clean(
    server: FakeAnthropicServer, client: tms.AsyncClient, stream: Tracked
) -> None:
    stats = stream.statistics()
    assert stats.finished, "producer still running"
    response = stream.response
    assert response is None or response.is_closed, "response left open"
    assert stream.ends == 1, f"on_end called {stream.ends} times"
    await wait_server_idle(server)
    assert busy_connections(client) == 0


@pytest.mark.parametrize("entry", ["manager", "open"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("at_event", [1, 3, N_EVENTS - 1])
async def test_each_kind_at_an_event(kind: str, entry: str, at_event: int) -> None:
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            baseline = count_tasks()
            stream = await run_case(server, client, Case(kind, entry, at_event, None))
            await check_clean(server, client, stream)
            assert count_tasks() == baseline, " | ".join(task_names())
    assert collect_resource_warnings() == []


@pytest.mark.parametrize("entry", ["manager", "open"])
@pytest.mark.parametrize("kind", BYTE_KINDS)
@pytest.mark.parametrize("stall_at", [0, 17, N_BYTES // 2, N_BYTES - 3])
async def test_each_kind_while_reading(kind: str, entry: str, stall_at: int) -> None:
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            baseline = count_tasks()
            stream = await run_case(server, client, Case(kind, entry, None, stall_at))
            await check_clean(server, client, stream)
            assert count_tasks() == baseline, " | ".join(task_names())
    assert collect_resource_warnings() == []


async def test_close_after_success_and_after_failure() -> None:
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            async with client.messages.stream(**PARAMS, event_handler=Tracked) as stream:
                text = await stream.get_final_text()
                await stream.close()
                await stream.close()
            assert text
            assert isinstance(stream, Tracked)
            assert stream.ends == 1
            assert await stream.get_final_text() == text  # still readable after close
            await check_clean(server, client, stream)


async def test_close_before_reading_then_reading() -> None:
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            async with client.messages.stream(**PARAMS, event_handler=Tracked) as stream:
                await stream.close()
                assert [e async for e in stream] == []
                with pytest.raises(trio.ClosedResourceError):
                    await stream.get_final_message()
            assert isinstance(stream, Tracked)
            await check_clean(server, client, stream)


async def test_raw_stream_cancelled_and_closed() -> None:
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            for stall_at in (None, N_BYTES // 2):
                kw: dict[str, Any] = {}
                if stall_at is not None:
                    kw = {"stall_after_bytes": stall_at, "stall_seconds": math.inf}
                server.enqueue(text_response(TEXT, **kw))
                with trio.move_on_after(0.2):
                    async with await client.messages.create(stream=True, **PARAMS) as events:
                        async for event in events:
                            if event.type == "content_block_delta":
                                break
                        await events.close()
                        await events.close()
                assert events.response.is_closed
                await wait_server_idle(server)
                assert busy_connections(client) == 0
    assert collect_resource_warnings() == []


@pytest.mark.slow
async def test_a_thousand_random_cancellations() -> None:
    rng = random.Random(20261124)
    counts: dict[str, int] = {}
    with trio.fail_after(60):
        async with fake_client() as (server, client):
            baseline = count_tasks()
            for _ in range(1000):
                if rng.random() < 0.5:
                    kind = rng.choice(KINDS)
                    case = Case(
                        kind, rng.choice(["manager", "open"]), rng.randint(1, N_EVENTS), None
                    )
                else:
                    kind = rng.choice(BYTE_KINDS)
                    stall_at = rng.randrange(0, N_BYTES)
                    case = Case(kind, rng.choice(["manager", "open"]), None, stall_at)
                counts[kind] = counts.get(kind, 0) + 1
                stream = await run_case(server, client, case)
                await check_clean(server, client, stream)
                assert count_tasks() == baseline, case
            assert len(server.requests) == 1000
            assert server.active_requests == 0
    assert set(counts) == set(KINDS)
    assert collect_resource_warnings() == []


async def test_manager_lets_cancelled_out_as_itself() -> None:
    # An enclosing scope's cancellation cancels the manager's producer task too; what
    # leaves the ``async with`` is trio.Cancelled itself, never a group of one.
    caught: list[BaseException] = []
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            with trio.CancelScope() as scope:
                try:
                    async with client.messages.stream(**PARAMS) as stream:
                        async for _ in stream:
                            scope.cancel()
                            await trio.lowlevel.checkpoint()
                except BaseException as exc:
                    caught.append(exc)
                    raise
            assert scope.cancelled_caught
            await wait_server_idle(server)
    assert len(caught) == 1
    assert type(caught[0]) is trio.Cancelled


async def test_cancelled_while_stalled_from_outside() -> None:
    with trio.fail_after(10):
        async with fake_client() as (server, client):
            server.enqueue(text_response(TEXT, stall_after_bytes=40, stall_seconds=math.inf))
            caught: list[BaseException] = []
            with trio.move_on_after(0.05) as scope:
                try:
                    async with client.messages.stream(**PARAMS, event_handler=Tracked) as stream:
                        await stream.until_done()
                except BaseException as exc:
                    caught.append(exc)
                    raise
            assert scope.cancelled_caught
            assert [type(e) for e in caught] == [trio.Cancelled]
            assert isinstance(stream, Tracked)
            await check_clean(server, client, stream)
