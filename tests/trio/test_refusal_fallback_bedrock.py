"""The refusal-fallback splice over Bedrock's binary event-stream framing, on both
clients: the hops' bodies are ``application/vnd.amazon.eventstream`` frames, decoded by
the core's event-stream decoder (``_core/platforms/eventstream.py``); the caller gets
the same spliced message as over Server-Sent Events.

Runs once the platforms work (the decoder) is merged; until then the module is absent
and the test is skipped at import.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _fallback_wire import (
    FALLBACK,
    FALLBACKS,
    PRIMARY,
    STREAM_A,
    STREAM_B,
    Both,
    block_starts,
    iterations,
    seams,
)

from trio_msgstream.middleware import BetaFallbackState, BetaRefusalFallbackMiddleware
from trio_msgstream.testing import ScriptedResponse, open_fake_anthropic

eventstream = pytest.importorskip("trio_msgstream._core.platforms.eventstream")


@pytest.fixture(params=["async", "sync"])
async def both(request: pytest.FixtureRequest) -> AsyncIterator[Both]:
    async with open_fake_anthropic() as server:
        yield Both(str(request.param), server)


def framed(events: list[Any]) -> ScriptedResponse:
    body = b"".join(eventstream.encode_chunk(json.dumps(e)) for e in events)
    return ScriptedResponse(
        body=body,
        headers=[("content-type", eventstream.EVENTSTREAM_CONTENT_TYPE)],
        chunked_encoding=True,
    )


async def test_the_splice_over_bedrock_event_stream_frames(both: Both) -> None:
    both.server.enqueue(framed(STREAM_A), framed(STREAM_B))
    state = BetaFallbackState()
    events = await both.run([BetaRefusalFallbackMiddleware(FALLBACKS)], "events", state=state)
    assert block_starts(events) == [(0, "thinking"), (1, "text"), (2, "fallback"), (3, "text")]
    assert seams(events) == [(PRIMARY, FALLBACK)]
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", FALLBACK)]
    assert [e.type for e in events].count("message_start") == 1
    assert both.bodies[1]["fallback_credit_token"] == {"token": "tok_a", "mode": "best_effort"}
    assert state.index == 0
