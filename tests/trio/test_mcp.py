"""MCP servers as tools of the trio runner: a real stdio MCP server (the mcp package's
MCPServer, tests/trio/_mcp_server.py), the conversions, and the example."""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    FakeAnthropicServer,
    FakeFiles,
    open_fake_anthropic,
    text_response,
    tool_calls_response,
)

mcp = pytest.importorskip("mcp")

from mcp import types as mt  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from trio_msgstream.mcp import (  # noqa: E402
    UnsupportedMCPValueError,
    async_mcp_tool,
    mcp_content,
    mcp_message,
    mcp_resource_to_content,
    mcp_resource_to_file,
    mcp_tool,
)

SERVER = StdioServerParameters(
    command=sys.executable, args=[str(Path(__file__).with_name("_mcp_server.py"))]
)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp" / "agent.py"
PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Go"}],
}


# -- conversions -------------------------------------------------------------------------


def test_content_blocks_convert() -> None:
    assert mcp_content(mt.TextContent(type="text", text="hi")) == {"type": "text", "text": "hi"}
    image = mt.ImageContent(type="image", data="AAAA", mime_type="image/png")
    assert mcp_content(image, cache_control={"type": "ephemeral"}) == {
        "type": "image",
        "source": {"type": "base64", "data": "AAAA", "media_type": "image/png"},
        "cache_control": {"type": "ephemeral"},
    }
    with pytest.raises(UnsupportedMCPValueError, match="image/tiff"):
        mcp_content(mt.ImageContent(type="image", data="AAAA", mime_type="image/tiff"))
    with pytest.raises(UnsupportedMCPValueError, match="audio"):
        mcp_content(mt.AudioContent(type="audio", data="AAAA", mime_type="audio/wav"))
    with pytest.raises(UnsupportedMCPValueError, match="resource_link"):
        mcp_content(mt.ResourceLink(type="resource_link", uri="file:///a", name="a"))
    text = mt.TextResourceContents(uri="file:///notes.md", mime_type="text/markdown", text="# N")
    assert mcp_content(mt.EmbeddedResource(type="resource", resource=text)) == {
        "type": "document",
        "source": {"type": "text", "data": "# N", "media_type": "text/plain"},
    }
    pdf = mt.BlobResourceContents(uri="file:///a.pdf", mime_type="application/pdf", blob="JVBE")
    assert mcp_content(mt.EmbeddedResource(type="resource", resource=pdf))["source"] == {
        "type": "base64",
        "data": "JVBE",
        "media_type": "application/pdf",
    }
    # mcp 1.x objects name their fields in camelCase.
    v1_image = SimpleNamespace(type="image", data="AAAA", mimeType="image/gif")
    assert mcp_content(v1_image)["source"]["media_type"] == "image/gif"


def test_prompts_and_resources_convert() -> None:
    message = mt.PromptMessage(role="user", content=mt.TextContent(type="text", text="Plan"))
    assert mcp_message(message) == {"role": "user", "content": [{"type": "text", "text": "Plan"}]}
    blob = base64.b64encode(b"x,y\n").decode()
    result = mt.ReadResourceResult(
        contents=[
            mt.BlobResourceContents(uri="data://a.bin", mime_type="application/zip", blob=blob),
            mt.BlobResourceContents(uri="data://dir/b.csv", mime_type="text/csv", blob=blob),
        ]
    )
    assert mcp_resource_to_content(result)["source"]["data"] == "x,y\n"
    assert mcp_resource_to_file(result) == ("a.bin", b"x,y\n", "application/zip")
    with pytest.raises(UnsupportedMCPValueError, match="no supported"):
        mcp_resource_to_content(mt.ReadResourceResult(contents=result.contents[:1]))
    with pytest.raises(UnsupportedMCPValueError):
        mcp_resource_to_file(mt.ReadResourceResult(contents=[]))


def test_a_tool_definition_keeps_the_mcp_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    tool = mt.Tool(name="forecast", description="Weather.", input_schema=schema)
    made = async_mcp_tool(tool, None, strict=True, cache_control={"type": "ephemeral"})  # type: ignore[arg-type]
    assert made.to_dict() == {
        "name": "forecast",
        "description": "Weather.",
        "input_schema": schema,
        "cache_control": {"type": "ephemeral"},
        "strict": True,
    }
    assert made.is_async


# -- against a real stdio MCP server ------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    with tempfile.TemporaryFile("w") as quiet:  # the server logs its tools' tracebacks
        async with stdio_client(SERVER, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Conversation, FakeAnthropicServer]]:
    conv = Conversation()
    async with open_fake_anthropic(responder=conv) as server:
        yield conv, server


async def _tools(session: ClientSession, *, sync: bool = False) -> list[tms.FunctionTool[Any]]:
    listed = await session.list_tools()
    if sync:
        return [mcp_tool(tool, session) for tool in listed.tools]
    return [async_mcp_tool(tool, session) for tool in listed.tools]


def _contents(conv: Conversation, turn: int) -> dict[str, Any]:
    return {r["tool_use_id"]: r for r in conv.turns[turn].tool_results}


