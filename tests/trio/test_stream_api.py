"""The MessageStream surface: events, handlers, lenses, request shape, one consumer."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trio
import trio.testing
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    text_response,
    thinking_response,
    tool_use_response,
)


async def test_text_stream_and_final_message(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("Hello there, friend!"))
    async with trio.open_nursery() as nursery:
        async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
            pieces = [text async for text in stream.text_stream]
        message = await stream.get_final_message()
    assert "".join(pieces) == "Hello there, friend!"
    assert len(pieces) > 1  # it really streamed in pieces
    assert message.content == [tms.TextBlock(text="Hello there, friend!")]
    assert message.stop_reason == "end_turn"
    assert await stream.get_final_text() == "Hello there, friend!"
    assert stream.request_id is not None
    assert stream.request_id.startswith("req_")
    assert stream.response.status_code == 200


async def test_event_order_raw_and_derived(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("a b"))
    async with client.messages.stream(**PARAMS) as stream:
        kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start"
    assert "ping" in kinds  # pings are visible
    # Each text delta is followed by its derived text event.
    for i, kind in enumerate(kinds):
        if kind == "content_block_delta":
            assert kinds[i + 1] == "text"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]


async def test_handlers_run_in_consumer_task_in_order(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("one two three"))
    calls: list[Any] = []
    consumer = None

    class Recorder(tms.MessageStream):
        async def on_stream_event(self, event: tms.MessageStreamEvent) -> None:
            assert trio.lowlevel.current_task() is consumer
            calls.append(("event", event.type))

        async def on_text(self, text: str, snapshot: str) -> None:
            calls.append(("text", text, snapshot))

        async def on_content_block(self, content_block: tms.ContentBlock) -> None:
            calls.append(("block", content_block))

        async def on_message(self, message: tms.Message) -> None:
            calls.append(("message", message.stop_reason))

        async def on_end(self) -> None:
            calls.append(("end",))

    async with client.messages.stream(event_handler=Recorder, **PARAMS) as stream:
        consumer = trio.lowlevel.current_task()
        assert isinstance(stream, Recorder)
        message = await stream.get_final_message()
    texts = [c for c in calls if c[0] == "text"]
    assert [t[1] for t in texts] == ["one", " two", " three"]
    assert [t[2] for t in texts] == ["one", "one two", "one two three"]
    assert ("block", message.content[0]) in calls
    assert calls[-2:] == [("message", "end_turn"), ("end",)]
    assert calls.count(("end",)) == 1


async def test_one_argument_on_text_override_gets_the_delta(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    # The seed document's handler overrides on_text(self, delta); it must still work.
    server.enqueue(text_response("x y"))
    seen: list[str] = []

    class Legacy(tms.AsyncMessageStream):
        async def on_text(self, delta: str) -> None:
            seen.append(delta)

    async with client.messages.stream(event_handler=Legacy, **PARAMS) as stream:
        await stream.until_done()
    assert seen == ["x", " y"]


async def test_tool_use_input_json_events_and_handler(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    tool_input = {"location": "Paris", "unit": "celsius", "days": [1, 2, 3]}
    server.enqueue(tool_use_response("get_weather", tool_input, text="Checking."))
    snapshots: list[Any] = []

    class Tools(tms.MessageStream):
        async def on_input_json(self, partial_json: str, snapshot: Any) -> None:
            snapshots.append(snapshot)

    async with client.messages.stream(event_handler=Tools, **PARAMS) as stream:
        events = [e async for e in stream]
    message = await stream.get_final_message()
    assert [b.type for b in message.content] == ["text", "tool_use"]
    tool = message.content[1]
    assert isinstance(tool, tms.ToolUseBlock)
    assert tool.input == tool_input
    assert tool.name == "get_weather"
    json_events = [e for e in events if isinstance(e, tms.InputJsonEvent)]
    assert len(json_events) > 1
    assert json.loads("".join(e.partial_json for e in json_events)) == tool_input
    assert snapshots[-1] == tool_input
    assert message.stop_reason == "tool_use"


async def test_thinking_and_signature_events(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(thinking_response("Let me think about it.", "The answer is 4."))
    got: dict[str, list[Any]] = {"thinking": [], "signature": []}

    class Thinker(tms.MessageStream):
        async def on_thinking(self, thinking: str, snapshot: str) -> None:
            got["thinking"].append(snapshot)

        async def on_signature(self, signature: str) -> None:
            got["signature"].append(signature)

    async with client.messages.stream(event_handler=Thinker, **PARAMS) as stream:
        message = await stream.get_final_message()
    thinking = message.content[0]
    assert isinstance(thinking, tms.ThinkingBlock)
    assert thinking.thinking == "Let me think about it."
    assert got["thinking"][-1] == "Let me think about it."
    assert got["signature"] == [thinking.signature]
    assert thinking.signature
    assert await stream.get_final_text() == "The answer is 4."


async def test_pinned_api_version_sends_the_key_as_x_api_key(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("ok"))
    pinned = client.with_options(api_version="2023-06-01")
    async with pinned.messages.stream(**PARAMS) as stream:
        await stream.until_done()
    request = server.requests[-1]
    assert request.header("anthropic-version") == "2023-06-01"
    assert request.header("x-api-key") == API_KEY
    assert request.header("authorization") is None


async def test_sampling_parameters_are_checked_before_sending(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    # Under the current API version the API rejects temperature; the request is
    # refused here, before anything is sent. A client pinned to 2023-06-01 sends it.
    with pytest.raises(tms.errors.RequestParameterError, match="temperature"):
        async with client.messages.stream(**PARAMS, temperature=0.2):
            pass
    with pytest.raises(tms.errors.RequestParameterError):
        await client.messages.create(**PARAMS, extra_body={"top_k": 5})
    assert server.requests == []
    server.enqueue(text_response("ok"))
    pinned = client.with_options(api_version="2023-06-01")
    async with pinned.messages.stream(**PARAMS, temperature=0.2) as stream:
        await stream.until_done()
    assert server.requests[-1].json["temperature"] == 0.2


async def test_deprecated_model_warns_at_the_callers_line(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    from trio_msgstream._core.schema.model_names import DEPRECATED_MODELS

    old_model = next(iter(DEPRECATED_MODELS))
    server.enqueue(text_response("ok"))
    with pytest.warns(DeprecationWarning, match="end-of-life|end of life") as warned:
        async with client.messages.stream(**{**PARAMS, "model": old_model}) as stream:
            await stream.until_done()
    assert warned[0].filename == __file__


async def test_request_shape(server: FakeAnthropicServer, client: tms.AsyncClient) -> None:
    server.enqueue(text_response("ok"))
    tools = [{"name": "t", "description": "d", "input_schema": {"type": "object"}}]
    async with client.messages.stream(
        system="Be brief.",
        tools=tools,
        stop_sequences=["END"],
        metadata={"user_id": "u1"},
        extra_headers={"anthropic-beta": "feature-x"},
        extra_query={"beta": "true"},
        extra_body={"custom_field": 7},
        **PARAMS,
    ) as stream:
        await stream.until_done()
    request = server.requests[-1]
    assert request.method == "POST"
    assert request.path == "/v1/messages"
    assert request.query == "beta=true"
    # The current API version takes the key as a bearer token.
    assert request.header("authorization") == f"Bearer {API_KEY}"
    assert request.header("x-api-key") is None
    assert request.header("anthropic-version") == "2026-10-21"
    assert request.header("content-type") == "application/json"
    assert request.header("anthropic-beta") == "feature-x"
    body = request.json
    assert body["stream"] is True
    assert body["model"] == PARAMS["model"]
    assert body["max_tokens"] == PARAMS["max_tokens"]
    assert body["messages"] == PARAMS["messages"]
    assert body["system"] == "Be brief."
    assert body["tools"] == tools
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u1"}
    assert body["custom_field"] == 7


async def test_api_key_never_in_repr_logs_or_errors(
    server: FakeAnthropicServer, client: tms.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    from trio_msgstream.testing import error_response

    server.enqueue(error_response(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(tms.AuthenticationError) as info:
        async with client.messages.stream(**PARAMS):
            pass
    secret = API_KEY
    assert secret not in repr(client)
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert secret not in repr(info.value.request)
    assert secret not in caplog.text
    assert info.value.status_code == 401


async def test_two_consumers_at_once_is_busy(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    from trio_msgstream.testing import ScriptedResponse

    server.enqueue(ScriptedResponse.text("slow reply here", chunk_delay=0.05))
    errors: list[BaseException] = []
    async with client.messages.stream(**PARAMS) as stream:

        async def second() -> None:
            await trio.testing.wait_all_tasks_blocked()
            try:
                await stream.get_final_message()
            except trio.BusyResourceError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(second)
            text = await stream.get_final_text()
    assert text == "slow reply here"
    assert len(errors) == 1


async def test_raw_create_stream_events(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("raw words"))
    async with await client.messages.create(stream=True, **PARAMS) as events:
        collected = [event async for event in events]
    types = [e.type for e in collected]
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"
    assert "text" not in types  # no derived events, no accumulation
    text = "".join(
        e.delta.text
        for e in collected
        if isinstance(e, tms.RawContentBlockDeltaEvent) and isinstance(e.delta, tms.TextDelta)
    )
    assert text == "raw words"


async def test_non_streaming_create_returns_message(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    message = await client.messages.create(**PARAMS)
    assert isinstance(message, tms.Message)
    assert message.content[0].type == "text"
    assert "stream" not in server.requests[-1].json  # as the official SDK sends it


async def test_statistics_and_current_snapshot(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("alpha beta gamma"))
    async with client.messages.stream(max_buffer_size=2, **PARAMS) as stream:
        first = await stream.text_stream.__anext__()
        snapshot = stream.current_message_snapshot
        assert snapshot is not None
        assert snapshot.content[0].text.startswith(first)  # type: ignore[union-attr]
        stats = stream.statistics()
        assert stats.attempts == 1
        assert stats.max_buffer_size == 2
        assert stats.batches_buffered <= 2
        await stream.until_done()
    assert stream.statistics().finished
    assert stream.current_message_snapshot == await stream.get_final_message()


async def test_stream_is_readable_after_the_block(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("kept"))
    async with client.messages.stream(**PARAMS) as stream:
        await stream.until_done()
    assert await stream.get_final_text() == "kept"


async def test_close_before_end_makes_final_message_raise(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    from trio_msgstream.testing import ScriptedResponse

    server.enqueue(ScriptedResponse.text("never finished " * 20, chunk_delay=0.01))
    async with client.messages.stream(**PARAMS) as stream:
        await stream.text_stream.__anext__()
        await stream.close()
        await stream.close()  # idempotent
        assert [e async for e in stream] == []
        with pytest.raises(trio.ClosedResourceError):
            await stream.get_final_message()


async def test_with_options_shares_connections_and_changes_defaults(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    from trio_msgstream.testing import error_response

    strict = client.with_options(max_retries=0, timeout=30.0)
    assert strict.http_client is client.http_client
    assert strict.max_retries == 0
    assert strict.timeout == tms.Timeout.of(30.0)
    assert client.max_retries == 2  # the original is unchanged
    server.enqueue(error_response(529, "overloaded_error", "busy"))
    with pytest.raises(tms.OverloadedError):
        async with strict.messages.stream(**PARAMS):
            pass
    assert len(server.requests) == 1  # no retry with max_retries=0
    await strict.aclose()  # does not close the shared httpx client
    server.enqueue(text_response("still open"))
    async with client.messages.stream(**PARAMS) as stream:
        assert await stream.get_final_text() == "still open"


async def test_public_async_methods_are_checkpoints(
    server: FakeAnthropicServer, client: tms.AsyncClient
) -> None:
    server.enqueue(text_response("done already"))
    async with client.messages.stream(**PARAMS) as stream:
        await stream.until_done()
        # Even with nothing left to wait for, each call is a checkpoint.
        with trio.testing.assert_checkpoints():
            await stream.until_done()
        with trio.testing.assert_checkpoints():
            await stream.get_final_message()
        with trio.testing.assert_checkpoints():
            await stream.get_final_text()
        with trio.testing.assert_checkpoints(), pytest.raises(StopAsyncIteration):
            await stream.__anext__()
    with trio.testing.assert_checkpoints():
        await stream.aclose()  # already closed: still a checkpoint
