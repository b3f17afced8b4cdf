"""Timeouts (issue 3): read, content_idle, deadline, and a float for every phase.

Virtual time: pytest-trio's ``autojump_clock`` jumps the clock whenever every task
(server and client run in the same trio run) is blocked, so a 600 s stall takes no
real time and the measured times are exact.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
from _failure_support import Recorder, fake_client, message_text
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, error_response, text_response

TEXT = "one two three four five six seven eight nine ten"


def boundary_after(script: ScriptedResponse, n_events: int) -> int:
    """Byte offset just after the first ``n_events`` SSE events of a script."""
    return sum(len(p) for p in script.network_chunks()[:n_events])


def stalled(n_events: int, **kw: Any) -> ScriptedResponse:
    """TEXT whose body stalls forever after ``n_events`` events."""
    full = text_response(TEXT)
    return text_response(
        TEXT, stall_after_bytes=boundary_after(full, n_events), stall_seconds=math.inf, **kw
    )


async def consume(stream: tms.MessageStream) -> list[str]:
    return [text async for text in stream.text_stream]


async def run_until_timeout(
    client: tms.AsyncClient, **kw: Any
) -> tuple[tms.APITimeoutError, Recorder, float, list[str]]:
    seen: list[str] = []
    streams: list[Recorder] = []

    async def read() -> None:
        async with client.messages.stream(**PARAMS, event_handler=Recorder, **kw) as stream:
            streams.append(stream)
            async for text in stream.text_stream:
                seen.append(text)

    start = trio.current_time()
    with pytest.raises(tms.APITimeoutError) as info:
        await read()
    return info.value, streams[0], trio.current_time() - start, seen


async def drain_raw(client: tms.AsyncClient) -> None:
    async with await client.messages.create(stream=True, **PARAMS) as events:
        async for _ in events:
            pass


def assert_timeout_callbacks(stream: Recorder) -> None:
    assert stream.calls == ["on_timeout", "on_exception:APITimeoutError", "on_end"]


async def test_read_timeout_no_bytes(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(5000):
        async with fake_client(timeout=tms.Timeout(read=30.0)) as (server, client):
            server.enqueue(stalled(5))  # message_start, block start, ping, "one", " two"
            exc, stream, elapsed, seen = await run_until_timeout(client)
            assert exc.which == "read"
            assert 30.0 <= elapsed < 30.5
            assert seen == ["one", " two"]
            assert message_text(exc.partial_message) == "one two"
            assert message_text(stream.current_message_snapshot) == "one two"
            assert_timeout_callbacks(stream)
            assert stream.exceptions == [exc]
            assert len(server.requests) == 1  # content was delivered: not retried
            assert stream.statistics().finished


async def test_read_timeout_before_content_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(5000):
        async with fake_client(timeout=tms.Timeout(read=30.0), max_retries=1) as (server, client):
            # Stall right after message_start: no content reached the consumer yet.
            server.enqueue(stalled(1), text_response(TEXT))
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == TEXT
            assert len(server.requests) == 2
            assert stream.retries == 1


async def test_content_idle_pings_do_not_reset_it(autojump_clock: trio.testing.MockClock) -> None:
    timeout = tms.Timeout(read=5.0, content_idle=60.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            # Pings every second keep the read timeout (5 s) happy forever.
            server.enqueue(stalled(5, stall_pings_every=1.0))
            events: list[str] = []

            class PingCounter(Recorder):
                async def on_stream_event(self, event: Any) -> None:
                    events.append(event.type)

            start = trio.current_time()
            with pytest.raises(tms.APITimeoutError) as info:
                async with client.messages.stream(**PARAMS, event_handler=PingCounter) as stream:
                    await stream.until_done()
            elapsed = trio.current_time() - start
            exc = info.value
            assert exc.which == "content_idle"
            assert 60.0 <= elapsed < 61.0
            assert message_text(exc.partial_message) == "one two"
            assert isinstance(stream, Recorder)
            assert_timeout_callbacks(stream)
            # The pings did reach the consumer (they are events), they just do not count.
            assert events.count("ping") >= 50


async def test_content_idle_ok_while_content_flows(autojump_clock: trio.testing.MockClock) -> None:
    # 6 s between events (12 s across the ping), content_idle 15 s: never fires.
    timeout = tms.Timeout(content_idle=15.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(text_response(TEXT, chunk_delay=6.0))
            start = trio.current_time()
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == TEXT
            assert trio.current_time() - start >= 80


async def test_content_idle_paused_for_slow_consumer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The consumer sleeps 100 s per event, much longer than content_idle; the
    # producer waiting on it is not an idle stream.
    timeout = tms.Timeout(content_idle=5.0)
    with trio.fail_after(50000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(text_response(TEXT))
            async with client.messages.stream(**PARAMS, max_buffer_size=1) as stream:
                texts = []
                async for text in stream.text_stream:
                    texts.append(text)
                    await trio.sleep(100)
            assert "".join(texts) == TEXT


async def test_deadline(autojump_clock: trio.testing.MockClock) -> None:
    timeout = tms.Timeout(deadline=25.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(text_response(TEXT, chunk_delay=10.0))
            exc, stream, elapsed, seen = await run_until_timeout(client)
            assert exc.which == "deadline"
            assert 25.0 <= elapsed < 25.5
            # Events at t=0 (message_start), 10 (block start), 20 (ping): no text yet.
            assert seen == []
            assert exc.partial_message is not None
            assert_timeout_callbacks(stream)
            assert len(server.requests) == 1  # the deadline is never retried


async def test_deadline_with_content(autojump_clock: trio.testing.MockClock) -> None:
    timeout = tms.Timeout(deadline=45.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(text_response(TEXT, chunk_delay=10.0))
            exc, stream, elapsed, seen = await run_until_timeout(client)
            assert exc.which == "deadline"
            assert 45.0 <= elapsed < 45.5
            assert seen == ["one", " two"]  # deltas at t=30 and t=40
            assert message_text(exc.partial_message) == "one two"
            assert_timeout_callbacks(stream)


async def test_deadline_covers_retries_and_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timeout = tms.Timeout(deadline=20.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout, max_retries=5) as (server, client):
            server.fail_first(
                10, error_response(529, "overloaded_error", headers=[("retry-after", "15")])
            )
            start = trio.current_time()
            with pytest.raises(tms.APITimeoutError) as info:
                async with client.messages.stream(**PARAMS) as stream:
                    await stream.until_done()
            assert info.value.which == "deadline"
            assert 20.0 <= trio.current_time() - start < 20.5
            assert len(server.requests) == 2  # t=0 and t=15


async def test_deadline_raw_stream(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(5000):
        async with fake_client(timeout=tms.Timeout(deadline=25.0)) as (server, client):
            server.enqueue(text_response(TEXT, chunk_delay=10.0))
            start = trio.current_time()
            with pytest.raises(tms.APITimeoutError) as info:
                await drain_raw(client)
            assert info.value.which == "deadline"
            assert 25.0 <= trio.current_time() - start < 25.5


async def test_content_idle_raw_stream(autojump_clock: trio.testing.MockClock) -> None:
    timeout = tms.Timeout(read=5.0, content_idle=30.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(stalled(5, stall_pings_every=1.0))
            start = trio.current_time()
            with pytest.raises(tms.APITimeoutError) as info:
                await drain_raw(client)
            assert info.value.which == "content_idle"
            assert 30.0 <= trio.current_time() - start < 31.0
            await trio.sleep(1)
            assert server.active_requests == 0


async def test_content_idle_raw_stream_silent_after_content(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # No pings: the wait right after content is bounded by the transport's read
    # timeout (clamped to content_idle, no cancel scope of our own); it is still
    # reported as content_idle, at the idle limit.
    timeout = tms.Timeout(read=600.0, content_idle=30.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(stalled(5))
            start = trio.current_time()
            with pytest.raises(tms.APITimeoutError) as info:
                await drain_raw(client)
            assert info.value.which == "content_idle"
            assert 30.0 <= trio.current_time() - start < 31.0


async def test_read_timeout_raw_stream_shorter_than_content_idle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timeout = tms.Timeout(read=5.0, content_idle=30.0)
    with trio.fail_after(5000):
        async with fake_client(timeout=timeout) as (server, client):
            server.enqueue(stalled(5))
            start = trio.current_time()
            with pytest.raises(tms.APITimeoutError) as info:
                await drain_raw(client)
            assert info.value.which == "read"
            assert 5.0 <= trio.current_time() - start < 6.0


@pytest.mark.parametrize("where", ["client", "request"])
async def test_float_timeout_applies_to_every_phase(
    autojump_clock: trio.testing.MockClock, where: str
) -> None:
    client_timeout: Any = 7.0 if where == "client" else tms.NOT_GIVEN
    request_kw: dict[str, Any] = {"timeout": 7.0} if where == "request" else {}
    with trio.fail_after(5000):
        async with fake_client(timeout=client_timeout) as (server, client):
            # No bytes at all: read and content_idle are both 7 s.
            server.enqueue(stalled(5))
            exc, stream, elapsed, _ = await run_until_timeout(client, **request_kw)
            assert exc.which in ("read", "content_idle")
            assert 7.0 <= elapsed < 7.5
            assert_timeout_callbacks(stream)
            # Pings only: the read timeout is satisfied, content_idle (7 s) fires.
            server.enqueue(stalled(5, stall_pings_every=1.0))
            exc, stream, elapsed, _ = await run_until_timeout(client, **request_kw)
            assert exc.which == "content_idle"
            assert 7.0 <= elapsed < 8.0
    resolved = tms.AsyncClient(api_key="k", base_url="http://x", timeout=7.0).timeout
    assert (resolved.connect, resolved.read, resolved.write, resolved.pool) == (7.0,) * 4
    assert resolved.content_idle == 7.0


async def test_default_timeout_ends_a_ping_only_stream(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # With no timeout configured, a stream kept "alive" by pings alone still fails in
    # bounded time (content_idle defaults to the read timeout's 600 s).
    assert tms.Timeout().content_idle == 600.0
    with trio.fail_after(5000):
        async with fake_client() as (server, client):
            assert client.timeout == tms.Timeout()
            server.enqueue(stalled(5, stall_pings_every=10.0))
            exc, stream, elapsed, seen = await run_until_timeout(client)
            assert exc.which == "content_idle"
            assert 600.0 <= elapsed < 601.0
            assert seen == ["one", " two"]
            assert_timeout_callbacks(stream)
