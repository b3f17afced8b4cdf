"""Fault matrix (issue 3): every fixture transcript, cut at a seeded sample of byte
offsets (>= 2,000 cuts in all), through the real loopback server and client.

Each cut must yield either the complete message, equal to the uncut one (possible only
when ``message_stop`` arrived before the cut), or a typed ``APIError`` whose
``partial_message`` is exactly what the complete events before the cut say, computed
by an independent reader here. All under ``trio.fail_after``: zero hangs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
from _failure_support import fake_client
from _shared import PARAMS
from _shared import TRANSCRIPTS as FIXTURES

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse

CUTS_PER_FILE = 100
SEED = 3


def transcript(path: Path) -> bytes:
    """The file as a server would send it: ending with a blank line (see the README)."""
    body = path.read_bytes()
    return body.rstrip(b"\n") + b"\n\n"


@dataclass
class Reference:
    """What the complete events of a body prefix say, per block index."""

    started: bool = False
    stopped: bool = False
    broken: bool = False  # an event whose data is not JSON: a real reader must fail here
    strings: dict[int, str] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)


def read_reference(prefix: bytes) -> Reference:
    ref = Reference()
    complete = prefix[: prefix.rfind(b"\n\n") + 2] if b"\n\n" in prefix else b""
    for block in complete.split(b"\n\n"):
        data = [line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
        if not data:
            continue
        try:
            event = json.loads(b"\n".join(data))
        except ValueError:
            ref.broken = True
            return ref
        kind = event.get("type")
        if kind == "message_start":
            ref.started = True
        elif kind == "content_block_start":
            ref.kinds[event["index"]] = event["content_block"]["type"]
            ref.strings.setdefault(event["index"], "")
        elif kind == "content_block_delta":
            delta = event["delta"]
            piece = delta.get("text", delta.get("thinking", delta.get("partial_json", "")))
            if delta["type"] in ("text_delta", "thinking_delta", "input_json_delta"):
                ref.strings[event["index"]] = ref.strings.get(event["index"], "") + piece
        elif kind == "content_block_stop":
            ref.closed.add(event["index"])
        elif kind == "message_stop":
            ref.stopped = True
    return ref


def check_partial(message: tms.Message | None, ref: Reference, where: str) -> None:
    if not ref.started:
        assert message is None, where
        return
    assert message is not None, where
    assert len(message.content) == len(ref.kinds), where
    for index, block in enumerate(message.content):
        assert block.type == ref.kinds[index], where
        expected = ref.strings.get(index, "")
        if isinstance(block, tms.TextBlock):
            assert block.text == expected, where
        elif isinstance(block, tms.ThinkingBlock):
            assert block.thinking == expected, where
        elif isinstance(block, (tms.ToolUseBlock, tms.ServerToolUseBlock)):
            if index in ref.closed:
                assert block.partial_json is None, where
                assert block.input == (json.loads(expected) if expected else {}), where
            else:
                # Incomplete tool JSON is kept as its raw text, never turned into {}.
                assert (block.partial_json or "") == expected, where


async def outcome(client: tms.AsyncClient) -> tms.Message | tms.APIError:
    try:
        async with client.messages.stream(**PARAMS) as stream:
            return await stream.get_final_message()
    except tms.APIError as exc:
        return exc


@pytest.mark.slow
async def test_every_transcript_cut_at_sampled_offsets() -> None:
    rng = random.Random(SEED)
    files = sorted(FIXTURES.glob("*.sse"))
    assert len(files) >= 20
    total = 0
    outcomes: dict[str, int] = {}
    with trio.fail_after(120):
        async with fake_client(max_retries=0) as (server, client):
            for path in files:
                body = transcript(path)
                server.enqueue(ScriptedResponse(body=body))
                uncut = await outcome(client)
                offsets = set(range(len(body) + 1))
                if len(offsets) > CUTS_PER_FILE:
                    offsets = {0, 1, len(body) - 1, len(body)} | set(
                        rng.sample(range(len(body) + 1), CUTS_PER_FILE - 4)
                    )
                for cut in sorted(offsets):
                    where = f"{path.name} cut at {cut}/{len(body)}"
                    server.enqueue(ScriptedResponse(body=body, drop_after_bytes=cut))
                    with trio.fail_after(5):
                        result = await outcome(client)
                    ref = read_reference(body[:cut])
                    total += 1
                    outcomes[type(result).__name__] = outcomes.get(type(result).__name__, 0) + 1
                    if isinstance(result, tms.Message):
                        assert ref.stopped, f"{where}: success without message_stop"
                        assert result == uncut, where
                        continue
                    assert isinstance(result, tms.APIError), where
                    if isinstance(uncut, tms.APIError) and type(result) is type(uncut):
                        # The transcript's own failure, reached before the cut.
                        assert result.message == uncut.message, where
                    else:
                        assert isinstance(result, tms.IncompleteStreamError), (where, result)
                        assert not ref.stopped, where
                    if ref.broken:
                        continue  # the reference stops at the bad event
                    check_partial(result.partial_message, ref, where)
    assert total >= 2000
    assert outcomes.get("Message", 0) > 0
    assert outcomes.get("IncompleteStreamError", 0) > 1500
    assert server.active_requests == 0


async def raw_outcome(client: tms.AsyncClient) -> list[str] | tms.APIError:
    try:
        async with await client.messages.create(stream=True, **PARAMS) as events:
            return [event.type async for event in events]
    except tms.APIError as exc:
        return exc


@pytest.mark.slow
async def test_raw_stream_cut_at_sampled_offsets() -> None:
    rng = random.Random(SEED + 1)
    total = 0
    with trio.fail_after(60):
        async with fake_client(max_retries=0) as (server, client):
            for path in sorted(FIXTURES.glob("*.sse")):
                body = transcript(path)
                server.enqueue(ScriptedResponse(body=body))
                uncut = await raw_outcome(client)
                for cut in {len(body), len(body) - 1, *rng.sample(range(len(body)), 10)}:
                    where = f"{path.name} cut at {cut}/{len(body)}"
                    server.enqueue(ScriptedResponse(body=body, drop_after_bytes=cut))
                    with trio.fail_after(5):
                        result = await raw_outcome(client)
                    total += 1
                    if isinstance(result, list):
                        assert read_reference(body[:cut]).stopped, where
                        assert result == uncut, where
                    elif not (isinstance(uncut, tms.APIError) and type(result) is type(uncut)):
                        assert isinstance(result, tms.IncompleteStreamError), (where, result)
    assert total >= 200
