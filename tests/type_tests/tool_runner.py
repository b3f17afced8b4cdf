"""Type proofs of ``messages.tool_runner(...)`` on both clients (both checkers).

Its parameters are typed like the other entry points: the API's parameters (minus
``tools``, which takes ``@tool`` functions too), the request options, ``betas``,
``output_format`` and the runner's own settings. A misspelt or mistyped one is an
error (the ``type: ignore`` would be reported as unused otherwise).
"""

from __future__ import annotations

from typing import Any, assert_type

import trio_msgstream as tms

MODEL = "claude-sonnet-5-5"


@tms.tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tms.tool
async def get_time(city: str) -> str:
    """The time in a city."""
    return f"noon in {city}"


async def async_runner(client: tms.AsyncClient) -> None:
    runner = client.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[get_weather, get_time, {"type": "web_search_20250305", "name": "web_search"}],
        max_iterations=5,
        max_concurrency=4,
        tool_timeout=30.0,
        timeout=60.0,
        betas=["context-management-2025-06-27"],
    )
    assert_type(runner, tms.AsyncToolRunner[tms.ParsedMessage[Any]])
    final = await runner.until_done()
    print("".join(b.text for b in final.content if b.type == "text"))
    async with client.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[get_weather],
        stream=True,
        run_tools_eagerly=True,
    ) as streaming:
        assert_type(streaming, tms.AsyncToolRunner[tms.MessageStream])
        async for turn in streaming:
            assert_type(turn, tms.MessageStream)


async def async_typos(client: tms.AsyncClient) -> None:
    client.messages.tool_runner(  # type: ignore[call-overload]
        model=MODEL,
        max_token=1024,
        messages=[{"role": "user", "content": "Hi"}],
        tools=[get_weather],
    )
    m = client.messages  # one line: the checkers report this error on different lines
    m.tool_runner(model=MODEL, max_tokens=1, messages=[], tools=[], max_iterations="5")  # type: ignore[call-overload]
    client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Hi"}],
        tools=[42],  # type: ignore[list-item]
    )


def sync_runner(client: tms.Client) -> None:
    runner = client.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[get_weather, {"name": "lookup", "input_schema": {"type": "object"}}],
        max_concurrency=2,
    )
    assert_type(runner, tms.ToolRunner[tms.ParsedMessage[Any]])
    final = runner.until_done()
    for block in final.content:
        if block.type == "tool_use":
            print(block.input)
    with client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Hi"}],
        tools=[get_weather],
        stream=True,
    ) as streaming:
        assert_type(streaming, tms.ToolRunner[tms.SyncMessageStream])


def tools_built_elsewhere(client: tms.Client) -> None:
    tools: list[tms.RunnerTool] = [get_weather]
    tools.append({"type": "web_fetch_20250910", "name": "web_fetch"})
    client.messages.tool_runner(model=MODEL, max_tokens=64, messages=[], tools=tools)


def sync_typos(client: tms.Client) -> None:
    client.messages.tool_runner(  # type: ignore[call-overload]
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Hi"}],
        tools=[get_weather],
        tool_timeot=3.0,
    )