@pytest.mark.slow  # starts the MCP server subprocess
@pytest.mark.parametrize("sync_tools", [False, True])
async def test_mcp_tools_of_a_turn_run_at_once_and_their_results_convert(
    session: ClientSession,
    fake: tuple[Conversation, FakeAnthropicServer],
    sync_tools: bool,
) -> None:
    conv, server = fake
    conv.add(
        tool_calls_response(
            [
                ("rendezvous", {"name": "a"}, "t_a"),
                ("rendezvous", {"name": "b"}, "t_b"),
                ("picture", {}, "t_pic"),
                ("measure", {"region": "north"}, "t_struct"),
                ("broken", {"city": "Oslo"}, "t_err"),
            ]
        ),
        text_response("done"),
    )
    tools = await _tools(session, sync=sync_tools)
    async with tms.AsyncClient(base_url=server.base_url, api_key="sk-ant-mcp-1234") as client:
        with trio.fail_after(30):
            final = await client.messages.tool_runner(
                tools=tools, tool_timeout=20, **PARAMS
            ).until_done()
    assert final.content[0].text == "done"  # type: ignore[union-attr]
    results = _contents(conv, 1)
    # each rendezvous call waited for the other: they ran at the same time
    assert results["t_a"]["content"] == [{"type": "text", "text": "a: met"}]
    assert results["t_b"]["content"] == [{"type": "text", "text": "b: met"}]
    assert results["t_pic"]["content"] == [
        {"type": "text", "text": "a red dot"},
        {
            "type": "image",
            "source": {"type": "base64", "data": "iVBORw0KGgo=", "media_type": "image/png"},
        },
    ]
    assert '"stations": 5' in str(results["t_struct"]["content"])
    assert results["t_err"]["is_error"] is True
    assert "broken" in str(results["t_err"]["content"])
    assert "is_error" not in results["t_a"]


@pytest.mark.slow  # starts the MCP server subprocess
async def test_the_tool_timeout_and_cancelling_the_runner_cancel_mcp_calls(
    session: ClientSession, fake: tuple[Conversation, FakeAnthropicServer]
) -> None:
    conv, server = fake
    conv.add(tool_calls_response([("hang", {"name": "x"})]), text_response("gave up"))
    conv.add(tool_calls_response([("hang", {"name": "y"})]))
    tools = await _tools(session)
    async with tms.AsyncClient(base_url=server.base_url, api_key="sk-ant-mcp-1234") as client:
        with trio.fail_after(30):
            final = await client.messages.tool_runner(
                tools=tools, tool_timeout=0.5, **PARAMS
            ).until_done()
            assert final.content[0].text == "gave up"  # type: ignore[union-attr]
            assert "timed out" in str(_contents(conv, 1)["toolu_1"]["content"])

            with trio.move_on_after(1) as scope:
                async with client.messages.tool_runner(tools=tools, **PARAMS) as runner:
                    await runner.until_done()
            assert scope.cancelled_caught
            await trio.sleep(0.3)  # the cancellation notification reaches the server
            report = await session.call_tool("hang_report", {})
    assert report.content[0].text == "2"  # type: ignore[union-attr]


@pytest.mark.slow  # starts the MCP server subprocess
async def test_resources_to_files_and_prompts_to_messages(session: ClientSession) -> None:
    async with open_fake_anthropic() as server:
        files = FakeFiles(server)
        async with tms.AsyncClient(base_url=server.base_url, api_key="sk-ant-mcp-1234") as client:
            resource = await session.read_resource("data://report.pdf")
            uploaded = await client.beta.files.upload(file=mcp_resource_to_file(resource))
            prompt = await session.get_prompt("greet", {"name": "Ada"})
    assert uploaded.filename == "report.pdf"
    assert uploaded.mime_type == "application/pdf"
    assert files.files[0].content == b"%PDF-1.7 tiny"
    assert mcp_message(prompt.messages[0])["content"][0]["text"] == "Say hello to Ada."
    assert mcp_resource_to_content(resource)["type"] == "document"


@pytest.mark.slow  # starts the MCP server subprocess
async def test_a_sync_mcp_tool_outside_a_loop_thread_says_what_to_do(
    session: ClientSession,
) -> None:
    listed = await session.list_tools()
    tool = mcp_tool(next(t for t in listed.tools if t.name == "hang_report"), session)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            tool.call({})
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    await trio.to_thread.run_sync(thread.join)
    assert isinstance(errors[0], RuntimeError)
    assert "portal=" in str(errors[0])


@pytest.mark.slow
def test_the_example_runs() -> None:
    from _shared import env_without_anthropic

    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_without_anthropic(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "MCP tools: ['broken', 'forecast', 'station_count']" in result.stdout
    assert "turn 1: ['text', 'tool_use', 'tool_use'], stop_reason=tool_use" in result.stdout
    assert "answer: Here is the plan. Oslo: snow, -3 °C / Lisbon: sunny, 19 °C" in result.stdout
