"""The stream ends at ``message_stop``: what follows is ignored whatever the chunking.

The same bytes (a whole stream, then something after ``message_stop``) are fed to the
engine cut at every position, in each of its modes; every cut gives the result of the
unsplit body: the same events, the same message, no error, a DEBUG record.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import trio_msgstream as tms
from trio_msgstream._core.stream.engine import StreamEngine
from trio_msgstream.testing import sse_bytes

FIXTURE = Path(__file__).parent.parent / "fixtures" / "anthropic" / "docs_tool_use.sse"
STREAM = FIXTURE.read_bytes()

TAILS = {
    "delta": sse_bytes(
        [
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "late"},
            }
        ]
    ),
    "error": sse_bytes(
        [{"type": "error", "error": {"type": "overloaded_error", "message": "late"}}]
    ),
    "second_start": sse_bytes(
        [{"type": "message_start", "message": {"id": "msg_2", "content": []}}]
    ),
    "bad_json": b"event: content_block_delta\ndata: {not json\n\n",
    "not_utf8": b"event: ping\ndata: \xff\xfe\n\n",
    "oversize": b"event: ping\ndata: " + b"x" * 600 + b"\n\n",
    "unterminated": b'event: content_block_stop\ndata: {"type":"content_block_stop","index":9}',
}

MODES: dict[str, dict[str, Any]] = {
    "accumulate": {},
    "lazy": {"lazy_deltas": True},
    "raw": {"accumulate": False},
}


def _engine(mode: str) -> StreamEngine:
    return StreamEngine(max_event_size=512, **MODES[mode])


def _run(mode: str, chunks: list[bytes]) -> tuple[list[str], Any]:
    engine = _engine(mode)
    kinds: list[str] = []
    for chunk in chunks:
        kinds += [e.type for e in engine.receive_data(chunk)]
    kinds += [e.type for e in engine.receive_eof()]
    assert engine.done
    return kinds, engine.snapshot()


def _stop_end(body: bytes) -> int:
    start = body.index(b"event: message_stop")
    return body.index(b"\n\n", start) + 2


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("tail", sorted(TAILS))
def test_what_follows_message_stop_is_ignored_at_every_cut(mode: str, tail: str) -> None:
    body = STREAM + TAILS[tail]
    expected = _run(mode, [STREAM])
    assert expected[0][-1] == "message_stop"
    assert _run(mode, [body]) == expected
    # Cuts around message_stop and through the tail: every position (the rest of
    # the stream at a stride, as cuts there are covered by the decoder's own tests).
    positions = sorted({*range(1, len(body), 97), *range(_stop_end(body) - 40, len(body))})
    for cut in positions:
        assert _run(mode, [body[:cut], body[cut:]]) == expected, cut


@pytest.mark.parametrize("mode", sorted(MODES))
def test_byte_by_byte_gives_the_same_result(mode: str) -> None:
    body = STREAM + b"".join(TAILS[name] for name in ("delta", "error", "bad_json"))
    expected = _run(mode, [STREAM])
    assert _run(mode, [body[i : i + 1] for i in range(len(body))]) == expected


def test_ignored_events_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_msgstream")
    engine = StreamEngine()
    engine.receive_data(STREAM + TAILS["delta"])
    engine.receive_data(TAILS["error"])
    engine.receive_eof()
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("'content_block_delta' event after message_stop" in m for m in messages)
    assert any("'error' event after message_stop" in m for m in messages)


def test_an_error_before_message_stop_still_raises() -> None:
    # Only what follows message_stop is ignored.
    engine = StreamEngine()
    cut = STREAM.index(b"event: message_stop")
    with pytest.raises(tms.OverloadedError, match="late"):
        engine.receive_data(STREAM[:cut] + TAILS["error"])
