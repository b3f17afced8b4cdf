"""MCP tools in a user's file: checked by mypy --strict and pyright --strict (never run)."""

from __future__ import annotations

from typing import Any

from mcp.client.session import ClientSession
from typing_extensions import assert_type

import trio_msgstream as tms
from trio_msgstream.mcp import async_mcp_tool, mcp_message, mcp_resource_to_file


async def agent(session: ClientSession) -> None:
    listed = await session.list_tools()
    tools = [async_mcp_tool(tool, session) for tool in listed.tools]
    assert_type(tools, list[tms.FunctionTool[Any]])
    prompt = await session.get_prompt("plan", {"city": "Oslo"})
    first = mcp_message(prompt.messages[0])
    async with tms.AsyncClient(api_key="sk-test") as client:
        runner = client.messages.tool_runner(
            model="claude-sonnet-4-6", max_tokens=64, tools=tools, messages=[first]
        )
        await runner.until_done()
        resource = await session.read_resource("data://a.pdf")
        uploaded = await client.beta.files.upload(file=mcp_resource_to_file(resource))
        assert_type(uploaded.id, str)
