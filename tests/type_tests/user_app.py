"""A user's file with no annotations but the return types mypy --strict requires.

Checked by ``mypy --strict`` and ``pyright --strict`` (never run): every name below is
inferred from the library's signatures, and ``assert_type`` pins what it must be, so
an ``Any`` or a wrong type anywhere fails both checkers.
"""

from __future__ import annotations

from typing import assert_type

import trio_msgstream as tms
from trio_msgstream.types import (
    CompactionEvent,
    InputJsonEvent,
    Message,
    RawContentBlockDeltaEvent,
    TextEvent,
    ThinkingEvent,
    UnknownEvent,
)

PARAMS_MODEL = "claude-sonnet-5-5"


async def stream_text() -> None:
    async with tms.AsyncClient(api_key="sk-test") as client:
        async with client.messages.stream(
            model=PARAMS_MODEL,
            max_tokens=256,
            messages=[{"role": "user", "content": "Hello"}],
        ) as stream:
            assert_type(stream, tms.MessageStream)
            async for event in stream:
                if event.type == "text":
                    assert_type(event, TextEvent)
                    print(event.text, event.snapshot)
                elif event.type == "thinking":
                    assert_type(event, ThinkingEvent)
                    print(event.thinking)
                elif event.type == "input_json":
                    assert_type(event, InputJsonEvent)
                    print(event.partial_json)
                elif event.type == "compaction":
                    assert_type(event, CompactionEvent)
                    print(event.content)
                elif event.type == "unknown":
                    assert_type(event, UnknownEvent)
                    print(event.event_type)
            message = await stream.get_final_message()
            assert_type(message, Message)
            for block in message.content:
                if isinstance(block, tms.TextBlock):
                    print(block.text)


async def create_and_raw() -> None:
    async with tms.AsyncClient(api_key="sk-test") as client:
        message = await client.messages.create(
            model=PARAMS_MODEL, max_tokens=256, messages=[{"role": "user", "content": "Hi"}]
        )
        assert_type(message, Message)
        print(message.usage.output_tokens, message.stop_details)
        events = await client.messages.create(
            model=PARAMS_MODEL,
            max_tokens=256,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
        )
        assert_type(events, tms.RawMessageStream)
        async with events:
            async for raw in events:
                if raw.type == "content_block_delta":
                    assert_type(raw, RawContentBlockDeltaEvent)
                    print(raw.delta)


def sync_app() -> None:
    with tms.Client(api_key="sk-test") as client:
        with client.messages.stream(
            model=PARAMS_MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            assert_type(stream, tms.SyncMessageStream)
            for event in stream:
                if event.type == "text":
                    assert_type(event, TextEvent)
                    print(event.text)
            assert_type(stream.get_final_message(), Message)
        message = client.messages.create(
            model=PARAMS_MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
        assert_type(message, Message)
        raw = client.messages.create(
            model=PARAMS_MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
        )
        assert_type(raw, tms.SyncRawMessageStream)
