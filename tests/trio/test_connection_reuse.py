"""Connection reuse, bounded error bodies and backpressure (issue 3)."""

from __future__ import annotations

import tracemalloc

import pytest
import trio
from _failure_support import busy_connections, fake_client, wait_server_idle
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, error_response, sse_bytes, text_response

TEXT = "Reuse the same connection please"


async def read_all(client: tms.AsyncClient) -> None:
    async with client.messages.stream(**PARAMS) as stream:
        await stream.until_done()


async def test_hundred_sequential_streams_reuse_connections() -> None:
    async with fake_client() as (server, client):
        for _ in range(100):
            server.enqueue(text_response(TEXT))
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == TEXT
        assert len(server.requests) == 100
        assert server.connections_opened <= 2
        assert busy_connections(client) == 0


async def test_error_responses_are_read_and_closed_and_reused() -> None:
    async with fake_client(max_retries=0) as (server, client):
        for i in range(60):
            if i % 3 == 0:
                server.enqueue(error_response(400, "invalid_request_error"))
            elif i % 3 == 1:
                server.enqueue(ScriptedResponse.html(502))
            else:
                server.enqueue(text_response(TEXT))
            try:
                async with client.messages.stream(**PARAMS) as stream:
                    await stream.until_done()
            except tms.APIStatusError:
                assert i % 3 != 2
        assert server.connections_opened <= 2
        assert busy_connections(client) == 0


async def test_huge_error_body_is_bounded_and_released() -> None:
    body = b'{"type":"error","error":{"type":"api_error","message":"' + b"x" * 300_000 + b'"}}'
    async with fake_client(max_retries=0) as (server, client):
        server.enqueue(ScriptedResponse(status=500, body=body))
        with pytest.raises(tms.InternalServerError) as info:
            await read_all(client)
        assert len(info.value.message) < 1000
        assert isinstance(info.value.body, str)
        assert len(info.value.body) <= 64 * 1024
        await wait_server_idle(server)
        assert busy_connections(client) == 0


async def test_raw_streams_reuse_connections() -> None:
    async with fake_client() as (server, client):
        for _ in range(50):
            server.enqueue(text_response(TEXT))
            async with await client.messages.create(stream=True, **PARAMS) as events:
                types = [e.type async for e in events]
            assert types[-1] == "message_stop"
        assert server.connections_opened <= 2


def big_stream(total_bytes: int, piece: int = 1000) -> ScriptedResponse:
    """A long text stream, one network chunk per event, built before measuring."""
    head = text_response("x").network_chunks()
    start, block_start = head[0], head[1]
    delta = sse_bytes(
        [
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "y" * piece},
            }
        ]
    )
    tail = sse_bytes(
        [
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 1},
            },
            {"type": "message_stop"},
        ]
    )
    n = total_bytes // len(delta)
    return ScriptedResponse(chunks=[start, block_start, *([delta] * n), tail])


async def test_slow_consumer_slows_socket_reads() -> None:
    script = big_stream(8_000_000)
    async with fake_client() as (server, client):
        server.enqueue(script)
        async with client.messages.stream(**PARAMS, max_buffer_size=2) as stream:
            peak = 0
            stalls_checked = 0
            async for event in stream:
                stats = stream.statistics()
                peak = max(peak, stats.batches_buffered)
                assert stats.batches_buffered <= 2
                if event.type == "text" and stalls_checked < 3 and stats.bytes_received > 10_000:
                    # The consumer sleeps: the producer stops reading the socket (its
                    # byte count does not move) and the server cannot finish sending.
                    # (First the producer fills the channel, then it must block.)
                    await trio.sleep(0.05)
                    before = stream.statistics()
                    assert before.batches_buffered == 2
                    await trio.sleep(0.05)
                    after = stream.statistics()
                    assert after.bytes_received == before.bytes_received
                    assert after.batches_buffered == 2
                    assert server.active_requests == 1
                    stalls_checked += 1
            assert stalls_checked == 3
            message = await stream.get_final_message()
        assert peak >= 1
        assert len(message.content[0].text) > 7_000_000  # type: ignore[union-attr]


@pytest.mark.slow
async def test_memory_stays_flat_for_a_large_raw_stream() -> None:
    size = 20_000_000
    script = big_stream(size)
    async with fake_client() as (server, client):
        server.enqueue(script)
        tracemalloc.start()
        try:
            received = 0
            async with await client.messages.create(stream=True, **PARAMS) as events:
                async for event in events:
                    if event.type == "content_block_delta":
                        received += len(event.delta.text)  # type: ignore[union-attr]
                        if received % 2_000_000 < 1000:
                            await trio.sleep(0.001)  # a consumer that sleeps now and then
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        expected = 1000 * sum(b'"text_delta"' in c for c in script.network_chunks())
        assert received == expected
        assert peak < size // 10, f"peak traced memory {peak} bytes"
