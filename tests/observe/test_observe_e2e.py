"""Telemetry end to end: real requests to the fake server, spans and records checked.

Both clients, streams and ``create()``, retries, errors, fan-out nesting, and what
must never be recorded (the key, and content unless opted in).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trio
from _otel_support import Telemetry, telemetry_fixture, text_of
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import trio_msgstream as tms
from trio_msgstream._core.observe import telemetry as observe
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    text_response,
)

KEY = "sk-ant-api03-E2E-SECRET-KEY-never-recorded"
PROMPT = "E2E-SECRET-PROMPT tell me"
PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": PROMPT}],
}
CHAT = "chat claude-sonnet-5-5"


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    monkeypatch.delenv(observe.CAPTURE_CONTENT_ENV, raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    yield from telemetry_fixture()


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropicServer]:
    async with open_fake_anthropic() as server:
        yield server


def _client(server: FakeAnthropicServer, **options: Any) -> tms.AsyncClient:
    return tms.AsyncClient(base_url=server.base_url, api_key=KEY, **options)


def _chat_spans(telemetry: Telemetry) -> list[Any]:
    return [span for span in telemetry.finished() if span.name == CHAT]


async def test_stream_span(telemetry: Telemetry, server: FakeAnthropicServer) -> None:
    server.enqueue(text_response("one two three"))
    tracer = trace.get_tracer("the-app")
    async with _client(server) as client:
        with tracer.start_as_current_span("caller") as caller, trio.fail_after(10):
            async with client.messages.stream(**PARAMS) as stream:
                message = await stream.get_final_message()
                request_id = stream.request_id
    (span,) = _chat_spans(telemetry)
    attributes = dict(span.attributes or {})
    host, port = server.base_url.split("//", 1)[1].rstrip("/").split(":")
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == "claude-sonnet-5-5"
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["server.address"] == host
    assert attributes["server.port"] == int(port)
    assert attributes["gen_ai.response.id"] == message.id
    assert attributes["gen_ai.response.model"] == message.model
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.usage.input_tokens"] == message.usage.input_tokens
    assert attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    assert attributes["anthropic.request.id"] == request_id
    assert attributes["http.response.status_code"] == 200
    assert attributes["gen_ai.response.time_to_first_chunk"] >= 0
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is not None
    assert span.parent.span_id == caller.get_span_context().span_id


async def test_create_span(telemetry: Telemetry, server: FakeAnthropicServer) -> None:
    async with _client(server) as client:
        with trio.fail_after(10):
            message = await client.messages.create(**PARAMS)
    (span,) = _chat_spans(telemetry)
    assert span.attributes is not None
    assert "gen_ai.request.stream" not in span.attributes
    assert span.attributes["gen_ai.response.id"] == message.id
    assert span.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens


async def test_retries_are_events_of_one_span(
    telemetry: Telemetry, server: FakeAnthropicServer
) -> None:
    server.fail_first(2, error_response(529, "overloaded_error", "busy"))
    server.enqueue(text_response("made it"))
    async with _client(server, max_retries=2) as client:
        with trio.fail_after(30):
            async with client.messages.stream(**PARAMS) as stream:
                await stream.get_final_message()
    (span,) = _chat_spans(telemetry)
    retries = [event for event in span.events if event.name == "retry"]
    assert [dict(e.attributes or {})["retry.attempt"] for e in retries] == [1, 2]
    assert all(dict(e.attributes or {})["error.type"] == "OverloadedError" for e in retries)
    assert all(dict(e.attributes or {})["http.response.status_code"] == 529 for e in retries)
    assert span.attributes is not None
    assert span.attributes["http.request.resend_count"] == 2
    assert span.status.status_code is StatusCode.UNSET


async def test_mid_stream_error_sets_error_status(
    telemetry: Telemetry, server: FakeAnthropicServer
) -> None:
    server.enqueue(ScriptedResponse.error_event_after(6, text_response("one two three four")))
    async with _client(server, max_retries=0) as client:
        with trio.fail_after(10), pytest.raises(tms.OverloadedError):
            async with client.messages.stream(**PARAMS) as stream:
                await stream.get_final_message()
    (span,) = _chat_spans(telemetry)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "OverloadedError"
    points = telemetry.points("gen_ai.client.operation.duration")
    assert [p.attributes["error.type"] for p in points] == ["OverloadedError"]


async def test_error_status_response(telemetry: Telemetry, server: FakeAnthropicServer) -> None:
    server.enqueue(error_response(400, "invalid_request_error", "max_tokens: too large"))
    async with _client(server) as client:
        with trio.fail_after(10), pytest.raises(tms.BadRequestError):
            await client.messages.create(**PARAMS)
    (span,) = _chat_spans(telemetry)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is not None
    assert "max_tokens: too large" in span.status.description
    assert span.attributes is not None
    assert span.attributes["error.type"] == "BadRequestError"
    assert span.attributes["http.response.status_code"] == 400


async def test_closing_early_ends_the_span_once(
    telemetry: Telemetry, server: FakeAnthropicServer
) -> None:
    server.enqueue(text_response(" ".join(["word"] * 200), chunk_delay=0.01))
    async with _client(server) as client:
        with trio.fail_after(10):
            async with client.messages.stream(**PARAMS) as stream:
                async for _ in stream.text_stream:
                    break
    assert len(_chat_spans(telemetry)) == 1


async def test_fan_out_items_nest_under_the_callers_span(
    telemetry: Telemetry, server: FakeAnthropicServer
) -> None:
    tracer = trace.get_tracer("the-app")
    async with _client(server) as client:
        with tracer.start_as_current_span("batch") as batch, trio.fail_after(30):
            async with tms.open_fan_out(client, max_concurrency=2) as fan:
                for i in range(3):
                    await fan.submit(i, **PARAMS)
                fan.done_submitting()
                results = [result async for result in fan.results()]
    assert all(result.ok for result in results)
    spans = _chat_spans(telemetry)
    assert len(spans) == 3
    for span in spans:
        assert span.parent is not None
        assert span.parent.span_id == batch.get_span_context().span_id


def test_sync_client_span(telemetry: Telemetry) -> None:
    tracer = trace.get_tracer("the-app")
    with fake_anthropic_in_thread() as server:
        server.enqueue(text_response("sync answer"))
        with tms.Client(base_url=server.base_url, api_key=KEY) as client:
            with tracer.start_as_current_span("sync caller") as caller:
                with client.messages.stream(**PARAMS) as stream:
                    message = stream.get_final_message()
    (span,) = _chat_spans(telemetry)
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.id"] == message.id
    assert span.parent is not None
    assert span.parent.span_id == caller.get_span_context().span_id


async def test_key_and_content_never_recorded(
    telemetry: Telemetry, server: FakeAnthropicServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_msgstream")
    server.fail_first(1, error_response(529, "overloaded_error", "busy"))
    server.enqueue(text_response("E2E-SECRET-ANSWER here"))
    server.enqueue(error_response(401, "authentication_error", "invalid x-api-key"))
    async with _client(server, max_retries=1) as client:
        with trio.fail_after(30):
            async with client.messages.stream(**PARAMS) as stream:
                await stream.get_final_message()
            with pytest.raises(tms.AuthenticationError):
                await client.messages.create(**PARAMS)
    sent = server.requests[0]
    assert KEY in (sent.header("x-api-key") or sent.header("authorization") or "")  # it was used
    spans = telemetry.finished()
    assert len(_chat_spans(telemetry)) == 2
    recorded = "\n".join(text_of(span) for span in spans)
    recorded += "\n".join(repr(points) for points in telemetry.all_points().items())
    recorded += "\n".join(
        f"{r.getMessage()} {getattr(r, 'trio_msgstream', '')}" for r in caplog.records
    )
    for secret in (KEY, PROMPT, "E2E-SECRET-ANSWER"):
        assert secret not in recorded


async def test_content_when_opted_in(
    telemetry: Telemetry, server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIO_MSGSTREAM_CAPTURE_CONTENT", "true")
    server.enqueue(text_response("E2E-SECRET-ANSWER here"))
    async with _client(server) as client:
        with trio.fail_after(10):
            async with client.messages.stream(**PARAMS) as stream:
                await stream.get_final_message()
    (span,) = _chat_spans(telemetry)
    assert span.attributes is not None
    assert PROMPT in str(span.attributes["gen_ai.input.messages"])
    assert "E2E-SECRET-ANSWER" in str(span.attributes["gen_ai.output.messages"])
    assert KEY not in text_of(span)


async def test_log_records(server: FakeAnthropicServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_msgstream")
    server.fail_first(1, error_response(529, "overloaded_error", "busy"))
    server.enqueue(text_response("made it"))
    async with _client(server, max_retries=1) as client:
        with trio.fail_after(30):
            async with client.messages.stream(**PARAMS) as stream:
                message = await stream.get_final_message()
                request_id = stream.request_id
    records = [r for r in caplog.records if hasattr(r, "trio_msgstream")]
    assert [(r.levelno, r.trio_msgstream["event"]) for r in records] == [  # type: ignore[attr-defined]
        (logging.DEBUG, "retry"),
        (logging.INFO, "end"),
    ]
    end = records[-1].trio_msgstream  # type: ignore[attr-defined]
    assert end["request_id"] == request_id
    assert end["attempts"] == 2
    assert end["status"] == 200
    assert end["output_tokens"] == message.usage.output_tokens
    assert end["outcome"] == "ok"


_WITHOUT_OTEL = textwrap.dedent(
    """
    import logging, sys
    sys.modules["opentelemetry"] = None
    import trio
    import trio_msgstream as tms
    from trio_msgstream.testing import open_fake_anthropic

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("trio_msgstream").addHandler(handler)
    logging.getLogger("trio_msgstream").setLevel(logging.INFO)

    async def main():
        async with open_fake_anthropic() as server:
            async with tms.AsyncClient(base_url=server.base_url, api_key="sk-x") as client:
                async with client.messages.stream(
                    model="m", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
                ) as stream:
                    print("TEXT", await stream.get_final_text())

    trio.run(main)
    print("RECORDS", [r.trio_msgstream["event"] for r in records if hasattr(r, "trio_msgstream")])
    print("LOADED", sorted(m for m in sys.modules if m.startswith("opentelemetry")
                           and sys.modules[m]))
    """
)


@pytest.mark.slow  # starts a Python subprocess
def test_requests_work_and_log_without_opentelemetry() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_OTEL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "TEXT " in result.stdout
    assert "RECORDS ['end']" in result.stdout
    assert "LOADED []" in result.stdout
