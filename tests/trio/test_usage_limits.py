"""Usage limits on the async client, against the fake server: streams, raw streams,
create(), the tool runner and the fan-out. Times are virtual (MockClock autojump)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    FakeAnthropicServer,
    default_responder,
    open_fake_anthropic,
    text_response,
    tool_calls_response,
)

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Plan my trip"}],
}
LONG = " ".join(f"word{i}" for i in range(100))


@pytest.fixture
async def conv_server() -> AsyncIterator[tuple[Conversation, FakeAnthropicServer]]:
    conv = Conversation()
    async with open_fake_anthropic(responder=conv) as server:
        yield conv, server


@pytest.fixture
async def client(
    conv_server: tuple[Conversation, FakeAnthropicServer],
) -> AsyncIterator[tms.AsyncClient]:
    async with tms.AsyncClient(
        base_url=conv_server[1].base_url, api_key="sk-ant-test-usage-1234", max_retries=0
    ) as client:
        yield client


# -- single streams --------------------------------------------------------------------


async def test_a_stream_past_its_output_limit_is_cut_at_once(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(text_response(LONG, chunk_delay=1.0))  # 100 deltas, one a second
    seen: list[str] = []

    class Handler(tms.MessageStream):
        async def on_exception(self, exception: Exception) -> None:
            seen.append(type(exception).__name__)

    limits = tms.UsageLimits(output_tokens_limit=5)
    with trio.fail_after(600):
        start = trio.current_time()
        async with client.messages.stream(
            **PARAMS, usage_limits=limits, event_handler=Handler
        ) as stream:
            with pytest.raises(tms.UsageLimitExceeded) as info:
                await stream.get_final_message()
        elapsed = trio.current_time() - start
    assert elapsed < 20  # cut after ~6 deltas, not after the 100 s of the whole reply
    error = info.value
    assert error.limit == "output_tokens_limit"
    assert error.usage.output_tokens == 6
    assert error.usage.requests == 1
    assert error.partial_message is not None
    assert error.partial_message.content[0].text.split() == LONG.split()[:6]  # type: ignore[union-attr]
    assert seen == ["UsageLimitExceeded"]


async def test_a_shared_tracker_refuses_the_request_past_request_limit(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, server = conv_server
    conv.add(text_response("one"), text_response("two"), text_response("three"))
    tracker = tms.UsageTracker(tms.UsageLimits(request_limit=2))
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            async with tms.open_message_stream(
                nursery, client, **PARAMS, usage_limits=tracker
            ) as stream:
                await stream.get_final_message()
        raw = await client.messages.create(**PARAMS, stream=True, usage_limits=tracker)
        async with raw:
            async for _ in raw:
                pass
        with pytest.raises(tms.UsageLimitExceeded) as info:
            async with client.messages.stream(**PARAMS, usage_limits=tracker):
                pass
    assert len(server.requests) == 2  # the third was never sent
    assert info.value.limit == "request_limit"
    assert tracker.usage.requests == 2
    assert tracker.usage.input_tokens == 24
    assert tracker.usage.output_tokens == 2


async def collect(raw: tms.RawMessageStream, into: list[str]) -> None:
    async for event in raw:
        into.append(event.type)


async def test_a_raw_stream_is_cut_too(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(text_response(LONG, chunk_delay=1.0))
    events: list[str] = []
    with trio.fail_after(600):
        raw = await client.messages.create(
            **PARAMS, stream=True, usage_limits=tms.UsageLimits(total_tokens_limit=20)
        )
        async with raw:
            with pytest.raises(tms.UsageLimitExceeded) as info:
                await collect(raw, events)
    # 12 input tokens; the 9th non-empty delta passes 20
    assert info.value.usage.total_tokens == 21
    assert events.count("content_block_delta") == 8


async def test_create_raises_with_the_whole_reply_past_a_limit(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(text_response("a few words here"), text_response("ok"))
    with pytest.raises(tms.UsageLimitExceeded) as info:
        await client.messages.create(**PARAMS, usage_limits=tms.UsageLimits(input_tokens_limit=5))
    assert info.value.limit == "input_tokens_limit"
    assert info.value.partial_message is not None
    assert info.value.partial_message.content[0].text == "a few words here"  # type: ignore[union-attr]
    # Within the limits, nothing changes.
    message = await client.messages.create(**PARAMS, usage_limits=tms.UsageLimits(request_limit=1))
    assert message.content[0].text == "ok"  # type: ignore[union-attr]


# -- the tool runner -------------------------------------------------------------------


@tms.tool
async def lookup(city: str) -> str:
    """Look a city up."""
    return f"found {city}"


def call(n: int) -> Any:
    return tool_calls_response([("lookup", {"city": f"c{n}"})])


@pytest.mark.parametrize("stream", [False, True])
async def test_the_runner_stops_at_its_request_limit(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
    stream: bool,
) -> None:
    conv, server = conv_server
    conv.add(*(call(n) for n in range(10)))  # a model that never stops asking
    with trio.fail_after(60):
        async with client.messages.tool_runner(
            tools=[lookup],
            stream=stream,  # type: ignore[call-overload]
            usage_limits=tms.UsageLimits(request_limit=3),
            **PARAMS,
        ) as runner:
            with pytest.raises(tms.UsageLimitExceeded) as info:
                await runner.until_done()
    assert len(server.requests) == 3
    assert runner.usage.requests == 3
    assert runner.usage.tool_calls == 3
    assert info.value.usage == runner.usage
    assert runner.usage.input_tokens > 0


async def test_the_runner_refuses_a_turn_past_tool_calls_limit(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, server = conv_server
    ran: list[str] = []

    @tms.tool
    async def note(city: str) -> str:
        """Note a city."""
        ran.append(city)
        return "noted"

    conv.add(
        tool_calls_response([("note", {"city": "a"}), ("note", {"city": "b"})]),
        tool_calls_response([("note", {"city": "c"}), ("note", {"city": "d"})]),
    )
    limits = tms.UsageLimits(tool_calls_limit=3)
    with trio.fail_after(60), pytest.raises(tms.UsageLimitExceeded) as info:
        await client.messages.tool_runner(tools=[note], usage_limits=limits, **PARAMS).until_done()
    assert sorted(ran) == ["a", "b"]  # the second turn's two calls would pass 3: none ran
    assert info.value.limit == "tool_calls_limit"
    assert info.value.usage.tool_calls == 2
    assert len(server.requests) == 2


async def test_runner_usage_is_readable_while_it_runs(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    seen: list[tms.RunUsage] = []

    @tms.tool
    async def probe(city: str) -> str:
        """Probe."""
        seen.append(runner.usage)
        return "ok"

    conv.add(
        tool_calls_response([("probe", {"city": "x"})]),
        tool_calls_response([("probe", {"city": "y"})]),
        text_response("done"),
    )
    runner = client.messages.tool_runner(tools=[probe], **PARAMS)
    with trio.fail_after(60):
        final = await runner.until_done()
    assert final.content[0].text == "done"  # type: ignore[union-attr]
    assert [u.requests for u in seen] == [1, 2]
    assert [u.tool_calls for u in seen] == [1, 2]
    assert runner.usage.requests == 3
    assert runner.usage.output_tokens > seen[1].output_tokens


# -- the fan-out -----------------------------------------------------------------------


async def test_a_fan_out_shares_one_budget_and_stops_when_it_is_spent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cancelled: list[str] = []

    class Watch(tms.MessageStream):
        async def on_end(self) -> None:
            cancelled.append("end")

    async with open_fake_anthropic(responder=default_responder) as server:
        async with tms.AsyncClient(base_url=server.base_url, api_key="sk-ant-x-123456") as client:
            tracker = tms.UsageTracker(tms.UsageLimits(output_tokens_limit=60))
            fan_ref: list[tms.FanOut] = []

            async def run_group() -> None:
                async with tms.open_fan_out(client, max_concurrency=3, usage_limits=tracker) as fan:
                    fan_ref.append(fan)
                    for i in range(10):
                        await fan.submit(
                            i,
                            event_handler=Watch,
                            model="claude-sonnet-4-6",
                            max_tokens=200,
                            messages=[{"role": "user", "content": f"Say item number {i}"}],
                        )
                    await fan.gather()

            with trio.fail_after(600), pytest.raises(tms.UsageLimitExceeded) as info:
                await run_group()
            fan = fan_ref[0]
            assert info.value.limit == "output_tokens_limit"
            assert info.value.usage.output_tokens > 60
            assert fan.usage.requests < 10  # submitting stopped
            assert fan.usage.requests == len(server.requests)
            # every stream that was started has ended (cut, cancelled or finished)
            assert len(cancelled) == fan.usage.requests
            # A spent budget refuses submissions.
            async with tms.open_fan_out(client, usage_limits=tracker) as again:
                with pytest.raises(tms.UsageLimitExceeded):
                    await again.submit("late", **PARAMS)


async def test_a_fan_out_within_its_budget_reports_usage(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_anthropic(responder=default_responder) as server:
        async with tms.AsyncClient(base_url=server.base_url, api_key="sk-ant-x-123456") as client:
            tracker = tms.UsageTracker(tms.UsageLimits(request_limit=3))
            async with tms.open_fan_out(client, usage_limits=tracker) as fan:
                for i in range(3):
                    await fan.submit(i, **PARAMS)
                results = await fan.gather()
    assert all(result.ok for result in results.values())
    usage = fan.usage
    assert usage == tracker.usage
    assert usage.requests == 3
    assert usage.output_tokens == sum(
        r.message.usage.output_tokens for r in results.values() if r.message
    )


async def test_a_runner_in_a_fan_out_counts_against_both(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(call(1), text_response("done"))
    async with tms.open_fan_out(client) as fan:
        runner = client.messages.tool_runner(
            tools=[lookup], fan_out=fan, usage_limits=tms.UsageLimits(request_limit=5), **PARAMS
        )
        await runner.until_done()
    assert runner.usage.requests == 2
    assert fan.usage.requests == 2
    assert fan.usage.output_tokens == runner.usage.output_tokens


async def test_passing_the_group_budget_cancels_the_items_in_flight(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, server = conv_server
    conv.add(*(text_response(LONG, chunk_delay=1.0) for _ in range(3)))
    ended: list[int] = []

    class Watch(tms.MessageStream):
        async def on_end(self) -> None:
            ended.append(1)

    async def run_group() -> None:
        limits = tms.UsageLimits(output_tokens_limit=30)
        async with tms.open_fan_out(client, usage_limits=limits) as fan:
            for i in range(3):
                await fan.submit(i, event_handler=Watch, **PARAMS)
            await fan.gather()

    with trio.fail_after(600):
        start = trio.current_time()
        with pytest.raises(tms.UsageLimitExceeded) as info:
            await run_group()
        elapsed = trio.current_time() - start
    # three streams of 100 deltas a second: the 31st delta of the group comes after
    # about 10 s, and then every stream stops (not after the 100 s of a reply)
    assert elapsed < 20
    assert len(server.requests) == 3
    assert len(ended) == 3
    assert info.value.usage.output_tokens == 31
    assert info.value.partial_message is not None
