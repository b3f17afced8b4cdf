#!/usr/bin/env python
"""An agent loop: the tool runner calls two tools, one slow, at the same time.

``@tms.tool`` turns a function into a tool (name, docstring, schema from the type
hints). ``client.messages.tool_runner(...)`` sends the request, runs the tools the model
asks for (all the calls of a turn at once, in a nursery the runner owns), sends the
results back, and repeats until the model answers without tools. Each tool call has a
timeout; a failing tool becomes an error result the model can read.

Without ``ANTHROPIC_API_KEY`` a local fake server plays the model: it asks for both
tools in one turn, then answers with what they returned.

Run: ``python examples/tool_runner.py``
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    ConversationTurn,
    ScriptedResponse,
    has_api_key,
    open_fake_anthropic,
    text_response,
    tool_calls_response,
)

MODEL = "claude-sonnet-5-5"
START = 0.0
running = 0
most_at_once = 0


def log(what: str) -> None:
    print(f"[{trio.current_time() - START:5.2f} s] {what}")


@tms.tool
async def search_flights(city: str) -> str:
    """Find flights to a city (slow: asks several airlines).

    Args:
        city: Destination city.
    """
    global running, most_at_once
    running += 1
    most_at_once = max(most_at_once, running)
    log(f"search_flights({city!r}) started")
    await trio.sleep(1.0)  # the slow one
    running -= 1
    log("search_flights finished")
    return f"3 flights to {city}, from 420 EUR"


@tms.tool
async def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name.
    """
    global running, most_at_once
    running += 1
    most_at_once = max(most_at_once, running)
    log(f"get_weather({city!r}) started")
    await trio.sleep(0.1)
    running -= 1
    log("get_weather finished")
    return f"sunny in {city}, 24 C"


def answer(turn: ConversationTurn) -> ScriptedResponse:
    results = "; ".join(str(block["content"]) for block in turn.tool_results)
    return text_response(f"Here is what I found: {results}.")


@asynccontextmanager
async def open_client() -> AsyncIterator[tms.AsyncClient]:
    """The real API with a key; otherwise a fake server that plays the model."""
    if has_api_key():
        async with tms.AsyncClient() as client:
            yield client
        return
    script = Conversation(
        tool_calls_response(
            [("search_flights", {"city": "Lisbon"}), ("get_weather", {"city": "Lisbon"})],
            text="Let me check flights and the weather.",
        ),
        answer,
    )
    async with open_fake_anthropic(responder=script) as server:
        print(
            f"trio-msgstream: ANTHROPIC_API_KEY is not set; using the embedded local "
            f"server at {server.base_url} (scripted answers)",
            file=sys.stderr,
        )
        async with tms.AsyncClient(base_url=server.base_url, api_key="demo") as client:
            yield client


async def main() -> None:
    global START
    async with open_client() as client:
        START = trio.current_time()
        async with client.messages.tool_runner(
            model=MODEL,
            max_tokens=1024,
            tools=[search_flights, get_weather],
            messages=[{"role": "user", "content": "Flights and weather for Lisbon?"}],
            tool_timeout=30,
            max_iterations=5,
        ) as runner:
            async for message in runner:
                kinds = [block.type for block in message.content]
                log(
                    f"turn {runner.iteration_count + 1}: {kinds}, stop_reason={message.stop_reason}"
                )
        final = runner.last_message
        assert final is not None
        print("answer:", final.content[-1].text)  # type: ignore[union-attr]
        print("tools running at once:", most_at_once)


if __name__ == "__main__":
    trio.run(main)
