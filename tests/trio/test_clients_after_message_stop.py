"""Both clients: what follows ``message_stop`` is ignored whether it came in the network
chunk that carried ``message_stop`` or in a later one (issue 19, item 5)."""

from __future__ import annotations

import pytest
from _failure_support import fake_client
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, fake_anthropic_in_thread, sse_bytes

TEXT = "alpha beta gamma"
LATE = sse_bytes(
    [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "late"}},
    ]
)


def _response(together: bool) -> ScriptedResponse:
    chunks = ScriptedResponse.text(TEXT).network_chunks()
    if together:  # message_stop and what follows in one network chunk
        chunks = [*chunks[:-1], chunks[-1] + LATE]
    else:
        chunks = [*chunks, LATE]
    return ScriptedResponse(chunks=chunks, headers=[("content-type", "text/event-stream")])


@pytest.mark.parametrize("together", [True, False], ids=["same_chunk", "later_chunk"])
async def test_async_streams_end_at_message_stop(together: bool) -> None:
    async with fake_client() as (server, client):
        server.enqueue(_response(together))
        async with client.messages.stream(**PARAMS) as stream:
            kinds = [event.type async for event in stream]
            message = await stream.get_final_message()
        assert kinds[-1] == "message_stop"
        assert message.content == [tms.TextBlock(text=TEXT)]
        server.enqueue(_response(together))
        async with await client.messages.create(stream=True, **PARAMS) as events:
            raw = [event.type async for event in events]
        assert raw[-1] == "message_stop"
        assert raw.count("content_block_delta") == kinds.count("content_block_delta")


@pytest.mark.parametrize("together", [True, False], ids=["same_chunk", "later_chunk"])
def test_sync_streams_end_at_message_stop(together: bool) -> None:
    with fake_anthropic_in_thread() as server:
        server.enqueue(_response(together))
        server.enqueue(_response(together))
        with tms.Client(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            with client.messages.stream(**PARAMS) as stream:
                kinds = [event.type for event in stream]
                message = stream.get_final_message()
            assert kinds[-1] == "message_stop"
            assert message.content == [tms.TextBlock(text=TEXT)]
            with client.messages.create(stream=True, **PARAMS) as events:
                raw = [event.type for event in events]
            assert raw[-1] == "message_stop"
