"""Transcripts: the event sequence of a whole message, as the API streams it.

Builds the ``message_start`` ... ``message_stop`` events of text, tool-use and thinking
messages (deterministic ids, token estimates, word-sized pieces), and folds a transcript
into the equivalent non-streaming message with the core's own accumulator.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._core.stream.accumulate import MessageAccumulator
from .._core.stream.events import parse_event

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

from .._core.schema.model_names import DEFAULT_MODEL as _CURRENT_DEFAULT_MODEL

__all__ = [
    "DEFAULT_MODEL",
    "Block",
    "estimate_tokens",
    "message_events",
    "message_from_events",
    "signature_for",
    "stable_id",
    "text_block",
    "text_transcript",
    "thinking_transcript",
    "tool_use_transcript",
    "thinking_block",
    "tool_block",
    "tool_json_pieces",
    "word_pieces",
]

DEFAULT_MODEL = _CURRENT_DEFAULT_MODEL
"""Model name reported by canned responses when none is given (a current model)."""

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------- ids & tokens


def stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    number = int.from_bytes(digest[:20], "big")
    chars = []
    for _ in range(22):
        number, rem = divmod(number, 62)
        chars.append(_BASE62[rem])
    return prefix + "01" + "".join(chars)


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def word_pieces(text: str, words_per_piece: int = 1) -> list[str]:
    """Cut text into word-sized pieces, each carrying its leading whitespace."""
    if words_per_piece < 1:
        raise ValueError("words_per_piece must be >= 1")
    words = re.findall(r"\s*\S+", text)
    if not words:
        return [text] if text else []
    tail = text[sum(len(w) for w in words) :]
    words[-1] += tail
    return ["".join(words[i : i + words_per_piece]) for i in range(0, len(words), words_per_piece)]


def _fixed_pieces(text: str, size: int) -> list[str]:
    if size < 1:
        raise ValueError("piece size must be >= 1")
    return [text[i : i + size] for i in range(0, len(text), size)]


# --------------------------------------------------------------------------- event building


@dataclass
class Block:
    start: dict[str, Any]
    deltas: list[dict[str, Any]]


def text_block(pieces: Sequence[str]) -> Block:
    return Block(
        {"type": "text", "text": ""},
        [{"type": "text_delta", "text": piece} for piece in pieces],
    )


def tool_block(tool_id: str, name: str, json_pieces: Sequence[str]) -> Block:
    return Block(
        {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        [{"type": "input_json_delta", "partial_json": piece} for piece in json_pieces],
    )


def thinking_block(pieces: Sequence[str], signature: str) -> Block:
    deltas: list[dict[str, Any]] = [{"type": "thinking_delta", "thinking": p} for p in pieces]
    deltas.append({"type": "signature_delta", "signature": signature})
    return Block({"type": "thinking", "thinking": "", "signature": ""}, deltas)


def signature_for(thinking: str) -> str:
    digest = hashlib.sha256(("signature\x00" + thinking).encode("utf-8")).digest()
    return base64.b64encode(b"\x12\x0c" + digest + digest[:16]).decode("ascii")


def tool_json_pieces(tool_input: Any, piece_size: int) -> list[str]:
    text = json.dumps(tool_input, ensure_ascii=False)
    # The real API starts every tool_use block with an empty partial_json delta.
    return ["", *_fixed_pieces(text, piece_size)]


def message_events(
    *,
    model: str,
    blocks: Sequence[Block],
    stop_reason: str | None,
    stop_sequence: str | None = None,
    input_tokens: int,
    output_tokens: int,
    message_id: str,
    ping: bool = True,
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
    ]
    for index, block in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block.start})
        if ping and index == 0:
            events.append({"type": "ping"})
        for delta in block.deltas:
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    if ping and not blocks:
        events.append({"type": "ping"})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
            "usage": {"output_tokens": output_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return events


def text_transcript(
    text: str,
    *,
    model: str,
    chunk_size_words: int,
    input_tokens: int,
    stop_reason: str,
    stop_sequence: str | None,
    message_id: str | None,
) -> list[dict[str, Any]]:
    """The events of a message with one text block (see ``ScriptedResponse.text``)."""
    return message_events(
        model=model,
        blocks=[text_block(word_pieces(text, chunk_size_words))],
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=input_tokens,
        output_tokens=max(1, len(word_pieces(text))),
        message_id=message_id or stable_id("msg_", "text", model, text),
    )


def tool_use_transcript(
    name: str,
    input: Mapping[str, Any],
    *,
    text: str | None,
    model: str,
    tool_use_id: str | None,
    json_chunk_size: int,
    input_tokens: int,
    message_id: str | None,
) -> list[dict[str, Any]]:
    """The events of a tool call, optionally after text (``ScriptedResponse.tool_use``)."""
    input_json = json.dumps(input, ensure_ascii=False, sort_keys=True)
    blocks: list[Block] = []
    output_tokens = estimate_tokens(input_json) + 10
    if text:
        blocks.append(text_block(word_pieces(text)))
        output_tokens += len(word_pieces(text))
    tool_id = tool_use_id or stable_id("toolu_", name, input_json)
    blocks.append(tool_block(tool_id, name, tool_json_pieces(input, json_chunk_size)))
    return message_events(
        model=model,
        blocks=blocks,
        stop_reason="tool_use",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        message_id=message_id or stable_id("msg_", "tool", model, name, input_json, text or ""),
    )


def thinking_transcript(
    thinking: str,
    text: str,
    *,
    model: str,
    signature: str | None,
    input_tokens: int,
    message_id: str | None,
) -> list[dict[str, Any]]:
    """The events of a thinking block then a text block (``ScriptedResponse.thinking``)."""
    text_pieces = word_pieces(text)
    return message_events(
        model=model,
        blocks=[
            thinking_block(word_pieces(thinking, 4), signature or signature_for(thinking)),
            text_block(text_pieces),
        ],
        stop_reason="end_turn",
        input_tokens=input_tokens,
        output_tokens=len(word_pieces(thinking)) + len(text_pieces),
        message_id=message_id or stable_id("msg_", "thinking", model, thinking, text),
    )


def message_from_events(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold streaming events into the equivalent non-streaming Message object (JSON)."""
    accumulator = MessageAccumulator()
    for event in events:
        accumulator.apply(parse_event(str(event["type"]), json.dumps(event)))
    message = accumulator.snapshot()
    assert message is not None, "a transcript starts with message_start"
    dumped: dict[str, Any] = message.model_dump(mode="json", exclude_unset=True)
    return dumped
