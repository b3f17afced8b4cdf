"""Issue 10, the orchestration items, through the request session, in both clients:

- held-back events before the first content are bounded (pings do not pile up);
- a stream ends at ``message_stop`` even when the body stays open afterwards;
- the raw stream does not count the consumer's own time as idle;
- the end hooks run for a request that fails before streaming (stream and fan-out).
"""

from __future__ import annotations

import math
import time
import tracemalloc
from typing import Any

import pytest
import trio
from _failure_support import Recorder, fake_client
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import (
    ScriptedResponse,
    error_response,
    fake_anthropic_in_thread,
    sse_bytes,
    text_response,
)

TEXT = "alpha beta gamma delta"
PING = sse_bytes([{"type": "ping"}])


def ping_flood(n_pings: int, *, chunk_bytes: int = 64 * 1024) -> ScriptedResponse:
    """``message_start``, then ``n_pings`` pings (in big network chunks), then TEXT."""
    full = text_response(TEXT).network_chunks()
    start, rest = full[0], full[1:]
    pings = PING * n_pings
    flood = [pings[i : i + chunk_bytes] for i in range(0, len(pings), chunk_bytes)]
    return ScriptedResponse(
        chunks=[start, *flood, *rest],
        headers=[("content-type", "text/event-stream")],
    )


def open_after_stop(pings_every: float) -> ScriptedResponse:
    """TEXT, then a body that stays open after ``message_stop``, sending pings."""
    full = text_response(TEXT)
    return text_response(
        TEXT,
        stall_after_bytes=len(full.body),
        stall_seconds=math.inf,
        stall_pings_every=pings_every,
    )


# -- held-back events are bounded ----------------------------------------------------------


def test_session_holds_at_most_one_ping_before_content() -> None:
    from trio_msgstream._core.config import Timeout
    from trio_msgstream._core.request.session import RequestSession
    from trio_msgstream._core.request.spec import RequestSpec

    spec = RequestSpec("POST", "/v1/messages", {}, b"", Timeout(), max_retries=2)
    session = RequestSession(spec, now=0.0, mode="stream")
    session.begin_attempt(0.0)
    chunks = text_response(TEXT).network_chunks()
    assert session.receive_data(chunks[0], 0.0) == []  # message_start, held
    for _ in range(1000):
        assert session.receive_data(PING * 50, 0.0) == []
    held = session._held
    assert [event.type for event in held] == ["message_start", "ping"]
    delivered = session.receive_data(b"".join(chunks[1:]), 0.0)
    assert delivered[0].type == "message_start"
    assert session.content_delivered


async def test_ping_flood_before_content_stays_in_bounded_memory() -> None:
    n_pings = 30_000  # about 1 MB of pings between message_start and the first delta
    async with fake_client() as (server, client):
        server.enqueue(ping_flood(n_pings))
        tracemalloc.start()
        try:
            async with client.messages.stream(**PARAMS) as stream:
                text = await stream.get_final_text()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert text == TEXT
    # Holding every ping took ~15x the flood's size; bounded holding needs a few
    # network chunks' worth.
    assert peak < 4 * 1024 * 1024, peak


def test_ping_flood_sync_client_bounded() -> None:
    with fake_anthropic_in_thread() as server:
        server.enqueue(ping_flood(30_000))
        with tms.Client(base_url=server.base_url, api_key="sk-test") as client:
            tracemalloc.start()
            try:
                with client.messages.stream(**PARAMS) as stream:
                    text = stream.get_final_text()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert text == TEXT
    assert peak < 4 * 1024 * 1024, peak


# -- a stream ends at message_stop ----------------------------------------------------------


