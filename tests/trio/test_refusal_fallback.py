"""BetaRefusalFallbackMiddleware on both clients: the official SDK's refusal-fallback
cases (non-streaming and streaming), ported to the fake server, and beyond them.

Every test runs on the async and the sync client (``both``). The streams are in
``_fallback_wire``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from _fallback_wire import (
    FALLBACK,
    FALLBACKS,
    PARAMS,
    PING,
    PRIMARY,
    SECOND,
    STOP,
    STREAM_A,
    STREAM_A_TOOL,
    STREAM_B,
    TOOL_ID,
    TWO_FALLBACKS,
    Both,
    block_starts,
    end,
    hop_refusal,
    iterations,
    message,
    refusal,
    refused,
    seams,
    serving,
    skeleton,
    sse,
    start,
    text,
    thinking,
    tool_result,
    tool_use,
)

import trio_msgstream as tms
from trio_msgstream.middleware import (
    APIRequest,
    BetaFallbackState,
    BetaRefusalFallbackMiddleware,
)
from trio_msgstream.testing import error_response, open_fake_anthropic

LOGGER = "trio_msgstream.middleware"


@pytest.fixture(params=["async", "sync"])
async def both(request: pytest.FixtureRequest) -> AsyncIterator[Both]:
    async with open_fake_anthropic() as server:
        yield Both(str(request.param), server)


def mw(fallbacks: list[dict[str, Any]] = FALLBACKS, **kwargs: Any) -> list[Any]:
    return [BetaRefusalFallbackMiddleware(fallbacks, **kwargs)]


def logged(caplog: pytest.LogCaptureFixture, level: int = logging.ERROR) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= level]


def redeemed(token: str) -> dict[str, str]:
    return {"token": token, "mode": "best_effort"}


def seam(frm: str, to: str, category: str | None = None) -> dict[str, Any]:
    """A seam block as ``dumped`` shows it (a ``None`` category is left out)."""
    trigger = {"type": "refusal"} | ({"category": category} if category else {})
    return {"type": "fallback", "from": {"model": frm}, "to": {"model": to}, "trigger": trigger}


def dumped(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in blocks]


# -- non-streaming ---------------------------------------------------------------------------


async def test_retries_a_refusal_with_the_fallback_params_and_credit_token(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY, "credit-token", "cyber"), message(FALLBACK))
    result = await both.run(mw(), "create")
    assert result.model == FALLBACK
    assert result.stop_reason == "end_turn"
    assert dumped(result.content) == [seam(PRIMARY, FALLBACK, "cyber")]
    assert [b["model"] for b in both.bodies] == [PRIMARY, FALLBACK]
    assert both.bodies[1]["fallback_credit_token"] == redeemed("credit-token")
    assert both.betas == ["fallback-credit-2026-07-01"] * 2


async def test_pins_the_conversation_to_the_accepted_fallback_via_state(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(refused(PRIMARY), message(FALLBACK), message(FALLBACK))
    state = BetaFallbackState()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await both.run(mw(), "create", state=state)
        assert state.index == 0
        await both.run(mw(), "create", state=state)  # straight to the pinned fallback
    assert [b["model"] for b in both.bodies] == [PRIMARY, FALLBACK, FALLBACK]
    assert logged(caplog, logging.WARNING) == []


async def test_raises_if_the_state_index_is_out_of_bounds(both: Both) -> None:
    state = BetaFallbackState()
    state.index = 1
    with pytest.raises(tms.MsgStreamError, match=r"index 1 is out of bounds for a chain of 1"):
        await both.run(mw(), "create", state=state)
    assert both.server.requests == []


async def test_warns_once_when_falling_back_without_a_state(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(refused(PRIMARY), message(FALLBACK), refused(PRIMARY), message(FALLBACK))
    middleware = mw()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await both.run(middleware, "create")
        await both.run(middleware, "create")
    warnings = logged(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "BetaFallbackState" in warnings[0]


async def test_a_separate_conversation_is_unaffected_by_another_state(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY), message(FALLBACK), message(PRIMARY))
    middleware = mw()
    await both.run(middleware, "create", state=BetaFallbackState())
    await both.run(middleware, "create", state=BetaFallbackState())
    assert [b["model"] for b in both.bodies] == [PRIMARY, FALLBACK, PRIMARY]


async def test_leaves_accepted_requests_and_the_response_untouched(both: Both) -> None:
    both.server.enqueue(message(PRIMARY, content=[{"type": "text", "text": "ok"}]))
    state = BetaFallbackState()
    result = await both.run(mw(), "create", state=state)
    assert result.model == PRIMARY
    assert dumped(result.content) == [{"type": "text", "text": "ok"}]
    assert len(both.bodies) == 1
    assert "fallback_credit_token" not in both.bodies[0]
    assert state.index is None


async def test_walks_each_hop_through_the_chain_until_a_model_accepts(both: Both) -> None:
    ok = [{"type": "text", "text": "ok"}]
    both.server.enqueue(refused(PRIMARY), refused(FALLBACK), message(SECOND, content=ok))
    state = BetaFallbackState()
    result = await both.run(mw(TWO_FALLBACKS), "create", state=state)
    assert result.model == SECOND
    assert state.index == 1
    assert dumped(result.content) == [seam(PRIMARY, FALLBACK), seam(FALLBACK, SECOND), *ok]


async def test_a_pinned_continuation_seams_from_the_pinned_model(both: Both) -> None:
    ok = [{"type": "text", "text": "ok"}]
    both.server.enqueue(refused(FALLBACK), message(SECOND, content=ok))
    state = BetaFallbackState()
    state.index = 0
    result = await both.run(mw(TWO_FALLBACKS), "create", state=state)
    assert dumped(result.content) == [seam(FALLBACK, SECOND), *ok]
    assert [b["model"] for b in both.bodies] == [FALLBACK, SECOND]


async def test_returns_the_final_refusal_once_the_chain_is_exhausted(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY), refused(FALLBACK))
    result = await both.run(mw(), "create")
    assert (result.model, result.stop_reason, result.content) == (FALLBACK, "refusal", [])
    assert len(both.bodies) == 2


PATCHES: list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], list[Any]]] = [
    # (entry overrides, request changes, bodies' expected subsets per request)
    ({"max_tokens": 32}, {}, [{"max_tokens": 1024}, {"max_tokens": 32}], []),
    ({"max_tokens": None}, {}, [{"max_tokens": 1024}, {}], ["max_tokens"]),
    (
        {"output_config": {"effort": "high", "format": None}},
        {
            "output_config": {
                "effort": "low",
                "format": {"type": "json_schema", "schema": {"type": "object"}},
                "task_budget": {"type": "tokens", "total": 500},
            }
        },
        [
            {},
            {"output_config": {"effort": "high", "task_budget": {"type": "tokens", "total": 500}}},
        ],
        [],
    ),
    ({"output_config": None}, {"output_config": {"effort": "low"}}, [{}, {}], ["output_config"]),
    ({}, {"output_config": {"effort": "low"}}, [{}, {"output_config": {"effort": "low"}}], []),
    (
        {"output_config": {"effort": "high", "format": None}},
        {},
        [{}, {"output_config": {"effort": "high"}}],
        [],
    ),
    (
        {"output_config": {"effort": None, "format": None}},
        {"output_config": {"effort": "low", "format": {"type": "json_schema", "schema": {}}}},
        [{}, {}],
        ["output_config"],
    ),
    ({"output_config": {"effort": None}}, {}, [{}, {}], ["output_config"]),
    (
        {},
        {"thinking": {"type": "between_tools"}},
        [{"thinking": {"type": "between_tools"}}, {"thinking": {"type": "disabled"}}],
        [],
    ),
    (
        {"thinking": {"type": "adaptive"}},
        {"thinking": {"type": "between_tools"}},
        [{}, {"thinking": {"type": "adaptive"}}],
        [],
    ),
]


@pytest.mark.parametrize(("entry", "changes", "expected", "absent"), PATCHES)
async def test_each_entry_patches_the_original_params(
    both: Both,
    entry: dict[str, Any],
    changes: dict[str, Any],
    expected: list[dict[str, Any]],
    absent: list[str],
) -> None:
    both.server.enqueue(refused(PRIMARY), message(FALLBACK))
    await both.run(mw([{"model": FALLBACK, **entry}]), "create", **changes)
    for body, subset in zip(both.bodies, expected, strict=True):
        assert {k: body.get(k) for k in subset} == subset
    for key in absent:
        assert key not in both.bodies[1]  # unset: absent, never sent as null or {}


async def test_each_hop_patches_the_original_params_not_the_previous_hop(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY), refused(FALLBACK), message(SECOND))
    chain = [{"model": FALLBACK, "max_tokens": 32, "output_config": {"effort": "high"}}]
    await both.run(mw([*chain, {"model": SECOND}]), "create", output_config={"effort": "low"})
    assert [b["max_tokens"] for b in both.bodies] == [1024, 32, 1024]
    low, high = {"effort": "low"}, {"effort": "high"}
    assert [b["output_config"] for b in both.bodies] == [low, high, low]


async def test_a_fast_request_is_resent_without_speed_on_a_capacity_error(both: Both) -> None:
    both.server.enqueue(
        refused(PRIMARY), error_response(529, "overloaded_error"), message(FALLBACK)
    )
    result = await both.run(mw(), "create", extra_body={"speed": "fast"})
    assert result.model == FALLBACK
    assert [b.get("speed") for b in both.bodies] == ["fast", "fast", None]


async def test_a_hop_http_error_surfaces_to_the_app(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY, "tok"), error_response(400, "invalid_request_error"))
    with pytest.raises(tms.BadRequestError):
        await both.run(mw(), "create")
    assert len(both.bodies) == 2


async def test_server_side_fallbacks_raise_an_error(both: Both) -> None:
    for operation in ("create", "events"):
        with pytest.raises(tms.MsgStreamError, match=r"Sending the `fallbacks:` request param"):
            await both.run(mw(), operation, extra_body={"fallbacks": [{"model": "x"}]})
    assert both.server.requests == []


async def test_an_empty_chain_disables_the_middleware(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY, "tok"), sse(STREAM_A))
    assert (await both.run(mw([]), "create")).stop_reason == "refusal"
    events = await both.run(mw([]), "events")
    assert [e.delta.stop_reason for e in events if e.type == "message_delta"] == ["refusal"]
    assert both.betas == [None, None]


async def test_the_non_beta_surface_passes_through(both: Both) -> None:
    both.server.enqueue(refused(PRIMARY, "tok"))
    result = await both.run(mw(), "create", surface="messages")
    assert result.stop_reason == "refusal"
    assert both.betas == [None]


@pytest.mark.parametrize(
    ("options", "betas", "expected"),
    [
        ({"betas": ["fallback-credit-2027-01-01", "b-2"]}, None, "fallback-credit-2027-01-01,b-2"),
        ({"betas": []}, None, None),
        ({}, ["fallback-credit-2026-07-01"], "fallback-credit-2026-07-01"),
        ({}, ["interleaved-thinking"], "interleaved-thinking,fallback-credit-2026-07-01"),
    ],
)
async def test_the_beta_header(
    both: Both, options: dict[str, Any], betas: list[str] | None, expected: str | None
) -> None:
    both.server.enqueue(message(PRIMARY))
    await both.run(mw(**options), "create", **({"betas": betas} if betas else {}))
    assert both.betas == [expected]


async def test_nothing_is_logged_for_non_streaming_retries(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(refused(PRIMARY, "tok"), message(FALLBACK))
    await both.run(mw(), "create", state=BetaFallbackState())
    assert logged(caplog) == []


# -- BetaFallbackState ------------------------------------------------------------------------


def test_state_nesting_and_threads() -> None:
    from trio_msgstream._core.middleware.fallback import _state

    state, other = BetaFallbackState(), BetaFallbackState()
    with state:
        with state:
            assert _state.get() is state
        with other:
            assert _state.get() is other
        assert _state.get() is state
    assert _state.get() is None

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def thread_a() -> None:
        try:
            with state:
                a_in.set()
                assert b_in.wait(5)
        except BaseException as exc:
            errors.append(exc)
        finally:
            a_in.set()
            a_out.set()

    def thread_b() -> None:
        try:
            assert a_in.wait(5)
            with state:
                b_in.set()
                assert a_out.wait(5)
            assert _state.get() is None
        except BaseException as exc:
            errors.append(exc)
        finally:
            b_in.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []


# -- streaming: the splice ----------------------------------------------------------------------


async def test_splices_the_fallback_onto_the_refused_stream(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    state = BetaFallbackState()
    events = await both.run(mw(), "events", state=state)
    assert block_starts(events) == [(0, "thinking"), (1, "text"), (2, "fallback"), (3, "text")]
    assert seams(events) == [(PRIMARY, FALLBACK)]
    assert [e.type for e in events].count("message_start") == 1
    assert [e.type for e in events].count("message_delta") == 1
    assert [e.type for e in events].count("message_stop") == 1
    assert events[0].message.id == "msg_a"
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", FALLBACK)]
    assert state.index == 0


async def test_the_spliced_stream_accumulates_as_one_message(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    final = await both.run(mw(), "final")
    assert [b.type for b in final.content] == ["thinking", "text", "fallback", "text"]
    assert final.content[1].text == "Hi"
    assert final.content[3].text == " there! Happy to explain."
    assert final.stop_reason == "end_turn"
    assert [i.model for i in final.usage.iterations] == [PRIMARY, FALLBACK]


async def test_builds_the_hop_request_as_a_prefilled_continuation(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    await both.run(mw(), "events", betas=["interleaved-thinking"])
    hop = both.bodies[1]
    assert hop["model"] == FALLBACK
    assert hop["fallback_credit_token"] == redeemed("tok_a")
    assert "fallbacks" not in hop
    assert hop["max_tokens"] == 1024
    assert hop["messages"][0] == PARAMS["messages"][0]
    appended = hop["messages"][1]
    assert appended["role"] == "assistant"
    assert appended["content"] == [
        {"type": "thinking", "thinking": "A plain question about astronomy.", "signature": "sig=="},
        {"type": "text", "text": "Hi"},
    ]
    assert both.betas == ["interleaved-thinking,fallback-credit-2026-07-01"] * 2


async def test_a_refusal_without_a_prefill_claim_resends_the_same_body(both: Both) -> None:
    no_claim = [start(), *thinking(0, "considering"), refusal("tok_a", False), STOP]
    both.server.enqueue(sse(no_claim), sse(STREAM_B))
    await both.run(mw(), "events")
    assert both.bodies[1]["fallback_credit_token"] == redeemed("tok_a")
    assert both.bodies[1]["messages"] == PARAMS["messages"]


async def test_a_mid_stream_refusal_without_a_token_passes_through_and_logs(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    no_token = [start(), *text(0, "Hi"), refusal(None), STOP]
    both.server.enqueue(sse(no_token))
    events = await both.run(mw(), "events")
    assert len(both.bodies) == 1
    errors = logged(caplog)
    assert len(errors) == 1
    assert "no fallback_credit_token" in errors[0]
    assert seams(events) == []
    assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "refusal"


async def test_a_400_on_the_prefill_form_retries_the_hop_without_it(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(
        sse(STREAM_A), error_response(400, "invalid_request_error", "bad prefill"), sse(STREAM_B)
    )
    events = await both.run(mw(), "events")
    bodies = both.bodies
    assert len(bodies) == 3
    assert len(bodies[1]["messages"]) == 2
    assert bodies[2]["model"] == FALLBACK
    assert bodies[2]["fallback_credit_token"] == bodies[1]["fallback_credit_token"]
    assert bodies[2]["messages"] == PARAMS["messages"]
    assert logged(caplog) == []
    assert len(seams(events)) == 1
    assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "end_turn"


async def test_a_failed_fallback_replays_the_refusal_and_logs(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(
        sse(STREAM_A),
        error_response(400, "invalid_request_error", "nope"),
        error_response(400, "invalid_request_error", "nope"),
    )
    events = await both.run(mw(), "events")
    assert len(both.bodies) == 3
    errors = logged(caplog)
    assert len(errors) == 1
    assert "HTTP 400" in errors[0]
    assert FALLBACK in errors[0]
    assert seams(events) == []
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "refusal"
    assert delta.delta.stop_details.fallback_credit_token == "tok_a"
    assert delta.delta.stop_details.recommended_model is None
    assert iterations(delta) == [("message", PRIMARY)]
    assert events[-1].type == "message_stop"


async def test_a_capacity_failure_stamps_the_recommended_model(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse(STREAM_A), error_response(529, "overloaded_error", "later"))
    events = await both.run(mw(), "events")
    errors = logged(caplog)
    assert len(errors) == 1
    assert "HTTP 529" in errors[0]
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_details.recommended_model == FALLBACK


class _FailsHop:
    """Inside the fallback middleware: the ``n``-th request raises a connection error."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        if self.calls == self.n:
            raise tms.APIConnectionError("connection error: connection reset")

    async def __call__(self, request: APIRequest, call_next: Any) -> Any:
        self._check()
        return await call_next(request)

    def sync(self, request: APIRequest, call_next: Any) -> Any:
        self._check()
        return call_next(request)


