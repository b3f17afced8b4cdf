"""Retries (issue 3): exact request counts at the fake server, the server's retry
headers, the backoff measured on a MockClock, and never retrying delivered content."""

from __future__ import annotations

import email.utils
import itertools
import logging
import time
from typing import Any

import pytest
import trio
import trio.testing
from _failure_support import Recorder, fake_client, message_text
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    RecordedRequest,
    ScriptedResponse,
    error_response,
    sse_bytes,
    text_response,
)

TEXT = "Retried streams never duplicate a single word"


def overloaded(**kw: Any) -> ScriptedResponse:
    return error_response(529, "overloaded_error", **kw)


def timed(server: FakeAnthropicServer, *scripts: ScriptedResponse) -> list[float]:
    """Serve ``scripts`` in order (then the default responder) and record arrival times."""
    times: list[float] = []
    queue = list(scripts)
    default = server.responder
    assert default is not None

    def responder(request: RecordedRequest) -> ScriptedResponse:
        times.append(trio.current_time())
        return queue.pop(0) if queue else default(request)

    server.responder = responder
    return times


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def stream_text(client: tms.AsyncClient, **kw: Any) -> tuple[str, tms.MessageStream]:
    async with client.messages.stream(**PARAMS, **kw) as stream:
        text = await stream.get_final_text()
    return text, stream


async def test_overloaded_twice_then_success(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            server.fail_first(2, overloaded())
            server.enqueue(text_response(TEXT))
            text, stream = await stream_text(client)
            assert text == TEXT
            assert len(server.requests) == 3
            assert stream.attempts == 3
            assert stream.retries == 2
            assert stream.statistics().attempts == 3


async def test_budget_spent(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            server.fail_first(3, overloaded())
            with pytest.raises(tms.OverloadedError):
                await stream_text(client)
            assert len(server.requests) == 3


async def test_max_retries_zero() -> None:
    with trio.fail_after(10):
        async with fake_client(max_retries=0) as (server, client):
            server.fail_first(1, overloaded())
            with pytest.raises(tms.OverloadedError):
                await stream_text(client)
            assert len(server.requests) == 1


async def test_per_request_max_retries(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=0) as (server, client):
            server.fail_first(1, overloaded())
            text, _ = await stream_text(client, max_retries=1)
            assert text != ""
            assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, "invalid_request_error"), (401, "authentication_error"), (404, "not_found_error")],
)
async def test_client_errors_never_retried(status: int, error_type: str) -> None:
    with trio.fail_after(10):
        async with fake_client(max_retries=5) as (server, client):
            server.fail_first(1, error_response(status, error_type))
            with pytest.raises(tms.APIStatusError) as info:
                await stream_text(client)
            assert info.value.status_code == status
            assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (408, "timeout_error"),
        (409, "conflict_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "api_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
    ],
)
async def test_retryable_statuses(
    autojump_clock: trio.testing.MockClock, status: int, error_type: str
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=1) as (server, client):
            server.fail_first(1, error_response(status, error_type))
            text, stream = await stream_text(client)
            assert text != ""
            assert len(server.requests) == 2
            assert stream.retries == 1


async def test_html_502_retried(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=1) as (server, client):
            server.fail_first(1, ScriptedResponse.html(502))
            text, _ = await stream_text(client)
            assert text != ""
            assert len(server.requests) == 2


async def test_x_should_retry_false_wins_over_status() -> None:
    with trio.fail_after(10):
        async with fake_client(max_retries=3) as (server, client):
            server.fail_first(
                1, error_response(500, "api_error", headers=[("x-should-retry", "false")])
            )
            with pytest.raises(tms.InternalServerError):
                await stream_text(client)
            assert len(server.requests) == 1


async def test_x_should_retry_true_wins_over_status(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=3) as (server, client):
            bad = error_response(400, "invalid_request_error", headers=[("x-should-retry", "true")])
            server.fail_first(2, bad)
            text, _ = await stream_text(client)
            assert text != ""
            assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("retry-after", "3")], 3.0),
        ([("retry-after", "0.25")], 0.25),
        ([("retry-after-ms", "1500")], 1.5),
        ([("retry-after-ms", "1500"), ("retry-after", "9")], 1.5),  # -ms wins
    ],
)
async def test_retry_after_honoured(
    autojump_clock: trio.testing.MockClock, headers: list[tuple[str, str]], expected: float
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            times = timed(server, error_response(429, "rate_limit_error", headers=headers))
            text, _ = await stream_text(client)
            assert text != ""
            assert len(times) == 2
            assert gaps(times)[0] == pytest.approx(expected, abs=0.01)


async def test_retry_after_http_date(autojump_clock: trio.testing.MockClock) -> None:
    # An HTTP date is compared with the wall clock; its resolution is one second.
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            times = timed(server, overloaded(headers=[("retry-after", when)]))
            await stream_text(client)
            assert 2.9 <= gaps(times)[0] <= 4.1


async def test_exponential_backoff_with_jitter(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=4) as (server, client):
            times = timed(server, *[overloaded()] * 4)
            await stream_text(client)
            assert len(times) == 5
            # 0.5 s doubling, up to 25% jitter taken off.
            for i, gap in enumerate(gaps(times)):
                base = 0.5 * 2**i
                assert 0.75 * base - 0.01 <= gap <= base + 0.01


async def test_absurd_retry_after_falls_back_to_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=1) as (server, client):
            times = timed(server, overloaded(headers=[("retry-after", "3600")]))
            await stream_text(client)
            assert gaps(times)[0] <= 0.51