async def test_stream_returns_at_message_stop_when_the_body_stays_open(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with fake_client() as (server, client):
        server.enqueue(open_after_stop(pings_every=1.0))
        start = trio.current_time()
        async with client.messages.stream(**PARAMS) as stream:
            message = await stream.get_final_message()
        # Virtual time: the body would stay open forever; the stream ended at
        # message_stop and the producer gave the rest of the body one DRAIN_TIMEOUT.
        assert trio.current_time() - start <= 1.5
        assert message.stop_reason == "end_turn"
        server.enqueue(open_after_stop(pings_every=1.0))
        async with client.messages.stream(**PARAMS) as stream:
            events = [event.type async for event in stream]
        assert events[-1] == "message_stop"


async def test_raw_stream_returns_at_message_stop_when_the_body_stays_open(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with fake_client() as (server, client):
        server.enqueue(open_after_stop(pings_every=0.5))
        start = trio.current_time()
        async with await client.messages.create(stream=True, **PARAMS) as events:
            kinds = [event.type async for event in events]
        assert kinds[-1] == "message_stop"
        assert trio.current_time() - start <= 1.5


def test_sync_stream_returns_at_message_stop_when_the_body_stays_open() -> None:
    with fake_anthropic_in_thread() as server:
        server.enqueue(open_after_stop(pings_every=0.1))
        server.enqueue(open_after_stop(pings_every=0.1))
        with tms.Client(base_url=server.base_url, api_key="sk-test") as client:
            started = time.monotonic()
            with client.messages.stream(**PARAMS) as stream:
                assert stream.get_final_text() == TEXT
            with client.messages.create(stream=True, **PARAMS) as raw:
                assert [event.type for event in raw][-1] == "message_stop"
            # Each stream gave the open body at most DRAIN_TIMEOUT (1 s); the default
            # read/idle timeouts (600 s) were never waited for.
            assert time.monotonic() - started < 30


def test_sync_streams_reuse_their_connection() -> None:
    with fake_anthropic_in_thread() as server:
        with tms.Client(base_url=server.base_url, api_key="sk-test") as client:
            for _ in range(10):
                server.enqueue(text_response(TEXT))
                with client.messages.stream(**PARAMS) as stream:
                    assert stream.get_final_text() == TEXT
                server.enqueue(text_response(TEXT))
                with client.messages.create(stream=True, **PARAMS) as raw:
                    assert [event.type for event in raw][-1] == "message_stop"
        assert len(server.requests) == 20
        assert server.connections_opened == 1


# -- the raw stream's idle clock -------------------------------------------------------------


async def test_raw_stream_does_not_count_consumer_time_as_idle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timeout = tms.Timeout(content_idle=0.5)
    async with fake_client(timeout=timeout) as (server, client):
        server.enqueue(text_response(TEXT, chunk_delay=0.005))
        kinds = []
        async with await client.messages.create(stream=True, **PARAMS) as events:
            async for event in events:
                kinds.append(event.type)
                await trio.sleep(0.8)  # the consumer's own time, longer than content_idle
        assert kinds[-1] == "message_stop"


async def slow_raw_consumer(client: tms.AsyncClient) -> None:
    async with await client.messages.create(stream=True, **PARAMS) as events:
        async for _ in events:
            await trio.sleep(0.8)


async def test_raw_stream_still_times_out_when_the_server_is_idle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timeout = tms.Timeout(content_idle=0.5)
    full = text_response(TEXT)
    stalled = text_response(
        TEXT,
        stall_after_bytes=sum(len(c) for c in full.network_chunks()[:4]),
        stall_seconds=math.inf,
        stall_pings_every=0.1,
    )
    async with fake_client(timeout=timeout) as (server, client):
        server.enqueue(stalled)
        with pytest.raises(tms.APITimeoutError) as info:
            await slow_raw_consumer(client)
        assert info.value.which == "content_idle"


def test_sync_raw_stream_does_not_count_consumer_time_as_idle() -> None:
    with fake_anthropic_in_thread() as server:
        server.enqueue(text_response("a b", chunk_delay=0.005))
        with tms.Client(
            base_url=server.base_url, api_key="sk-test", timeout=tms.Timeout(content_idle=0.2)
        ) as client:
            with client.messages.create(stream=True, **PARAMS) as events:
                kinds = []
                for event in events:
                    kinds.append(event.type)
                    if event.type == "content_block_delta":
                        time.sleep(0.3)
    assert kinds[-1] == "message_stop"


# -- end hooks of a request that fails before streaming --------------------------------------


async def test_stream_failing_before_streaming_runs_the_end_hooks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorders: list[Recorder] = []

    class Tracked(Recorder):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            recorders.append(self)

    async with fake_client(max_retries=1) as (server, client):
        server.fail_first(2, error_response(529, "overloaded_error", "busy"))
        with pytest.raises(tms.OverloadedError):
            async with client.messages.stream(**PARAMS, event_handler=Tracked):
                pass
    assert len(server.requests) == 2
    assert [r.calls for r in recorders] == [["on_exception:OverloadedError", "on_end"]]


async def test_fan_out_item_failing_before_streaming_runs_the_end_hooks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorders: list[Recorder] = []

    class Tracked(Recorder):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            recorders.append(self)

    async with fake_client(max_retries=0) as (server, client):
        server.fail_first(1, error_response(529, "overloaded_error", "busy"))
        async with tms.open_fan_out(client, max_concurrency=1) as fan:
            await fan.submit("a", event_handler=Tracked, **PARAMS)
            fan.done_submitting()
            results = [result async for result in fan.results()]
    assert len(results) == 1
    assert isinstance(results[0].outcome.error, tms.OverloadedError)  # type: ignore[union-attr]
    assert [r.calls for r in recorders] == [["on_exception:OverloadedError", "on_end"]]


def test_sync_stream_failing_before_streaming_runs_the_end_hooks() -> None:
    calls: list[str] = []

    class Tracked(tms.SyncMessageStream):
        def on_exception(self, exception: Exception) -> None:
            calls.append(f"on_exception:{type(exception).__name__}")

        def on_end(self) -> None:
            calls.append("on_end")

    with fake_anthropic_in_thread() as server:
        server.fail_first(1, error_response(529, "overloaded_error", "busy"))
        with tms.Client(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            with pytest.raises(tms.OverloadedError):
                with client.messages.stream(**PARAMS, event_handler=Tracked):
                    pass
    assert calls == ["on_exception:OverloadedError", "on_end"]