async def test_a_fallback_request_that_raises_replays_the_refusal(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse(STREAM_A))
    fails = _FailsHop(2)
    events = await both.run([*mw(), _with_sync(fails)], "events")
    errors = logged(caplog)
    assert len(errors) == 1
    assert "connection error" in errors[0]
    assert FALLBACK in errors[0]
    assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "refusal"
    assert events[-1].type == "message_stop"


def _with_sync(middleware: _FailsHop) -> Any:
    async def as_async(request: APIRequest, call_next: Any) -> Any:
        return await middleware(request, call_next)

    as_async.sync = middleware.sync  # type: ignore[attr-defined]
    return as_async


async def test_a_non_refusal_stream_passes_through(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse([start(), *text(0, "Sure!"), *end()]))
    events = await both.run(mw(), "events")
    assert len(both.bodies) == 1
    assert logged(caplog) == []
    assert skeleton(events) == [
        "message_start",
        "start[0] text",
        "delta[0] text_delta",
        "stop[0]",
        "message_delta end_turn iter=[]",
        "message_stop",
    ]


async def test_a_pinned_state_starts_on_the_pinned_entry_and_chains_past_it(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    state = BetaFallbackState()
    state.index = 0
    await both.run(mw(TWO_FALLBACKS), "events", state=state)
    assert [b["model"] for b in both.bodies] == [FALLBACK, SECOND]
    assert state.index == 1


async def test_a_refused_hop_splices_its_partial_and_chains_on(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(hop_refusal()), sse(STREAM_B))
    events = await both.run(mw(TWO_FALLBACKS), "events")
    bodies = both.bodies
    assert [b["model"] for b in bodies] == [PRIMARY, FALLBACK, SECOND]
    assert bodies[2]["fallback_credit_token"] == redeemed("tok_b")
    assert bodies[2]["messages"][1]["content"] == [
        *bodies[1]["messages"][1]["content"],
        {"type": "text", "text": "Partial from B. "},
    ]
    assert block_starts(events) == [
        (0, "thinking"),
        (1, "text"),
        (2, "fallback"),
        (3, "text"),
        (4, "fallback"),
        (5, "text"),
    ]
    assert seams(events) == [(PRIMARY, FALLBACK), (FALLBACK, SECOND)]
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(deltas) == 1
    assert iterations(deltas[0]) == [
        ("message", PRIMARY),
        ("message", FALLBACK),
        ("fallback_message", SECOND),
    ]
    assert [e.type for e in events].count("message_stop") == 1


async def test_a_refused_hop_without_a_claim_keeps_the_previous_continuation(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(hop_refusal("tok_b", False)), sse(STREAM_B))
    await both.run(mw(TWO_FALLBACKS), "events")
    bodies = both.bodies
    assert bodies[2]["fallback_credit_token"] == redeemed("tok_b")
    assert bodies[2]["messages"] == bodies[1]["messages"]


async def test_an_http_failed_hop_is_skipped_and_its_token_carries(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse(STREAM_A), error_response(529, "overloaded_error"), sse(STREAM_B))
    events = await both.run(mw(TWO_FALLBACKS), "events")
    errors = logged(caplog)
    assert len(errors) == 1
    assert "HTTP 529" in errors[0]
    bodies = both.bodies
    assert bodies[2]["model"] == SECOND
    assert bodies[2]["fallback_credit_token"] == bodies[1]["fallback_credit_token"]
    assert bodies[2]["messages"] == bodies[1]["messages"]
    assert seams(events) == [(PRIMARY, SECOND)]
    delta = next(e for e in events if e.type == "message_delta")
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", SECOND)]


async def test_a_hop_that_raises_is_skipped_and_its_token_carries(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    events = await both.run([*mw(TWO_FALLBACKS), _with_sync(_FailsHop(2))], "events")
    assert len(logged(caplog)) == 1
    assert [b["model"] for b in both.bodies] == [PRIMARY, SECOND]
    assert both.bodies[1]["fallback_credit_token"] == redeemed("tok_a")
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", SECOND)]


async def test_a_terminal_refusal_carries_the_whole_chain(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse(STREAM_A), sse(hop_refusal()))
    events = await both.run(mw(), "events")
    assert len(both.bodies) == 2
    errors = logged(caplog)
    assert len(errors) == 1
    assert "no fallback entries remain" in errors[0]
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "refusal"
    assert delta.delta.stop_details.fallback_credit_token == "tok_b"
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", FALLBACK)]


async def test_a_token_less_refusal_on_the_final_hop_is_logged(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse(STREAM_A), sse(hop_refusal(None)))
    events = await both.run(mw(), "events")
    errors = logged(caplog)
    assert len(errors) == 1
    assert "no fallback_credit_token" in errors[0]
    assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "refusal"


async def test_with_nothing_to_hop_to_the_response_is_not_wrapped() -> None:
    from trio_msgstream.middleware import AsyncAPIResponse

    middleware = BetaRefusalFallbackMiddleware([{"model": FALLBACK}])
    client = tms.AsyncClient(api_key="k", base_url="http://127.0.0.1:9")
    spec = client.beta.messages._client.build_spec(
        {**PARAMS, "_trio_msgstream_beta": True}, stream=True
    )
    request = APIRequest(spec, stream=True, beta=True)
    answer = AsyncAPIResponse(None)
    calls: list[APIRequest] = []

    async def call_next(req: APIRequest) -> Any:
        calls.append(req)
        return answer

    state = BetaFallbackState()
    state.index = 0  # pinned to the last entry: nothing left to hop to
    with state:
        assert await middleware.handle_async(request, call_next) is answer
    assert len(calls) == 1


# -- pre-stream refusals, history, overrides ------------------------------------------------


async def test_a_pre_stream_refusal_opens_the_wire_with_the_serving_start(both: Both) -> None:
    both.server.enqueue(sse([start(), refusal("tok_a", False), STOP]), sse(serving()))
    events = await both.run(mw(), "events")
    starts = [e for e in events if e.type == "message_start"]
    assert len(starts) == 1
    assert (starts[0].message.model, starts[0].message.id) == (FALLBACK, "msg_a")
    assert block_starts(events) == [(0, "fallback"), (1, "text")]
    delta = next(e for e in events if e.type == "message_delta")
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", FALLBACK)]


async def test_a_token_less_pre_stream_refusal_still_retries(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    both.server.enqueue(sse([start(), PING, refusal(None), STOP]), sse(serving()))
    events = await both.run(mw(), "events")
    assert logged(caplog) == []
    assert both.bodies[1]["model"] == FALLBACK
    assert "fallback_credit_token" not in both.bodies[1]
    assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "end_turn"


async def test_a_chain_of_pre_stream_declines_queues_every_seam(both: Both) -> None:
    both.server.enqueue(
        sse([start(), refusal("tok_a", False), STOP]),
        sse([start(FALLBACK), refusal("tok_b"), STOP]),
        sse(serving(SECOND)),
    )
    events = await both.run(mw(TWO_FALLBACKS), "events")
    assert (events[0].type, events[0].message.id) == ("message_start", "msg_a")
    assert block_starts(events) == [(0, "fallback"), (1, "fallback"), (2, "text")]
    assert seams(events) == [(PRIMARY, FALLBACK), (FALLBACK, SECOND)]
    delta = next(e for e in events if e.type == "message_delta")
    assert iterations(delta) == [
        ("message", PRIMARY),
        ("message", FALLBACK),
        ("fallback_message", SECOND),
    ]


HISTORY_SEAM = {"type": "fallback", "from": {"model": PRIMARY}, "to": {"model": FALLBACK}}


async def test_history_seams_are_stripped_and_never_pin(both: Both) -> None:
    both.server.enqueue(sse(serving(PRIMARY)), sse(serving(PRIMARY)))
    turns = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": [HISTORY_SEAM, {"type": "text", "text": "earlier"}]},
        {"role": "user", "content": "and again?"},
    ]
    await both.run(mw(TWO_FALLBACKS), "events", messages=turns)
    turns[1]["content"] = [HISTORY_SEAM]  # a seam-only turn is dropped whole
    await both.run(mw(), "events", messages=turns)
    first, second = both.bodies
    assert first["model"] == PRIMARY
    assert first["messages"][1]["content"] == [{"type": "text", "text": "earlier"}]
    assert second["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "user", "content": "and again?"},
    ]
    assert both.betas == ["fallback-credit-2026-07-01"] * 2


async def test_entry_overrides_apply_to_the_hop_request(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A), sse(STREAM_B))
    await both.run(mw([{"model": FALLBACK, "max_tokens": 32}]), "events")
    assert [b["max_tokens"] for b in both.bodies] == [1024, 32]


# -- tools ------------------------------------------------------------------------------------


async def test_a_refusal_after_a_server_tool_prefills_the_rebuilt_tool_input(both: Both) -> None:
    stream_a = [
        start(),
        *thinking(0, "let me look this up"),
        *tool_use(1, "solar eclipse"),
        *tool_result(2),
        *text(3, "Based on that, "),
        refusal(),
        STOP,
    ]
    both.server.enqueue(sse(stream_a), sse(STREAM_B))
    events = await both.run(mw(), "events")
    assert [t for _, t in block_starts(events)] == [
        "thinking",
        "server_tool_use",
        "web_search_tool_result",
        "text",
        "fallback",
        "text",
    ]
    appended = both.bodies[1]["messages"][1]["content"]
    assert [b["type"] for b in appended] == [
        "thinking",
        "server_tool_use",
        "web_search_tool_result",
        "text",
    ]
    assert appended[1] == {
        "type": "server_tool_use",
        "id": TOOL_ID,
        "name": "web_search",
        "input": {"query": "solar eclipse"},
    }
    assert appended[2]["tool_use_id"] == TOOL_ID


async def test_the_tool_wire(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A_TOOL), sse(STREAM_B))
    events = await both.run(mw(), "events")
    assert block_starts(events) == [
        (0, "server_tool_use"),
        (1, "web_search_tool_result"),
        (2, "text"),
        (3, "fallback"),
        (4, "text"),
    ]
    appended = both.bodies[1]["messages"][1]["content"]
    assert appended[0]["input"] == {"query": "solar eclipse viewing safety"}


