"""The producer extends the last batch while the consumer has not received it.

A burst of small network chunks becomes a few batches, and the backlog stays bounded as
documented: ``max_buffer_size`` batches, each at most one decoding step of body and
``MAX_BATCH_EVENTS`` events (plus one chunk's), so the producer stops reading the socket.
"""

from __future__ import annotations

import trio
import trio.testing
from _failure_support import fake_client
from _shared import PARAMS

from trio_msgstream._core.stream.decoding import DEFAULT_MAX_DECODED_CHUNK
from trio_msgstream._trio.producer import MAX_BATCH_EVENTS
from trio_msgstream.testing import ScriptedResponse, sse_bytes, text_response

N_DELTAS = 10_000


def burst() -> ScriptedResponse:
    """A text stream of many small one-event chunks, sent as fast as the socket takes them."""
    head = text_response("x").network_chunks()
    delta = sse_bytes(
        [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "y"}}]
    )
    tail = sse_bytes(
        [
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}},
            {"type": "message_stop"},
        ]
    )
    return ScriptedResponse(chunks=[head[0], head[1], *([delta] * N_DELTAS), tail])


async def test_a_burst_is_batched_and_the_backlog_stays_bounded() -> None:
    max_buffer_size = 2
    async with fake_client() as (server, client):
        server.enqueue(burst())
        async with client.messages.stream(**PARAMS, max_buffer_size=max_buffer_size) as stream:
            with trio.fail_after(30):
                first = await stream.text_stream.__anext__()
                # The consumer holds still: the producer fills the channel, then must
                # stop reading the socket.
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)
                stats = stream.statistics()
                assert stats.batches_buffered <= max_buffer_size
                batches = list(stream._producer.receive_channel._state.data)  # type: ignore[attr-defined]
                assert batches  # the producer is ahead...
                for batch in batches:
                    assert len(batch) <= MAX_BATCH_EVENTS + 2  # ...by bounded batches
                bound = (max_buffer_size + 2) * DEFAULT_MAX_DECODED_CHUNK
                body_size = len(b"".join(burst().chunks))
                assert bound < body_size // 2  # the body is far larger than the backlog
                assert stats.bytes_received < bound
                # Fewer batches than chunks: a batch was extended while it waited.
                assert max(len(batch) for batch in batches) > 2
                texts = [first]
                async for text in stream.text_stream:
                    texts.append(text)
        message = await stream.get_final_message()
    assert "".join(texts) == "y" * N_DELTAS
    assert message.content[0].text == "y" * N_DELTAS  # type: ignore[union-attr]


async def test_every_event_is_handed_out_in_order_after_extension() -> None:
    async with fake_client() as (server, client):
        server.enqueue(burst())
        async with client.messages.stream(**PARAMS, max_buffer_size=1) as stream:
            with trio.fail_after(30):
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)
                kinds = [event.type async for event in stream]
    assert kinds[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert kinds.count("content_block_delta") == N_DELTAS
    assert kinds.count("text") == N_DELTAS
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
