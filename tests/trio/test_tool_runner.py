"""The trio tool runner against the fake server: concurrency, eager start, errors,
timeouts, cancellation, max_iterations. Times are virtual (MockClock autojump)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import trio
import trio.testing

import trio_msgstream as tms
from trio_msgstream._trio.tool_runner import AsyncToolRunner
from trio_msgstream.testing import (
    Conversation,
    ConversationTurn,
    FakeAnthropicServer,
    ScriptedResponse,
    open_fake_anthropic,
    text_response,
    tool_calls_response,
)

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Plan my trip"}],
}
API_KEY = "sk-ant-secret-key-for-tests-1234"


class Probe:
    """Counts tools running at once and records when each starts and ends."""

    def __init__(self) -> None:
        self.running = 0
        self.max_running = 0
        self.log: list[tuple[str, str, float]] = []

    def start(self, name: str) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.log.append(("start", name, trio.current_time()))

    def end(self, name: str) -> None:
        self.running -= 1
        self.log.append(("end", name, trio.current_time()))

    def time(self, event: str, name: str) -> float:
        return next(t for e, n, t in self.log if e == event and n == name)


def make_tools(probe: Probe, seconds: dict[str, float]) -> list[tms.FunctionTool[Any]]:
    def sleeper(name: str) -> tms.FunctionTool[Any]:
        async def run(city: str) -> str:
            probe.start(name)
            try:
                await trio.sleep(seconds[name])
            finally:
                probe.end(name)
            return f"{name}: {city}"

        run.__doc__ = f"The {name} tool."
        return tms.tool(run, name=name)

    return [sleeper(name) for name in seconds]


def results_text(turn: ConversationTurn) -> str:
    return " | ".join(str(block.get("content")) for block in turn.tool_results)


@pytest.fixture
async def conv_server() -> AsyncIterator[tuple[Conversation, FakeAnthropicServer]]:
    conv = Conversation()
    async with open_fake_anthropic(responder=conv) as server:
        yield conv, server


@pytest.fixture
async def client(
    conv_server: tuple[Conversation, FakeAnthropicServer],
) -> AsyncIterator[tms.AsyncClient]:
    async with tms.AsyncClient(base_url=conv_server[1].base_url, api_key=API_KEY) as client:
        yield client


def runner(client: tms.AsyncClient, tools: list[Any], **kwargs: Any) -> AsyncToolRunner[Any]:
    return AsyncToolRunner(client, tools=tools, **{**PARAMS, **kwargs})


CALLS = [("flights", {"city": "Oslo"}), ("hotels", {"city": "Oslo"}), ("weather", {"city": "Oslo"})]


@pytest.mark.parametrize("stream", [False, True])
async def test_three_tools_two_at_a_time_under_the_cap(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
    stream: bool,
) -> None:
    conv, _ = conv_server
    conv.add(tool_calls_response(CALLS), lambda turn: text_response("Done: " + results_text(turn)))
    probe = Probe()
    tools = make_tools(probe, {"flights": 10, "hotels": 10, "weather": 10})
    with trio.fail_after(600):
        start = trio.current_time()
        async with runner(client, tools, max_concurrency=2, stream=stream) as agent:
            final = await agent.until_done()
        elapsed = trio.current_time() - start
    # 3 calls of 10 s, 2 at a time: 20 s (in sequence it would be 30 s, unlimited 10 s)
    assert elapsed == pytest.approx(20)
    assert probe.max_running == 2
    starts = sorted(t - start for e, _, t in probe.log if e == "start")
    assert starts == pytest.approx([0, 0, 10])  # two at once, the third when one ends
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == "Done: flights: Oslo | hotels: Oslo | weather: Oslo"  # type: ignore[union-attr]
    assert [b["tool_use_id"] for b in conv.turns[1].tool_results] == [
        "toolu_1",
        "toolu_2",
        "toolu_3",
    ]


async def test_without_a_cap_every_call_runs_at_once(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(tool_calls_response(CALLS), text_response("ok"))
    probe = Probe()
    tools = make_tools(probe, {"flights": 10, "hotels": 3, "weather": 7})
    with trio.fail_after(600):
        start = trio.current_time()
        # stream=False works without ``async with``: tools run in a nursery of the step
        await runner(client, tools).until_done()
        assert trio.current_time() - start == pytest.approx(10)
    assert probe.max_running == 3
    # results go back in tool_use order, not in completion order
    assert [b["content"] for b in conv.turns[1].tool_results] == [
        "flights: Oslo",
        "hotels: Oslo",
        "weather: Oslo",
    ]


async def test_disable_parallel_tool_use_runs_calls_in_sequence(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(tool_calls_response(CALLS[:2]), text_response("ok"))
    probe = Probe()
    tools = make_tools(probe, {"flights": 10, "hotels": 10})
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    with trio.fail_after(600):
        start = trio.current_time()
        await runner(client, tools, tool_choice=choice).until_done()
        assert trio.current_time() - start == pytest.approx(20)
    assert probe.max_running == 1
    assert conv.turns[0].body["tool_choice"] == choice


async def test_eager_start_runs_a_tool_while_the_reply_streams(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    # The flights call is complete early; the rest of the reply takes ~1 s per event.
    slow_reply = tool_calls_response(CALLS[:2], json_chunk_size=4, chunk_delay=1.0)
    probe = Probe()
    tools = make_tools(probe, {"flights": 10, "hotels": 1})
    timings: dict[str, float] = {}
    for eager in (False, True):
        conv.add(slow_reply, text_response("ok"))
        with trio.fail_after(600):
            start = trio.current_time()
            async with runner(client, tools, stream=True, run_tools_eagerly=eager) as agent:
                async for turn in agent:
                    assert isinstance(turn, tms.MessageStream)
                    await turn.until_done()
                    if eager and agent.iteration_count == 0:
                        # flights started before the reply had finished streaming
                        assert probe.time("start", "flights") < trio.current_time()
                        timings[f"stream_end_{eager}"] = trio.current_time() - start
                    else:
                        timings.setdefault(f"stream_end_{eager}", trio.current_time() - start)
            timings[str(eager)] = trio.current_time() - start
        if eager:
            flights_start = probe.time("start", "flights") - start
            assert flights_start < timings["stream_end_True"]
        probe.log.clear()
    stream_time = timings["stream_end_False"]
    assert stream_time > 10  # the reply itself streams for more than the tool takes
    assert timings["False"] == pytest.approx(stream_time + 10, abs=0.5)
    assert timings["True"] < stream_time + 2
    assert [t.tool_results[0]["content"] for t in conv.turns if t.tool_results] == [
        "flights: Oslo",
        "flights: Oslo",
    ]


async def test_tool_error_unknown_tool_and_timeout_become_error_results(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    calls = [("broken", {}), ("nosuch", {"x": 1}), ("hangs", {}), ("fine", {})]
    conv.add(tool_calls_response(calls), text_response("ok"))
    cleaned_up = trio.Event()

    @tms.tool
    async def broken() -> str:
        """Fails."""
        raise ValueError(f"cannot reach the backend with key {API_KEY}")

    @tms.tool
    async def hangs() -> str:
        """Never returns."""
        try:
            await trio.sleep_forever()
        finally:
            cleaned_up.set()
        return "unreachable"

    @tms.tool
    async def fine() -> str:
        """Works."""
        return "fine"

    with trio.fail_after(600):
        start = trio.current_time()
        final = await runner(client, [broken, hangs, fine], tool_timeout=30).until_done()
        assert trio.current_time() - start == pytest.approx(30)
    assert final.stop_reason == "end_turn"
    assert cleaned_up.is_set()
    broken_result, unknown, timed_out, ok = conv.turns[1].tool_results
    assert broken_result["is_error"] is True
    assert broken_result["content"].startswith("Error: ValueError: cannot reach the backend")
    assert API_KEY not in broken_result["content"]
    assert "Traceback" not in broken_result["content"]
    assert unknown["is_error"] is True
    assert "nosuch" in unknown["content"]
    assert timed_out == {
        "type": "tool_result",
        "tool_use_id": "toolu_3",
        "content": "Error: tool hangs timed out after 30 s",
        "is_error": True,
    }
    assert ok == {"type": "tool_result", "tool_use_id": "toolu_4", "content": "fine"}


async def test_sync_tools_run_in_a_worker_thread(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    # Real clock: an autojump clock would jump while the worker thread runs.
    import threading

    conv, _ = conv_server
    conv.add(tool_calls_response([("where", {}), ("fails", {})]), text_response("ok"))
    main_thread = threading.get_ident()

    @tms.tool
    def where() -> str:
        """Which thread."""
        return "worker" if threading.get_ident() != main_thread else "event loop"

    @tms.tool
    def fails() -> str:
        """Fails."""
        raise KeyError("missing")

    with trio.fail_after(10):
        await runner(client, [where, fails]).until_done()
    assert [r["content"] for r in conv.turns[1].tool_results] == [
        "worker",
        "Error: KeyError: 'missing'",
    ]


def _task_names() -> list[str]:
    names: list[str] = []

    def walk(task: trio.lowlevel.Task) -> None:
        names.append(task.name)
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(trio.lowlevel.current_root_task())
    return names


@pytest.mark.parametrize("eager", [False, True])
async def test_cancellation_mid_tool_leaves_nothing_behind(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
    eager: bool,
) -> None:
    conv, server = conv_server
    # The reply stalls after the tool call, so with eager start the stream is still
    # open while the tool runs.
    reply = tool_calls_response(CALLS[:1])
    if eager:
        reply.stall_after_bytes = len(reply.body) - 60
        reply.stall_seconds = 1000
    conv.add(reply, text_response("never sent"))
    probe = Probe()
    tools = make_tools(probe, {"flights": 1000})
    before = _task_names()
    with trio.fail_after(600):
        with trio.move_on_after(5) as scope:
            async with runner(client, tools, stream=True, run_tools_eagerly=eager) as agent:
                async for turn in agent:
                    await turn.until_done()
        assert scope.cancelled_caught
        assert trio.current_time() == pytest.approx(5)
        assert probe.log[-1][:2] == ("end", "flights")  # the tool's finally ran
        assert probe.running == 0
        after = _task_names()
        ours = [n for n in after if n.startswith("trio_msgstream.") and ".testing." not in n]
        assert ours == [
            n for n in before if n.startswith("trio_msgstream.") and ".testing." not in n
        ]
        await trio.testing.wait_all_tasks_blocked()
        assert server.active_requests == 0  # the connection was released: the server saw it go
    assert len(conv.turns) == 1


async def test_max_iterations_stops_a_model_that_never_stops(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(*[tool_calls_response(CALLS[:1]) for _ in range(10)])
    probe = Probe()
    tools = make_tools(probe, {"flights": 1})
    turns: list[Any] = []
    with trio.fail_after(600):
        agent = runner(client, tools, max_iterations=3)
        async for turn in agent:
            turns.append(turn)
        final = await agent.until_done()
    assert len(turns) == 3
    assert len(conv.turns) == 3
    assert agent.iteration_count == 3
    assert final is turns[-1]
    assert final.stop_reason == "tool_use"
    # tools ran after the first two turns only: the third turn ended the run
    assert [e for e, _, _ in probe.log].count("start") == 2


async def test_append_messages_takes_over_the_turns_tool_results(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(tool_calls_response(CALLS[:1]), text_response("ok"))
    probe = Probe()
    agent = runner(client, make_tools(probe, {"flights": 1}))
    with trio.fail_after(600):
        async for _turn in agent:
            if agent.iteration_count == 0:
                response = await agent.generate_tool_call_response()
                assert response is not None
                assert response["content"][0]["content"] == "flights: Oslo"
                edited = {**response["content"][0], "content": "edited"}
                agent.append_messages({"role": "user", "content": [edited]})
    assert conv.turns[1].tool_result_text() == "edited"
    assert len([e for e in probe.log if e[0] == "start"]) == 1  # not run twice


async def test_streaming_needs_async_with(client: tms.AsyncClient) -> None:
    with pytest.raises(RuntimeError, match="async with"):
        async for _ in runner(client, [], stream=True):
            pass
    with pytest.raises(ValueError, match="stream=True"):
        runner(client, [], run_tools_eagerly=True)


async def test_stream_failure_cancels_eager_tools(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    reply = tool_calls_response(CALLS[:1])
    conv.add(ScriptedResponse.error_event_after(len(reply.network_chunks()) - 2, reply))
    probe = Probe()
    with trio.fail_after(600):
        async with runner(
            client, make_tools(probe, {"flights": 100}), stream=True, run_tools_eagerly=True
        ) as agent:
            turn = await agent.__anext__()
            with pytest.raises(tms.OverloadedError):
                await turn.until_done()
            await trio.testing.wait_all_tasks_blocked()
            assert probe.running == 0
    assert trio.current_time() < 100


FAN_OUT_TOOL_SECONDS = 10.0


async def test_many_agent_loops_share_one_fan_out(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, server = conv_server

    def answer(turn: ConversationTurn) -> ScriptedResponse:
        if turn.tool_results:
            return text_response("Weather: " + turn.tool_result_text())
        city = turn.messages[-1]["content"]
        return tool_calls_response([("weather", {"city": city}, f"toolu_{city}")])

    conv.add(*[answer] * 40)
    probe = Probe()
    tools = make_tools(probe, {"weather": FAN_OUT_TOOL_SECONDS})
    cities = [f"city{n}" for n in range(20)]
    answers: dict[str, str] = {}

    async def agent(fan: tms.FanOut, city: str) -> None:
        agent = AsyncToolRunner(
            client,
            tools=tools,
            fan_out=fan,
            **{**PARAMS, "messages": [{"role": "user", "content": city}]},
        )
        final = await agent.until_done()
        answers[city] = final.content[0].text  # type: ignore[union-attr]

    with trio.fail_after(600):
        start = trio.current_time()
        async with tms.open_fan_out(client, max_concurrency=4) as fan:
            async with trio.open_nursery() as nursery:
                for city in cities:
                    nursery.start_soon(agent, fan, city)
        elapsed = trio.current_time() - start
    assert answers == {city: f"Weather: weather: {city}" for city in cities}
    assert server.max_concurrent_requests <= 4  # the fan-out's cap holds for every loop
    assert probe.max_running == 20  # tools are not requests: they all ran at once
    assert elapsed == pytest.approx(FAN_OUT_TOOL_SECONDS)


Factory = Callable[..., AsyncToolRunner[Any]]


async def test_client_tool_runner_streams_turns_with_partial_output(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    from pydantic import BaseModel

    from trio_msgstream.testing import json_response

    class Answer(BaseModel):
        summary: str

    conv, _ = conv_server
    conv.add(
        tool_calls_response(CALLS[:1]), json_response({"summary": "Oslo is nice"}, chunk_size=3)
    )
    probe = Probe()
    partial: list[str] = []
    with trio.fail_after(600):
        async with client.beta.messages.tool_runner(
            **PARAMS,
            tools=make_tools(probe, {"flights": 1}),
            stream=True,
            output_format=Answer,
        ) as agent:
            async for turn in agent:
                async for event in turn:
                    if event.type == "parsed_output" and event.snapshot is not None:
                        partial.append(event.snapshot.summary)
            final = agent.last_message
    assert final is not None
    assert final.parsed_output == Answer(summary="Oslo is nice")
    assert "Os" in partial
    assert conv.turns[1].tool_result_text() == "flights: Oslo"


async def test_a_conversation_answers_beyond_its_script_with_an_error(
    conv_server: tuple[Conversation, FakeAnthropicServer], client: tms.AsyncClient
) -> None:
    conv, _ = conv_server
    conv.add(text_response("one"))
    with trio.fail_after(10):
        first = await client.messages.create(**PARAMS)
        with pytest.raises(tms.InternalServerError, match="no step for request 2"):
            await client.with_options(max_retries=0).messages.create(**PARAMS)
    assert first.content[0].text == "one"  # type: ignore[union-attr]
    assert conv.remaining == 0
    assert [turn.stream for turn in conv.turns] == [False, False]


async def test_eager_start_respects_disable_parallel_tool_use(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    conv, _ = conv_server
    conv.add(tool_calls_response(CALLS[:2], chunk_delay=1.0), text_response("ok"))
    probe = Probe()
    tools = make_tools(probe, {"flights": 10, "hotels": 10})
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    with trio.fail_after(600):
        async with runner(
            client, tools, stream=True, run_tools_eagerly=True, tool_choice=choice
        ) as agent:
            await agent.until_done()
    assert probe.max_running == 1
    assert [name for event, name, _ in probe.log if event == "start"] == ["flights", "hotels"]
    assert [b["content"] for b in conv.turns[1].tool_results] == ["flights: Oslo", "hotels: Oslo"]


async def test_a_hung_tool_is_cut_by_the_default_timeout(
    autojump_clock: trio.testing.MockClock,
    conv_server: tuple[Conversation, FakeAnthropicServer],
    client: tms.AsyncClient,
) -> None:
    from trio_msgstream._trio.tool_runner import DEFAULT_TOOL_TIMEOUT

    conv, _ = conv_server
    conv.add(tool_calls_response([("hangs", {})]), text_response("ok"))

    @tms.tool
    async def hangs() -> str:
        """Never returns."""
        await trio.sleep_forever()
        return "unreachable"

    with trio.fail_after(DEFAULT_TOOL_TIMEOUT + 60):
        start = trio.current_time()
        await runner(client, [hangs]).until_done()
        assert trio.current_time() - start == pytest.approx(DEFAULT_TOOL_TIMEOUT)
    assert conv.turns[1].tool_result_text() == "Error: tool hangs timed out after 600 s"
