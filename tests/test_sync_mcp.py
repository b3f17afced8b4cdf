"""MCP tools on the sync client's runner: the session lives in an event loop of its own
thread (an anyio blocking portal), the runner's worker threads reach it with portal=."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    fake_anthropic_in_thread,
    text_response,
    tool_calls_response,
)

pytest.importorskip("mcp")

import anyio.from_thread
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from trio_msgstream.mcp import mcp_tool

SERVER = StdioServerParameters(
    command=sys.executable, args=[str(Path(__file__).parent / "trio" / "_mcp_server.py")]
)


@pytest.mark.slow  # starts the MCP server subprocess
def test_sync_runner_calls_mcp_tools_through_a_portal(tmp_path: Path) -> None:
    conv = Conversation(
        tool_calls_response(
            [("rendezvous", {"name": "a"}, "t_a"), ("rendezvous", {"name": "b"}, "t_b")]
        ),
        text_response("done"),
    )
    with (
        open(tmp_path / "server.log", "w") as log,
        anyio.from_thread.start_blocking_portal("trio") as portal,
        portal.wrap_async_context_manager(stdio_client(SERVER, errlog=log)) as (read, write),
        portal.wrap_async_context_manager(ClientSession(read, write)) as session,
    ):
        portal.call(session.initialize)
        listed = portal.call(session.list_tools)
        tools = [mcp_tool(tool, session, portal=portal) for tool in listed.tools]
        with fake_anthropic_in_thread(responder=conv) as server:
            with tms.Client(base_url=server.base_url, api_key="sk-ant-sync-mcp-1234") as client:
                with client.messages.tool_runner(
                    model="claude-sonnet-4-6",
                    max_tokens=256,
                    messages=[{"role": "user", "content": "Meet"}],
                    tools=tools,
                    max_concurrency=2,
                    tool_timeout=20,
                ) as runner:
                    final = runner.until_done()
    assert final.content[0].text == "done"  # type: ignore[union-attr]
    results = {r["tool_use_id"]: r["content"] for r in conv.turns[1].tool_results}
    # the two calls ran at the same time, from two worker threads of the runner
    assert results == {
        "t_a": [{"type": "text", "text": "a: met"}],
        "t_b": [{"type": "text", "text": "b: met"}],
    }