async def test_trailing_thinking_is_stripped_from_the_prefill(both: Both) -> None:
    ends_thinking = [
        start(),
        *tool_use(0, "x"),
        *tool_result(1),
        *thinking(2, "hmm"),
        refusal(),
        STOP,
    ]
    only_thinking = [start(), *thinking(0, "hmm", signature=None), refusal(), STOP]
    both.server.enqueue(sse(ends_thinking), sse(STREAM_B), sse(only_thinking), sse(STREAM_B))
    await both.run(mw(), "events")
    await both.run(mw(), "events")
    appended = both.bodies[1]["messages"][1]["content"]
    assert [b["type"] for b in appended] == ["server_tool_use", "web_search_tool_result"]
    assert both.bodies[3]["messages"] == PARAMS["messages"]  # nothing left: same body
    assert both.bodies[3]["fallback_credit_token"] == redeemed("tok_a")


# -- teardown, cancellation -------------------------------------------------------------------


async def test_closing_the_stream_mid_passthrough_makes_no_hop(both: Both) -> None:
    both.server.enqueue(sse(STREAM_A))
    events = await both.run(mw(), "events", read=2)
    assert len(events) == 2
    assert len(both.server.requests) == 1


async def test_closing_the_stream_while_a_hop_is_pending_cancels_it() -> None:
    async with open_fake_anthropic() as server:
        slow_hop = sse(STREAM_B)
        slow_hop.stall_after_bytes = 0
        slow_hop.stall_seconds = 60
        server.enqueue(sse(STREAM_A), slow_hop)
        async with tms.AsyncClient(
            base_url=server.base_url, api_key="k", middleware=mw(), max_retries=0
        ) as client:
            with trio.fail_after(10):
                async with client.beta.messages.stream(**PARAMS) as stream:
                    async for event in stream:
                        if event.type == "text":
                            break  # the primary's "Hi"
                    while len(server.requests) < 2:  # noqa: ASYNC110  (the server's list)
                        await trio.sleep(0.01)  # the producer reads on and sends the hop
                    await stream.aclose()  # while the hop's body stalls
        assert len(server.requests) == 2


