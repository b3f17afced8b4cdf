"""MCP tools in a user's file: checked by mypy --strict and pyright --strict (never run)."""

from __future__ import annotations

from typing import Any, assert_type, cast

from mcp.client.session import ClientSession

import trio_msgstream as tms
from trio_msgstream.mcp import async_mcp_tool, mcp_message, mcp_resource_to_file
from trio_msgstream.types import MessageParam


async def agent(session: ClientSession) -> None:
    listed = await session.list_tools()
    tools = [async_mcp_tool(tool, session) for tool in listed.tools]
    assert_type(tools, list[tms.FunctionTool[Any]])
    prompt = await session.get_prompt("plan", {"city": "Oslo"})
    first = mcp_message(prompt.messages[0])
    async with tms.AsyncClient(api_key="sk-test") as client:
        # mcp_message gives a plain dict (as the official SDK's): typed parameters take
        # it as a MessageParam by a cast.
        runner = client.messages.tool_runner(
            model="claude-sonnet-4-6",
            max_tokens=64,
            tools=tools,
            messages=[cast("MessageParam", first)],
        )
        await runner.until_done()
        resource = await session.read_resource("data://a.pdf")
        uploaded = await client.beta.files.upload(file=mcp_resource_to_file(resource))
        assert_type(uploaded.id, str)
