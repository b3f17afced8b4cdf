"""The official SDK README's idioms, unchanged, on this library's types.

Checked by ``mypy --strict`` and ``pyright --strict`` (never run): narrowing a content
block or a delta on its ``type`` literal gives the member class, on messages from
``create()``, streams (raw and accumulated), ``parse()`` and the beta namespace, on
both clients. Blocks and deltas of a type this version does not know are still kept at
run time (as ``UnknownBlock``/``UnknownDelta``); the static unions leave them out, as
the official SDK's do, so that the literal narrows.
"""

from __future__ import annotations

from typing import Any, assert_type

from pydantic import BaseModel

import trio_msgstream as tms

MODEL = "claude-sonnet-5-5"


class Answer(BaseModel):
    value: int


def text_of(message: tms.Message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def blocks(message: tms.Message) -> None:
    for block in message.content:
        if block.type == "text":
            assert_type(block, tms.TextBlock)
            print(block.text, block.citations)
        elif block.type == "tool_use":
            assert_type(block, tms.ToolUseBlock)
            assert_type(block.input, Any)
            print(block.id, block.name, block.input)
        elif block.type == "thinking":
            assert_type(block, tms.ThinkingBlock)
            print(block.thinking, block.signature)
        elif block.type == "server_tool_use":
            print(block.name)
        elif block.type == "web_search_tool_result":
            content = block.content
            if isinstance(content, list):
                print([r.url for r in content])
            elif content.type == "web_search_tool_result_error":
                print(content.error_code)
    tool_uses = [b for b in message.content if b.type == "tool_use"]
    assert_type(tool_uses, list[tms.ToolUseBlock])
    first = message.content[0]
    if first.type == "text" and first.citations:
        for citation in first.citations:
            if citation.type == "char_location":
                print(citation.start_char_index)


def raw_event(event: tms.RawMessageStreamEvent) -> None:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        assert_type(event.delta.text, str)
    if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
        assert_type(event.delta.partial_json, str)
    if event.type == "content_block_start" and event.content_block.type == "tool_use":
        assert_type(event.content_block.input, Any)
    if event.type == "message_delta":
        print(event.delta.stop_reason, event.usage.output_tokens)


def stream_event(event: tms.MessageStreamEvent) -> None:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        print(event.delta.text)
    elif event.type == "content_block_delta" and event.delta.type == "thinking_delta":
        print(event.delta.thinking)
    elif event.type == "content_block_stop" and event.content_block.type == "tool_use":
        print(event.content_block.input)
    elif event.type == "message_stop":
        print("".join(b.text for b in event.message.content if b.type == "text"))


async def async_client() -> None:
    async with tms.AsyncClient(api_key="sk-test") as client:
        message = await client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
        print("".join(b.text for b in message.content if b.type == "text"))
        for block in message.content:
            if block.type == "tool_use":
                print(block.input)

        beta = await client.beta.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            betas=["context-management-2025-06-27"],
        )
        print("".join(b.text for b in beta.content if b.type == "text"))

        parsed = await client.messages.parse(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            output_format=Answer,
        )
        print("".join(b.text for b in parsed.content if b.type == "text"))

        events = await client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        async with events:
            async for raw in events:
                if raw.type == "content_block_delta" and raw.delta.type == "text_delta":
                    print(raw.delta.text, end="")
                elif raw.type == "content_block_start" and raw.content_block.type == "tool_use":
                    print(raw.content_block.name)

        async with client.messages.stream(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            async for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    print(event.delta.text, end="")
                elif event.type == "content_block_stop" and event.content_block.type == "text":
                    print(event.content_block.text)
            final = await stream.get_final_message()
            print("".join(b.text for b in final.content if b.type == "text"))

        async with client.beta.messages.stream(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            betas=["fine-grained-tool-streaming-2025-05-14"],
        ) as beta_stream:
            async for event in beta_stream:
                if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                    print(event.delta.partial_json)
            for block in (await beta_stream.get_final_message()).content:
                if block.type == "tool_use":
                    print(block.input)


def sync_client() -> None:
    with tms.Client(api_key="sk-test") as client:
        message = client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
        print("".join(b.text for b in message.content if b.type == "text"))
        beta = client.beta.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
        for block in beta.content:
            if block.type == "tool_use":
                print(block.input)
        parsed = client.messages.parse(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            output_format=Answer,
        )
        print("".join(b.text for b in parsed.content if b.type == "text"))
        with client.messages.stream(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    print(event.delta.text, end="")
            final = stream.get_final_message()
            print("".join(b.text for b in final.content if b.type == "text"))
        raw = client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        with raw:
            for raw_event in raw:
                if raw_event.type == "content_block_delta" and raw_event.delta.type == "text_delta":
                    print(raw_event.delta.text, end="")
