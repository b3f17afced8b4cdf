"""The sync tool runner against the fake server (in a thread): sequence and thread pool,
eager start, errors, timeouts, max_iterations. Concurrency is proven with barriers,
never with wall-clock times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import trio_msgstream as tms
from trio_msgstream._sync.tool_runner import ToolRunner
from trio_msgstream.testing import (
    Conversation,
    ConversationTurn,
    FakeAnthropicServer,
    fake_anthropic_in_thread,
    json_response,
    text_response,
    tool_calls_response,
)

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Plan my trip"}],
}
WAIT = 10.0  # seconds a test thread waits for another before giving up


@pytest.fixture
def conv() -> Conversation:
    return Conversation()


@pytest.fixture
def server(conv: Conversation) -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread(responder=conv) as server:
        yield server


@pytest.fixture
def client(server: FakeAnthropicServer) -> Iterator[tms.Client]:
    with tms.Client(base_url=server.base_url, api_key="sk-ant-sync-secret-123456") as client:
        yield client


def contents(turn: ConversationTurn) -> list[Any]:
    return [block.get("content") for block in turn.tool_results]


def barrier_tools(parties: int) -> list[tms.FunctionTool[Any]]:
    """Tools that only finish when ``parties`` of them run at the same time."""
    barrier = threading.Barrier(parties, timeout=WAIT)

    def make(name: str) -> tms.FunctionTool[Any]:
        def run(city: str) -> str:
            barrier.wait()  # BrokenBarrierError (an error result) if run alone
            return f"{name}: {city}"

        run.__doc__ = f"The {name} tool."
        return tms.tool(run, name=name)

    return [make("flights"), make("hotels")]


CALLS = [("flights", {"city": "Oslo"}), ("hotels", {"city": "Oslo"})]


def test_a_thread_pool_runs_a_turns_tools_at_once(conv: Conversation, client: tms.Client) -> None:
    conv.add(tool_calls_response(CALLS), text_response("done"))
    with ToolRunner(client, tools=barrier_tools(2), max_concurrency=2, **PARAMS) as runner:
        final = runner.until_done()
    assert final.stop_reason == "end_turn"
    assert contents(conv.turns[1]) == ["flights: Oslo", "hotels: Oslo"]


def test_by_default_tools_run_in_sequence_in_the_calling_thread(
    conv: Conversation, client: tms.Client
) -> None:
    conv.add(tool_calls_response(CALLS), text_response("done"))
    threads: list[int] = []
    running = 0

    def make(name: str) -> tms.FunctionTool[Any]:
        def run(city: str) -> str:
            nonlocal running
            running += 1
            threads.append(threading.get_ident())
            assert running == 1
            running -= 1
            return name

        run.__doc__ = "A tool."
        return tms.tool(run, name=name)

    with ToolRunner(client, tools=[make("flights"), make("hotels")], **PARAMS) as runner:
        turns = list(runner)
    assert len(turns) == 2
    assert threads == [threading.get_ident()] * 2
    assert contents(conv.turns[1]) == ["flights", "hotels"]


def test_errors_unknown_tools_and_timeouts(conv: Conversation, client: tms.Client) -> None:
    calls = [("broken", {}), ("nosuch", {}), ("hangs", {}), ("fine", {})]
    conv.add(tool_calls_response(calls), text_response("done"))
    release = threading.Event()

    @tms.tool
    def broken() -> str:
        """Fails."""
        raise RuntimeError("backend said no to sk-ant-sync-secret-123456")

    @tms.tool
    def hangs() -> str:
        """Blocks until released."""
        release.wait(WAIT)
        return "late"

    @tms.tool
    def fine() -> list[dict[str, str]]:
        """Content blocks."""
        return [{"type": "text", "text": "fine"}]

    runner = ToolRunner(
        client, tools=[broken, hangs, fine], max_concurrency=4, tool_timeout=0.2, **PARAMS
    )
    try:
        runner.until_done()
    finally:
        release.set()  # let the abandoned call end so close() does not wait for WAIT
        runner.close()
    broken_result, unknown, timed_out, ok = conv.turns[1].tool_results
    assert broken_result["is_error"] is True
    assert broken_result["content"] == "Error: RuntimeError: backend said no to [redacted]"
    assert unknown["is_error"] is True
    assert "nosuch" in unknown["content"]
    assert timed_out["content"] == "Error: tool hangs timed out after 0.2 s"
    assert timed_out["is_error"] is True
    assert ok["content"] == [{"type": "text", "text": "fine"}]


def test_eager_start_while_the_reply_streams(conv: Conversation, client: tms.Client) -> None:
    reply = tool_calls_response(CALLS[:1])
    # The reply stalls before its end, after the tool_use block is complete.
    reply.stall_after_bytes = len(reply.body) - 60
    reply.stall_seconds = 2 * WAIT
    conv.add(reply, text_response("done"))
    started = threading.Event()

    @tms.tool
    def flights(city: str) -> str:
        """Flights."""
        started.set()
        return f"flights: {city}"

    saw_start_before_end = False
    with ToolRunner(
        client, tools=[flights], stream=True, run_tools_eagerly=True, **PARAMS
    ) as runner:
        turn = next(runner)
        assert isinstance(turn, tms.SyncMessageStream)
        for event in turn:
            if event.type == "content_block_stop":
                # the tool runs while the rest of the reply has not arrived
                saw_start_before_end = started.wait(WAIT)
                runner.close()  # do not wait for the stall: the check is done
                break
    assert saw_start_before_end


def test_max_iterations(conv: Conversation, client: tms.Client) -> None:
    conv.add(*[tool_calls_response(CALLS[:1]) for _ in range(5)])
    runs: list[str] = []

    @tms.tool
    def flights(city: str) -> str:
        """Flights."""
        runs.append(city)
        return city

    with ToolRunner(client, tools=[flights], max_iterations=2, **PARAMS) as runner:
        final = runner.until_done()
    assert final.stop_reason == "tool_use"
    assert len(conv.turns) == 2
    assert runs == ["Oslo"]


def test_async_tools_are_refused(client: tms.Client) -> None:
    @tms.tool
    async def aio() -> str:
        """Async."""
        return ""

    with pytest.raises(TypeError, match="async"):
        ToolRunner(client, tools=[aio], **PARAMS)


def test_output_format_parses_the_final_turn(conv: Conversation, client: tms.Client) -> None:
    from pydantic import BaseModel

    class Trip(BaseModel):
        city: str
        days: int

    conv.add(tool_calls_response(CALLS[:1]), json_response({"city": "Oslo", "days": 3}))

    @tms.tool
    def flights(city: str) -> str:
        """Flights."""
        return city

    with ToolRunner(client, tools=[flights], output_format=Trip, **PARAMS) as runner:
        final = runner.until_done()
    assert final.parsed_output == Trip(city="Oslo", days=3)
    assert conv.turns[0].body["output_config"]["format"]["type"] == "json_schema"
