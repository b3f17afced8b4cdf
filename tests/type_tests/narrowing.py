"""Static type tests (checked by mypy --strict, never run): event unions narrow."""

from __future__ import annotations

from typing import assert_type

import trio_msgstream as tms


def narrow_stream_event(event: tms.MessageStreamEvent) -> str:
    if isinstance(event, tms.TextEvent):
        assert_type(event.text, str)
        assert_type(event.snapshot, str)
        return event.text
    if isinstance(event, tms.MessageStopEvent):
        assert_type(event.message, tms.Message)
        return event.message.id
    if isinstance(event, tms.RawContentBlockDeltaEvent):
        assert_type(event.index, int)
    return event.type


def narrow_on_type_literal(event: tms.TextEvent | tms.SignatureEvent) -> str:
    if event.type == "text":
        assert_type(event, tms.TextEvent)
        return event.text
    assert_type(event, tms.SignatureEvent)
    return event.signature


async def final_text(stream: tms.MessageStream) -> str:
    message = await stream.get_final_message()
    assert_type(message, tms.Message)
    return await stream.get_final_text()


async def raw_events(client: tms.AsyncClient) -> None:
    events = await client.messages.create(model="m", max_tokens=1, messages=[], stream=True)
    assert_type(events, tms.RawMessageStream)
    message = await client.messages.create(model="m", max_tokens=1, messages=[])
    assert_type(message, tms.Message)


class Mine(tms.MessageStream):
    pass


async def handler_class_is_preserved(client: tms.AsyncClient) -> None:
    async with client.messages.stream(
        event_handler=Mine, model="m", max_tokens=1, messages=[]
    ) as s:
        assert_type(s, Mine)
