"""The refusal-fallback middleware under ``usage_limits=``, on both clients.

How hops count: each HTTP hop is a request the API bills, so it counts toward
``request_limit`` (a hop that would pass it is not sent: ``UsageLimitExceeded``) and
its usage toward the token limits: a refused reply the middleware replaced
(non-streaming), the ``usage.iterations`` of the spliced stream (streaming, the sum over
the hops, as the API bills a reply made of several samplings). A hop's resend without
``speed`` or without the prefill is its retry, not a request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _fallback_wire import (
    FALLBACK,
    FALLBACKS,
    PRIMARY,
    SECOND,
    STREAM_A,
    STREAM_B,
    TWO_FALLBACKS,
    Both,
    hop_refusal,
    message,
    refused,
    serving,
    sse,
)

import trio_msgstream as tms
from trio_msgstream.middleware import BetaFallbackState, BetaRefusalFallbackMiddleware
from trio_msgstream.testing import error_response, open_fake_anthropic


@pytest.fixture(params=["async", "sync"])
async def both(request: pytest.FixtureRequest) -> AsyncIterator[Both]:
    async with open_fake_anthropic() as server:
        yield Both(str(request.param), server)


def mw(fallbacks: list[dict[str, Any]] = FALLBACKS) -> list[Any]:
    return [BetaRefusalFallbackMiddleware(fallbacks)]


def used(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens}


def _refused_with_usage(model: str, token: str, usage: dict[str, int]) -> Any:
    script = refused(model, token)
    return _with_usage(script, usage)


def _with_usage(script: Any, usage: dict[str, int]) -> Any:
    import dataclasses
    import json

    body = json.loads(script.body)
    body["usage"] = usage
    return dataclasses.replace(script, body=json.dumps(body).encode())


# -- non-streaming ---------------------------------------------------------------------


async def test_each_hop_is_a_request_and_the_refused_reply_is_billed(both: Both) -> None:
    tracker = tms.UsageTracker(tms.UsageLimits(request_limit=10))
    both.server.enqueue(
        _refused_with_usage(PRIMARY, "tok", used(100, 7)),
        _with_usage(message(FALLBACK), used(120, 30)),
    )
    result = await both.run(mw(), "create", state=BetaFallbackState(), usage_limits=tracker)
    assert result.model == FALLBACK
    usage = tracker.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 220, 37)


async def test_a_hop_that_would_pass_request_limit_is_not_sent(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY, "tok"), message(FALLBACK))
    with pytest.raises(tms.UsageLimitExceeded) as info:
        await both.run(mw(), "create", usage_limits=tms.UsageLimits(request_limit=1))
    assert info.value.limit == "request_limit"
    assert [b["model"] for b in both.bodies] == [PRIMARY]  # the hop was not sent


async def test_a_chain_stops_at_the_request_limit(both: Both) -> None:
    tracker = tms.UsageTracker(tms.UsageLimits(request_limit=2))
    both.server.enqueue(refused(PRIMARY, "t1"), refused(FALLBACK, "t2"), message(SECOND))
    with pytest.raises(tms.UsageLimitExceeded):
        await both.run(mw(TWO_FALLBACKS), "create", usage_limits=tracker)
    assert [b["model"] for b in both.bodies] == [PRIMARY, FALLBACK]
    assert tracker.usage.requests == 2


async def test_the_refused_replys_tokens_count_toward_token_limits(both: Both) -> None:
    # Alone, the served reply is within the limit; with the refused one it is over.
    both.server.enqueue(
        _refused_with_usage(PRIMARY, "tok", used(40, 30)),
        _with_usage(message(FALLBACK), used(40, 30)),
    )
    with pytest.raises(tms.UsageLimitExceeded) as info:
        await both.run(mw(), "create", usage_limits=tms.UsageLimits(output_tokens_limit=50))
    assert info.value.limit == "output_tokens_limit"


async def test_a_speed_resend_is_the_hops_retry_not_a_request(both: Both) -> None:
    tracker = tms.UsageTracker()
    both.server.enqueue(
        refused(PRIMARY, "tok"),
        error_response(529, "overloaded_error", "busy"),
        message(FALLBACK),
    )
    result = await both.run(mw(), "create", speed="fast", usage_limits=tracker)
    assert result.model == FALLBACK
    assert len(both.server.requests) == 3
    assert tracker.usage.requests == 2


# -- streaming -------------------------------------------------------------------------


async def test_a_spliced_stream_counts_every_hop(both: Both) -> None:
    tracker = tms.UsageTracker(tms.UsageLimits(request_limit=10))
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    final = await both.run(mw(), "final", state=BetaFallbackState(), usage_limits=tracker)
    assert final.model == FALLBACK
    usage = tracker.usage
    assert usage.requests == 2
    # The refused primary's 20 output tokens and the fallback's 9 (its usage.iterations).
    assert usage.output_tokens == 29
    assert final.usage.output_tokens == 9  # the served hop's own, as the API reports


async def test_a_stream_hop_that_would_pass_request_limit_is_not_sent(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    with pytest.raises(tms.UsageLimitExceeded) as info:
        await both.run(mw(), "final", usage_limits=tms.UsageLimits(request_limit=1))
    assert info.value.limit == "request_limit"
    assert info.value.partial_message is not None  # what the primary streamed
    assert [b["model"] for b in both.bodies] == [PRIMARY]


async def test_a_stream_chain_stops_at_the_request_limit(both: Both) -> None:
    tracker = tms.UsageTracker(tms.UsageLimits(request_limit=2))
    both.server.enqueue(sse(STREAM_A), sse(hop_refusal()), sse(serving(SECOND)))
    with pytest.raises(tms.UsageLimitExceeded):
        await both.run(mw(TWO_FALLBACKS), "events", usage_limits=tracker)
    assert [b["model"] for b in both.bodies] == [PRIMARY, FALLBACK]
    assert tracker.usage.requests == 2


async def test_the_hops_output_counts_toward_token_limits_in_a_stream(both: Both) -> None:
    # The primary's 20 output tokens are within the limit; with the fallback's 9 not.
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    with pytest.raises(tms.UsageLimitExceeded) as info:
        await both.run(mw(), "final", usage_limits=tms.UsageLimits(output_tokens_limit=25))
    assert info.value.limit == "output_tokens_limit"
    assert len(both.server.requests) == 2
