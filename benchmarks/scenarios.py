"""Deterministic Messages API event streams for the benchmark.

Every generator returns the SSE body as bytes, shaped like the real API's output
(message_start, content_block_start, a ping, deltas, content_block_stop, message_delta,
message_stop), built with ``trio_msgstream.testing.sse_bytes``. The fake server sends it
one network chunk per SSE event (``split_events``), like the real API.

A scenario is named by a key ``"<kind>:<scale>"``, e.g. ``"long_text:4"``; the same key
always yields the same bytes, so the server process and any checker agree without
shipping the bodies around.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from trio_msgstream.testing import sse_bytes

MODEL = "claude-sonnet-5-5"

# Base sizes (scale 1). ``--quick`` divides them (see ``size_divisor``).
SHORT_DELTAS = 200
LONG_DELTAS = 50_000
TOOL_CHUNKS = 20_000
TOOL_JSON_BYTES = 400_000
FANOUT_STREAMS = 200
FANOUT_DELTAS = 500
SLOW_STREAMS = 1_000
SLOW_DELTAS = 40
SLOW_DELAY = 0.05  # seconds between chunks of a slow stream

_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there one all we their been has more if "
    "stream event token model trio nursery channel python message delta block tool input"
).split()


@dataclass(frozen=True)
class Scenario:
    key: str
    body: bytes
    events: int
    """SSE events in the body (pings included)."""
    deltas: int
    """content_block_delta events."""
    chunk_delay: float = 0.0


def _message_start(message_id: str) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
                "service_tier": "standard",
            },
        },
    }


def _stream(
    message_id: str,
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    stop_reason: str,
    output_tokens: int,
) -> list[dict[str, Any]]:
    events = [_message_start(message_id)]
    for index, (start, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if index == 0:
            events.append({"type": "ping"})
        events.extend(
            {"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas
        )
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return events


def text_pieces(n: int, seed: int) -> list[str]:
    """``n`` text deltas of ~4 characters (a word and a space, sometimes punctuation)."""
    rng = random.Random(seed)
    pieces = []
    for i in range(n):
        word = rng.choice(_WORDS)[:5]
        if i % 17 == 16:
            word += "."
        pieces.append((" " if i else "") + word)
    return pieces


def _text_block(pieces: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return (
        {"type": "text", "text": ""},
        [{"type": "text_delta", "text": p} for p in pieces],
    )


def tool_input(target_bytes: int, seed: int) -> dict[str, Any]:
    """A deterministic JSON-able tool input whose compact dump is ~``target_bytes``."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    size = 12
    i = 0
    while size < target_bytes:
        row = {
            "id": i,
            "name": f"{rng.choice(_WORDS)}-{i}",
            "score": round(rng.random() * 100, 3),
            "tags": [rng.choice(_WORDS) for _ in range(3)],
            "ok": bool(i % 3),
        }
        rows.append(row)
        size += len(json.dumps(row, separators=(",", ":"))) + 1
        i += 1
    return {"rows": rows}


def _cut(text: str, n: int) -> list[str]:
    """Cut ``text`` into ``n`` pieces of (nearly) equal size."""
    bounds = [len(text) * k // n for k in range(n + 1)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _tool_block(tool_id: str, name: str, payload: str, n: int) -> tuple[dict[str, Any], list]:
    # The real API opens every tool_use block with an empty partial_json delta.
    pieces = ["", *_cut(payload, n - 1)] if n > 1 else [payload]
    return (
        {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        [{"type": "input_json_delta", "partial_json": p} for p in pieces],
    )


def _id(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:24]


def size_divisor(quick: bool) -> int:
    return 100 if quick else 1


@cache
def build(key: str) -> Scenario:
    """The scenario named ``key`` (``kind:scale`` or ``kind:scale:divisor``)."""
    parts = key.split(":")
    kind = parts[0]
    scale = float(parts[1]) if len(parts) > 1 else 1.0
    div = int(parts[2]) if len(parts) > 2 else 1
    msg_id = _id("msg_", key)
    delay = 0.0
    if kind == "short_chat":
        blocks = [_text_block(text_pieces(max(2, int(SHORT_DELTAS * scale) // div), 1))]
        stop = "end_turn"
    elif kind == "long_text":
        blocks = [_text_block(text_pieces(max(2, int(LONG_DELTAS * scale) // div), 2))]
        stop = "end_turn"
    elif kind == "big_tool":
        n = max(2, int(TOOL_CHUNKS * scale) // div)
        payload = json.dumps(
            tool_input(int(TOOL_JSON_BYTES * scale) // div, 3), separators=(",", ":")
        )
        blocks = [
            (
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": "I'll call the tool."}],
            ),
            _tool_block(_id("toolu_", key), "store_rows", payload, n),
        ]
        stop = "tool_use"
    elif kind == "mixed":
        m = max(1, int(scale * 10) // div)
        thinking = text_pieces(200 * m, 4)
        sig = hashlib.sha256(b"sig" + key.encode()).hexdigest() * 4
        blocks = [
            (
                {"type": "thinking", "thinking": "", "signature": ""},
                [{"type": "thinking_delta", "thinking": p} for p in thinking]
                + [{"type": "signature_delta", "signature": sig}],
            ),
            _text_block(text_pieces(300 * m, 5)),
            _tool_block(
                _id("toolu_a", key),
                "get_weather",
                json.dumps(tool_input(2_000 * m, 6), separators=(",", ":")),
                100 * m,
            ),
            _tool_block(
                _id("toolu_b", key),
                "search",
                json.dumps(tool_input(4_000 * m, 7), separators=(",", ":")),
                200 * m,
            ),
        ]
        stop = "tool_use"
    elif kind == "text":  # exactly ``scale`` text deltas (the arrival-pattern scenarios)
        blocks = [_text_block(text_pieces(max(2, int(scale) // div), 11))]
        stop = "end_turn"
    elif kind == "fanout":
        blocks = [_text_block(text_pieces(max(2, int(FANOUT_DELTAS * scale) // div), 8))]
        stop = "end_turn"
    elif kind == "slow":
        blocks = [_text_block(text_pieces(max(2, int(SLOW_DELTAS * scale)), 9))]
        stop = "end_turn"
        delay = SLOW_DELAY
    elif kind == "warmup":
        blocks = [_text_block(text_pieces(20, 10))]
        stop = "end_turn"
    else:
        raise ValueError(f"unknown scenario kind {kind!r}")
    output_tokens = sum(len(d) for _, d in blocks)
    events = _stream(msg_id, blocks, stop, output_tokens)
    body = sse_bytes(events)
    deltas = sum(1 for e in events if e["type"] == "content_block_delta")
    return Scenario(key=key, body=body, events=len(events), deltas=deltas, chunk_delay=delay)