async def test_connection_drop_before_content_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            full = text_response(TEXT)
            first_event = len(full.network_chunks()[0])
            server.enqueue(
                text_response(TEXT, drop_after_bytes=0),
                text_response(TEXT, drop_after_bytes=first_event + 10, drop_with_reset=True),
                text_response(TEXT),
            )
            text, stream = await stream_text(client)
            assert text == TEXT
            assert len(server.requests) == 3
            assert stream.retries == 2


async def test_budget_shared_by_every_kind_of_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            server.enqueue(
                overloaded(),
                text_response(TEXT, drop_after_bytes=0),
                error_response(500, "api_error", "third strike"),
                text_response(TEXT),
            )
            with pytest.raises(tms.InternalServerError, match="third strike"):
                await stream_text(client)
            assert len(server.requests) == 3


class EventLog(Recorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.types: list[str] = []

    async def on_stream_event(self, event: Any) -> None:
        self.types.append(event.type)


@pytest.mark.parametrize("pings", [0, 3])
async def test_mid_stream_error_before_content_retried_transparently(
    autojump_clock: trio.testing.MockClock, pings: int
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            # message_start is held back until the first content event, so an error
            # right after it has shown the consumer nothing: retried, invisibly.
            source = text_response(TEXT)
            head = source.network_chunks()[0] + sse_bytes([{"type": "ping"}] * pings)
            error = sse_bytes([{"type": "error", "error": {"type": "overloaded_error"}}])
            server.enqueue(ScriptedResponse(body=head + error), source)
            async with client.messages.stream(**PARAMS, event_handler=EventLog) as stream:
                texts = [t async for t in stream.text_stream]
                message = await stream.get_final_message()
            assert isinstance(stream, EventLog)
            assert "".join(texts) == TEXT
            assert message_text(message) == TEXT
            assert stream.types.count("message_start") == 1
            assert stream.types.count("message_stop") == 1
            assert stream.types.count("ping") == 1  # the retry's own ping only
            assert stream.calls == ["on_end"]
            assert len(server.requests) == 2
            assert stream.retries == 1


async def test_mid_stream_error_after_content_not_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=5) as (server, client):
            source = text_response(TEXT)
            server.enqueue(ScriptedResponse.error_event_after(6, source), source)
            texts: list[str] = []

            async def read() -> None:
                async with client.messages.stream(**PARAMS, event_handler=EventLog) as stream:
                    async for text in stream.text_stream:
                        texts.append(text)

            with pytest.raises(tms.OverloadedError) as info:
                await read()
            assert info.value.mid_stream
            assert texts == ["Retried", " streams", " never"]
            assert message_text(info.value.partial_message) == "Retried streams never"
            assert len(server.requests) == 1


async def test_drop_after_content_not_retried() -> None:
    with trio.fail_after(10):
        async with fake_client(max_retries=5) as (server, client):
            full = text_response(TEXT)
            cut = sum(len(c) for c in full.network_chunks()[:5]) + 7
            server.enqueue(text_response(TEXT, drop_after_bytes=cut))
            with pytest.raises(tms.IncompleteStreamError) as info:
                await stream_text(client)
            assert message_text(info.value.partial_message) == "Retried streams"
            assert len(server.requests) == 1


async def test_each_retry_is_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_msgstream")
    with trio.fail_after(60):
        async with fake_client(max_retries=3) as (server, client):
            server.fail_first(2, overloaded(headers=[("retry-after", "1")]))
            await stream_text(client)
    records = [r for r in caplog.records if r.name == "trio_msgstream" and "retry" in r.message]
    assert len(records) == 2
    assert all(r.levelno == logging.DEBUG for r in records)
    assert "attempt 1 of 4 failed" in records[0].getMessage()
    assert "attempt 2 of 4 failed" in records[1].getMessage()
    assert all("retrying in 1.00 s" in r.getMessage() for r in records)
    assert all("OverloadedError" in r.getMessage() for r in records)
    assert all("sk-test" not in r.getMessage() for r in records)


async def test_raw_stream_retries_before_returning(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            server.fail_first(2, overloaded())
            server.enqueue(text_response(TEXT))
            async with await client.messages.create(stream=True, **PARAMS) as events:
                types = [event.type async for event in events]
            assert types[0] == "message_start"
            assert types[-1] == "message_stop"
            assert len(server.requests) == 3


async def test_create_retries(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with fake_client(max_retries=2) as (server, client):
            server.fail_first(2, overloaded())
            message = await client.messages.create(**PARAMS)
            assert message_text(message) != ""
            assert len(server.requests) == 3
