#!/usr/bin/env python
"""A Trio agent whose tools come from an MCP server (``weather_server.py``, over stdio).

The MCP ``ClientSession`` runs in the same Trio event loop as the client: the tool
runner calls both ``forecast`` calls of a turn at once (one session multiplexes them),
each under the runner's ``tool_timeout``. The server's prompt becomes the first user
message, and its resource a document block of that message.

Without ``ANTHROPIC_API_KEY`` a local fake server plays the model: it asks for the
forecast of two cities in one turn, then answers with what the tools returned.

Run: ``python examples/mcp/agent.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import trio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

import trio_msgstream as tms
from trio_msgstream.mcp import async_mcp_tool, mcp_message, mcp_resource_to_content
from trio_msgstream.testing import (
    Conversation,
    has_api_key,
    open_fake_anthropic,
    text_response,
    tool_calls_response,
)

MODEL = "claude-sonnet-4-6"
SERVER = StdioServerParameters(
    command=sys.executable, args=[str(Path(__file__).with_name("weather_server.py"))]
)


async def run_agent(client: tms.AsyncClient) -> None:
    async with stdio_client(SERVER) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        tools = [async_mcp_tool(tool, session) for tool in listed.tools]
        print("MCP tools:", sorted(tool.name for tool in tools))

        prompt = await session.get_prompt("plan_trip", {"city": "Oslo"})
        first = mcp_message(prompt.messages[0])
        readme = await session.read_resource("weather://stations/readme.txt")
        first["content"].append(mcp_resource_to_content(readme))

        runner = client.messages.tool_runner(
            model=MODEL,
            max_tokens=1024,
            tools=tools,
            messages=[first],
            tool_timeout=30,
            usage_limits=tms.UsageLimits(request_limit=5),
        )
        turn = 0
        async for message in runner:
            turn += 1
            kinds = [block.type for block in message.content]
            print(f"turn {turn}: {kinds}, stop_reason={message.stop_reason}")
        final = runner.last_message
        assert final is not None
        print("answer:", final.content[0].text)  # type: ignore[union-attr]
        print("usage:", runner.usage.requests, "requests,", runner.usage.tool_calls, "tool calls")


def fake_model() -> Conversation:
    return Conversation(
        tool_calls_response(
            [("forecast", {"city": "Oslo"}), ("forecast", {"city": "Lisbon"})],
            text="Let me check the weather.",
        ),
        lambda turn: text_response(
            "Here is the plan. "
            + " / ".join(turn.tool_result_text(r["tool_use_id"]) for r in turn.tool_results)
        ),
    )


async def main() -> None:
    if has_api_key():
        async with tms.AsyncClient() as client:
            await run_agent(client)
        return
    print("(no ANTHROPIC_API_KEY: a local fake server plays the model)", file=sys.stderr)
    async with open_fake_anthropic(responder=fake_model()) as server:
        async with tms.AsyncClient(base_url=server.base_url, api_key="sk-demo") as client:
            await run_agent(client)


if __name__ == "__main__":
    trio.run(main)
