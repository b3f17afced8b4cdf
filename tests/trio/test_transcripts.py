"""Every recorded/documented transcript streams through the loopback server.

The expected results come from a deliberately naive reference reader written here
(split on blank lines, ``json.loads`` each data line, concatenate), independent of the
library's decoder and accumulator, plus hand-written spot checks.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import trio
from _shared import API_KEY, PARAMS, TRANSCRIPTS

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    split_events,
)

FIXTURES = TRANSCRIPTS
ALL_FILES = sorted(p.name for p in FIXTURES.glob("*.sse"))
# The SDK's unit-test fixtures end without the final blank line (see the README there).
UNTERMINATED = sorted(
    name for name in ALL_FILES if not (FIXTURES / name).read_bytes().endswith(b"\n\n")
)
# A docs example whose elisions ("...]") leave one data payload that is not JSON.
INVALID_JSON = {"docs_web_search_server_tool.sse"}
STANDALONE_ERROR = {"docs_error_event.sse"}


def reference_read(body: bytes) -> dict[str, Any]:
    """What a careful person gets by reading the stream by hand."""
    blocks: dict[int, dict[str, Any]] = {}
    result: dict[str, Any] = {"stop_reason": None, "output_tokens": None, "stopped": False}
    for raw in re.split(r"\n\n", body.decode("utf-8")):
        data = "\n".join(
            line[5:].lstrip(" ") if line.startswith("data: ") else line[5:]
            for line in raw.split("\n")
            if line.startswith("data:")
        )
        if not data:
            continue
        payload = json.loads(data)
        kind = payload["type"]
        if kind == "content_block_start":
            blocks[payload["index"]] = {
                "block": payload["content_block"],
                "text": [],
                "json": [],
                "thinking": [],
                "signature": None,
            }
        elif kind == "content_block_delta":
            state, delta = blocks[payload["index"]], payload["delta"]
            if delta["type"] == "text_delta":
                state["text"].append(delta["text"])
            elif delta["type"] == "input_json_delta":
                state["json"].append(delta["partial_json"])
            elif delta["type"] == "thinking_delta":
                state["thinking"].append(delta["thinking"])
            elif delta["type"] == "signature_delta":
                state["signature"] = delta["signature"]
        elif kind == "message_delta":
            result["stop_reason"] = payload["delta"].get("stop_reason")
            result["output_tokens"] = payload.get("usage", {}).get("output_tokens")
        elif kind == "message_stop":
            result["stopped"] = True
    out = []
    for index in sorted(blocks):
        state = blocks[index]
        kind = state["block"]["type"]
        entry: dict[str, Any] = {"type": kind}
        if kind == "text":
            entry["text"] = "".join(state["text"])
        elif kind in ("tool_use", "server_tool_use"):
            raw_json = "".join(state["json"])
            entry["raw_json"] = raw_json
        elif kind == "thinking":
            entry["thinking"] = "".join(state["thinking"])
            entry["signature"] = state["signature"]
        out.append(entry)
    result["blocks"] = out
    return result


async def stream_file(server: FakeAnthropicServer, body: bytes) -> tms.MessageStream:
    """Serve ``body`` one SSE event per network chunk and consume it to the end.

    The stream's error, if any, is raised as itself: it is caught inside the nursery
    block, where the consumer sees it, before trio would group it on the way out.
    """
    server.enqueue(ScriptedResponse(body=body, chunks=split_events(body)))
    failure: BaseException | None = None
    async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
        async with trio.open_nursery() as nursery:
            try:
                async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
                    await stream.until_done()
            except tms.APIError as exc:
                failure = exc
    if failure is not None:
        raise failure
    return stream


def check_against_reference(message: tms.Message, expected: dict[str, Any]) -> None:
    assert message.stop_reason == expected["stop_reason"]
    if expected["output_tokens"] is not None:
        assert message.usage.output_tokens == expected["output_tokens"]
    assert [b.type for b in message.content] == [b["type"] for b in expected["blocks"]]
    for block, want in zip(message.content, expected["blocks"], strict=True):
        if isinstance(block, tms.TextBlock):
            assert block.text == want["text"]
        elif isinstance(block, (tms.ToolUseBlock, tms.ServerToolUseBlock)):
            if want["raw_json"]:
                try:
                    parsed = json.loads(want["raw_json"])
                except ValueError:  # cut off: the raw text must survive
                    assert block.partial_json == want["raw_json"]
                else:
                    assert block.input == parsed
                    assert block.partial_json is None
        elif isinstance(block, tms.ThinkingBlock):
            assert block.thinking == want["thinking"]
            assert block.signature == want["signature"]


COMPLETE = [
    n for n in ALL_FILES if n not in UNTERMINATED and n not in INVALID_JSON | STANDALONE_ERROR
]


@pytest.mark.parametrize("name", COMPLETE)
async def test_complete_transcript_yields_the_reference_message(
    server: FakeAnthropicServer, name: str
) -> None:
    body = (FIXTURES / name).read_bytes()
    stream = await stream_file(server, body)
    message = await stream.get_final_message()
    expected = reference_read(body)
    assert expected["stopped"]
    check_against_reference(message, expected)


@pytest.mark.parametrize("name", UNTERMINATED)
async def test_unterminated_sdk_fixture_as_served_is_incomplete(
    server: FakeAnthropicServer, name: str
) -> None:
    # WHATWG: a final event with no blank line after it is discarded at EOF, so the
    # stream as served ends before message_stop: a typed error, never a silent success.
    body = (FIXTURES / name).read_bytes()
    with pytest.raises(tms.IncompleteStreamError) as info:
        await stream_file(server, body)
    assert "unterminated event was discarded" in str(info.value)
    partial = info.value.partial_message
    assert partial is not None
    expected = reference_read(body)
    assert [b.type for b in partial.content] == [b["type"] for b in expected["blocks"]]


@pytest.mark.parametrize("name", UNTERMINATED)
async def test_unterminated_sdk_fixture_completed_yields_the_message(
    server: FakeAnthropicServer, name: str
) -> None:
    body = (FIXTURES / name).read_bytes().rstrip(b"\n") + b"\n\n"
    stream = await stream_file(server, body)
    check_against_reference(await stream.get_final_message(), reference_read(body))


async def test_docs_web_search_elided_payload_is_a_protocol_error_with_partial(
    server: FakeAnthropicServer,
) -> None:
    body = (FIXTURES / "docs_web_search_server_tool.sse").read_bytes()
    with pytest.raises(tms.StreamProtocolError) as info:
        await stream_file(server, body)
    partial = info.value.partial_message
    assert partial is not None
    assert [b.type for b in partial.content] == ["text", "server_tool_use"]
    assert partial.content[0].text == "I'll check the current weather in New York City for you."  # type: ignore[union-attr]
    assert partial.content[1].input == {"query": "weather NYC today"}  # type: ignore[union-attr]


async def test_docs_error_event_raises_overloaded(server: FakeAnthropicServer) -> None:
    body = (FIXTURES / "docs_error_event.sse").read_bytes()
    with pytest.raises(tms.OverloadedError) as info:
        await stream_file(server, body)
    assert info.value.mid_stream is True
    assert info.value.partial_message is None  # nothing had started


# Hand-written spot checks (independent of the reference reader).


async def test_spot_check_docs_tool_use(server: FakeAnthropicServer) -> None:
    stream = await stream_file(server, (FIXTURES / "docs_tool_use.sse").read_bytes())
    message = await stream.get_final_message()
    tool = message.content[1]
    assert isinstance(tool, tms.ToolUseBlock)
    assert tool.input == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert message.stop_reason == "tool_use"
    # New optional fields (caller, toolset_name) are None here.
    assert message.model_dump(exclude_none=True)["content"][1] == {
        "type": "tool_use",
        "id": tool.id,
        "name": "get_weather",
        "input": {"location": "San Francisco, CA", "unit": "fahrenheit"},
    }


async def test_spot_check_docs_thinking(server: FakeAnthropicServer) -> None:
    stream = await stream_file(server, (FIXTURES / "docs_extended_thinking.sse").read_bytes())
    message = await stream.get_final_message()
    thinking, text = message.content
    assert isinstance(thinking, tms.ThinkingBlock)
    assert isinstance(text, tms.TextBlock)
    assert thinking.thinking.startswith("Let me solve this step by step:")
    assert thinking.signature.startswith("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds")
    assert text.text == "27 * 453 = 12,231"


async def test_spot_check_incomplete_tool_json_keeps_raw_text(server: FakeAnthropicServer) -> None:
    body = (FIXTURES / "sdk_incomplete_partial_json_response.sse").read_bytes() + b"\n\n"
    stream = await stream_file(server, body)
    message = await stream.get_final_message()
    tool = message.content[1]
    assert isinstance(tool, tms.ToolUseBlock)
    assert message.stop_reason == "max_tokens"
    assert tool.partial_json is not None
    assert tool.partial_json.endswith('\n"Filing taxes')
    assert tool.input["filename"] == "taxes.txt"  # the partial parse, not {}


async def test_spot_check_compaction_block_is_typed(
    server: FakeAnthropicServer,
) -> None:
    body = (FIXTURES / "sdk_compaction_response.sse").read_bytes() + b"\n\n"
    stream = await stream_file(server, body)
    message = await stream.get_final_message()
    block = message.content[0]
    assert isinstance(block, tms.types.CompactionBlock)
    assert block.content == "Earlier conversation summarized."
    assert block.encrypted_content is not None
    assert block.encrypted_content.startswith("EpwBCioIDxgCEAEYASJALd")


async def test_spot_check_refusal_stop_details_preserved(server: FakeAnthropicServer) -> None:
    body = (FIXTURES / "sdk_refusal_response.sse").read_bytes() + b"\n\n"
    stream = await stream_file(server, body)
    message = await stream.get_final_message()
    assert message.stop_reason == "refusal"
    assert message.model_dump()["stop_details"]["category"] == "cyber"
