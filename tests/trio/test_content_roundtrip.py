"""A reply's content sent back as the next assistant turn (the tool-loop idiom).

``messages=[..., {"role": "assistant", "content": message.content}]`` must send the
blocks as the fields they arrived with, on both clients and every kind of block of the
recorded transcripts, and the body must equal the official SDK's for its own message
parsed from the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

import trio_msgstream
from tests.sdk_oracle import sdk_request_body
from trio_msgstream._core.stream.engine import StreamEngine
from trio_msgstream.testing import fake_anthropic_in_thread, open_fake_anthropic, text_response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"
TRANSCRIPTS = [
    "docs_tool_use.sse",
    "own_server_tools.sse",
    "sdk_fable_stream-a-refusal.sse",
    "sdk_fable_stream-a-toolrefusal.sse",
]
"""Text, tool use, thinking, server tools and their results: transcripts the SDK's
regular (non-beta) stream accumulates in full."""


def _our_content(body: bytes) -> list[Any]:
    engine = StreamEngine()
    engine.receive_data(body)
    engine.receive_eof()
    message = engine.snapshot()
    assert message is not None
    return list(message.content)


def _sdk_content(body: bytes) -> list[Any]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = anthropic.Anthropic(api_key="sk-oracle", base_url="http://o", http_client=http)
        with client.messages.stream(
            model="claude-sonnet-5-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        ) as stream:
            return list(stream.get_final_message().content)


def _turns(content: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": "go on"},
    ]


@pytest.mark.parametrize("name", TRANSCRIPTS)
async def test_async_stream_sends_reply_blocks_like_the_sdk(name: str) -> None:
    body = (FIXTURES / name).read_bytes()
    expected = sdk_request_body(
        "messages.create",
        model="claude-sonnet-5-5",
        max_tokens=10,
        messages=_turns(_sdk_content(body)),
    )
    async with open_fake_anthropic() as server:
        server.enqueue(text_response("ok"))
        async with trio_msgstream.AsyncClient(api_key="sk-test", base_url=server.base_url) as c:
            async with c.messages.stream(
                model="claude-sonnet-5-5", max_tokens=10, messages=_turns(_our_content(body))
            ) as stream:
                await stream.get_final_message()
        sent = server.requests[0].json
    assert sent["messages"] == expected["messages"]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_sync_stream_sends_reply_blocks_like_the_sdk(name: str) -> None:
    body = (FIXTURES / name).read_bytes()
    expected = sdk_request_body(
        "messages.create",
        model="claude-sonnet-5-5",
        max_tokens=10,
        messages=_turns(_sdk_content(body)),
    )
    with fake_anthropic_in_thread() as server:
        server.enqueue(text_response("ok"))
        with trio_msgstream.Client(api_key="sk-test", base_url=server.base_url) as client:
            with client.messages.stream(
                model="claude-sonnet-5-5", max_tokens=10, messages=_turns(_our_content(body))
            ) as stream:
                stream.get_final_message()
        sent = server.requests[0].json
    assert sent["messages"] == expected["messages"]


def test_an_unknown_object_is_still_a_type_error() -> None:
    with trio_msgstream.Client(api_key="sk-test", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(TypeError, match="object is not JSON serializable"):
            client.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=10,
                messages=[{"role": "user", "content": object()}],
            )
