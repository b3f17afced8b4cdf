"""Usage limits on the sync client, against the fake server in a thread: streams,
raw streams, create() and the tool runner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    FakeAnthropicServer,
    fake_anthropic_in_thread,
    sse_bytes,
    text_response,
    tool_calls_response,
)
from trio_msgstream.testing._transcripts import message_events, text_block

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Plan my trip"}],
}
LONG = " ".join(f"word{i}" for i in range(100))


@pytest.fixture
def conv() -> Conversation:
    return Conversation()


@pytest.fixture
def server(conv: Conversation) -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread(responder=conv) as server:
        yield server


@pytest.fixture
def client(server: FakeAnthropicServer) -> Iterator[tms.Client]:
    with tms.Client(
        base_url=server.base_url, api_key="sk-ant-sync-secret-123456", max_retries=0
    ) as client:
        yield client


def test_a_stream_past_its_output_limit_is_cut(conv: Conversation, client: tms.Client) -> None:
    conv.add(text_response(LONG, chunk_delay=0.002))
    seen: list[str] = []

    class Handler(tms.SyncMessageStream):
        def on_exception(self, exception: Exception) -> None:
            seen.append(type(exception).__name__)

    limits = tms.UsageLimits(output_tokens_limit=5)
    with client.messages.stream(**PARAMS, usage_limits=limits, event_handler=Handler) as stream:
        with pytest.raises(tms.UsageLimitExceeded) as info:
            stream.get_final_message()
    error = info.value
    assert error.usage.output_tokens == 6
    assert error.partial_message is not None
    assert error.partial_message.content[0].text.split() == LONG.split()[:6]  # type: ignore[union-attr]
    assert seen == ["UsageLimitExceeded"]


def test_a_shared_tracker_refuses_the_request_past_request_limit(
    conv: Conversation, server: FakeAnthropicServer, client: tms.Client
) -> None:
    conv.add(text_response("one"), text_response("two"), text_response("three"))
    tracker = tms.UsageTracker(tms.UsageLimits(request_limit=2))
    with client.messages.stream(**PARAMS, usage_limits=tracker) as stream:
        stream.get_final_message()
    with client.messages.create(**PARAMS, stream=True, usage_limits=tracker) as raw:
        for _ in raw:
            pass
    with pytest.raises(tms.UsageLimitExceeded) as info:
        client.messages.create(**PARAMS, usage_limits=tracker)
    assert len(server.requests) == 2
    assert info.value.limit == "request_limit"
    assert tracker.usage.requests == 2
    assert tracker.usage.output_tokens == 2


def test_create_raises_with_the_whole_reply_past_a_limit(
    conv: Conversation, client: tms.Client
) -> None:
    conv.add(text_response("a few words here"))
    with pytest.raises(tms.UsageLimitExceeded) as info:
        client.messages.create(**PARAMS, usage_limits=tms.UsageLimits(total_tokens_limit=10))
    assert info.value.partial_message is not None
    assert info.value.usage.total_tokens == 16


def test_a_raw_stream_is_cut_too(conv: Conversation, client: tms.Client) -> None:
    conv.add(text_response(LONG, chunk_delay=0.002))
    types: list[str] = []

    def collect(raw: tms.SyncRawMessageStream) -> None:
        types.extend(event.type for event in raw)

    limits = tms.UsageLimits(total_tokens_limit=20)
    with client.messages.create(**PARAMS, stream=True, usage_limits=limits) as raw:
        with pytest.raises(tms.UsageLimitExceeded):
            collect(raw)
    assert types.count("content_block_delta") == 8


def test_the_runner_stops_at_its_limits(
    conv: Conversation, server: FakeAnthropicServer, client: tms.Client
) -> None:
    ran: list[str] = []

    @tms.tool
    def note(city: str) -> str:
        """Note a city."""
        ran.append(city)
        return "noted"

    conv.add(*(tool_calls_response([("note", {"city": str(n)})]) for n in range(6)))
    for stream in (False, True):
        with client.messages.tool_runner(
            tools=[note],
            stream=stream,  # type: ignore[call-overload]
            usage_limits=tms.UsageLimits(request_limit=3),
            **PARAMS,
        ) as runner:
            with pytest.raises(tms.UsageLimitExceeded) as info:
                runner.until_done()
        assert runner.usage.requests == 3
        assert runner.usage.tool_calls == 3
        assert info.value.usage == runner.usage
    assert len(server.requests) == 6
    ran.clear()
    conv.add(tool_calls_response([("note", {"city": "a"}), ("note", {"city": "b"})]))
    limits = tms.UsageLimits(tool_calls_limit=1)
    with pytest.raises(tms.UsageLimitExceeded) as refused:
        client.messages.tool_runner(
            tools=[note], usage_limits=limits, max_concurrency=2, **PARAMS
        ).until_done()
    assert ran == []
    assert refused.value.limit == "tool_calls_limit"


def test_a_mock_transport_stream_is_cut() -> None:
    # As SDK users test: an httpx.MockTransport whose body is an iterator of chunks.
    events = message_events(
        model="claude-sonnet-4-6",
        blocks=[text_block([f" w{i}" for i in range(20)])],
        stop_reason="end_turn",
        input_tokens=3,
        output_tokens=20,
        message_id="msg_1",
    )
    head, tail = sse_bytes(events[:10]), sse_bytes(events[10:])  # 7 deltas, then the rest

    def handler(request: httpx.Request) -> httpx.Response:
        chunks = iter([head, tail])
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=chunks)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with tms.Client(api_key="sk-ant-mock-123456", http_client=http) as client:
        limits = tms.UsageLimits(output_tokens_limit=4)
        with client.messages.stream(**PARAMS, usage_limits=limits) as stream:
            with pytest.raises(tms.UsageLimitExceeded) as info:
                stream.get_final_text()
    # The events of a chunk are counted together: the first chunk passes the limit.
    assert info.value.usage.output_tokens == 7
    assert info.value.partial_message is not None
