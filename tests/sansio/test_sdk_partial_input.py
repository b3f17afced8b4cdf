"""Tool input snapshots keep the string being received (issue 19, item 8), checked
against the official SDK on the same bytes.

The SDK keeps the trailing string on beta streams that name the fine-grained tool
streaming beta; this library keeps it in every ``input_json`` snapshot (tools may
stream eagerly without the beta, ``eager_input_streaming``), so the comparison is with
the SDK's beta stream, and a regular SDK stream shows the same values minus the
trailing string. A message's own ``input`` keeps complete values only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sdk_oracle import sdk_input_json_snapshots

from trio_msgstream._core.stream.engine import StreamEngine
from trio_msgstream.testing import split_events, sse_bytes

FINE_GRAINED = "fine-grained-tool-streaming-2025-05-14"

PIECES = [
    '{"path": "a.t',
    'xt", "text": "Hello, wor',
    "ld \\u00",
    'e9 \\"q',
    '\\" done", "n": 1',
    '2, "tags": ["x", "y',
    'z"], "nested": {"k": "v',
    'al"}}',
]


def _body(pieces: list[str]) -> bytes:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-5-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "write", "input": {}},
        },
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
            for piece in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 30},
        },
        {"type": "message_stop"},
    ]
    return sse_bytes(events)


def _ours(body: bytes, *, lazy: bool) -> tuple[list[Any], list[Any]]:
    engine = StreamEngine(lazy_deltas=lazy)
    snapshots: list[Any] = []
    inputs: list[Any] = []
    for chunk in split_events(body):  # one event per chunk, read as it arrives
        for event in engine.receive_data(chunk):
            if event.type == "input_json":
                snapshots.append(json.loads(json.dumps(event.snapshot)))
                message = engine.snapshot()
                assert message is not None
                inputs.append(message.content[0].model_dump()["input"])
    engine.receive_eof()
    return snapshots, inputs


@pytest.mark.parametrize("lazy", [True, False], ids=["lazy", "typed"])
def test_snapshots_keep_the_trailing_string_as_the_sdks_fine_grained_stream(lazy: bool) -> None:
    body = _body(PIECES)
    sdk, sdk_final = sdk_input_json_snapshots(body, betas=[FINE_GRAINED])
    ours, _ = _ours(body, lazy=lazy)
    assert ours == sdk
    assert ours[1] == {"path": "a.txt", "text": "Hello, wor"}
    assert sdk_final["content"][0]["input"]["text"] == 'Hello, world é "q" done'


def test_the_unfinished_blocks_input_keeps_complete_values_only() -> None:
    # A message's input (the live snapshot, a partial message) is data a program acts
    # on: no cut string in it, as the SDK's regular stream; the raw text is in
    # partial_json.
    body = _body(PIECES)
    regular, _ = sdk_input_json_snapshots(body)
    _, inputs = _ours(body, lazy=True)
    assert inputs == regular
    assert inputs[1] == {"path": "a.txt"}


def test_the_sdks_regular_stream_shows_the_same_values_without_the_trailing_string() -> None:
    # The one difference from a regular (non-beta) SDK stream, as migrating.md says.
    body = _body(PIECES)
    regular, _ = sdk_input_json_snapshots(body)
    ours, _ = _ours(body, lazy=True)
    for mine, theirs in zip(ours, regular, strict=True):
        if mine != theirs:
            assert _without_trailing_string(mine) == theirs


def _without_trailing_string(value: Any) -> Any:
    # The value with the last string leaf removed (where the SDK stops).
    if isinstance(value, dict):
        if not value:
            return value
        *head, last = value
        rest = {k: value[k] for k in head}
        inner = value[last]
        if isinstance(inner, str):
            return rest
        return {**rest, last: _without_trailing_string(inner)}
    if isinstance(value, list) and value:
        if isinstance(value[-1], str):
            return value[:-1]
        return [*value[:-1], _without_trailing_string(value[-1])]
    return value