# -- any framing --------------------------------------------------------------------------------


async def test_the_splice_reads_any_registered_framing(both: Both) -> None:
    # A length-prefixed JSON framing stands in for a binary one (Bedrock's event
    # stream): the splice decodes events, never reads the wire's text.
    from trio_msgstream.middleware import register_framing
    from trio_msgstream.sansio import ServerSentEvent

    class Framed:
        def __init__(self) -> None:
            self._buf = b""

        def feed(self, data: bytes) -> list[ServerSentEvent]:
            self._buf += data
            out = []
            while len(self._buf) >= 4:
                size = int.from_bytes(self._buf[:4], "big")
                if len(self._buf) < 4 + size:
                    break
                payload, self._buf = self._buf[4 : 4 + size], self._buf[4 + size :]
                event = json.loads(payload)
                out.append(ServerSentEvent(event=event["type"], data=payload.decode()))
            return out

    register_framing("application/x-test-framed", Framed)

    def framed(events: list[Any]) -> Any:
        response = sse(events)
        payloads = [json.dumps(e).encode() for e in events]
        response.body = b"".join(len(p).to_bytes(4, "big") + p for p in payloads)
        response.headers = [("content-type", "application/x-test-framed")]
        response.chunks = None
        return response

    both.server.enqueue(framed(STREAM_A), framed(STREAM_B))
    events = await both.run(mw(), "events")
    assert block_starts(events) == [(0, "thinking"), (1, "text"), (2, "fallback"), (3, "text")]
    delta = next(e for e in events if e.type == "message_delta")
    assert iterations(delta) == [("message", PRIMARY), ("fallback_message", FALLBACK)]
