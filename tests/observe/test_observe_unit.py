"""RequestObservation driven directly (no network): spans, metrics and log records.

The clock of the observation is replaced by a hand-driven one, so durations are exact.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from _otel_support import Telemetry, telemetry_fixture, text_of
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from trio_msgstream._core.exceptions import (
    APITimeoutError,
    OverloadedError,
    StreamProtocolError,
)
from trio_msgstream._core.observe import telemetry as observe
from trio_msgstream._core.schema.models import Message, TextBlock, Usage

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 256,
    "temperature": 0.5,
    "stop_sequences": ["END"],
    "system": "SYSTEM-SECRET-PROMPT",
    "messages": [{"role": "user", "content": "USER-SECRET-CONTENT"}],
}


def _message(**changes: Any) -> Message:
    fields: dict[str, Any] = {
        "id": "msg_123",
        "model": "claude-sonnet-4-5-20250929",
        "content": [TextBlock(text="ASSISTANT-SECRET-REPLY")],
        "stop_reason": "end_turn",
        "usage": Usage(
            input_tokens=10,
            output_tokens=40,
            cache_read_input_tokens=5,
            cache_creation_input_tokens=2,
        ),
    }
    fields.update(changes)
    return Message(**fields)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    yield from telemetry_fixture()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(observe, "_now", clock)
    return clock


@pytest.fixture(autouse=True)
def _no_content_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(observe.CAPTURE_CONTENT_ENV, raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    monkeypatch.setattr(observe, "CAPTURE_CONTENT", None)


def _chat(stream: bool = True, **overrides: Any) -> observe.RequestObservation:
    arguments: dict[str, Any] = {
        "operation": "chat",
        "params": PARAMS,
        "stream": stream,
        "server_address": "api.anthropic.com",
        "attempt_limit": 3,
    }
    arguments.update(overrides)
    return observe.observe_request(**arguments)


def test_span_name_kind_and_attributes(telemetry: Telemetry, clock: Clock) -> None:
    obs = _chat()
    assert obs.active
    obs.attempt(1)
    obs.response(status=200, request_id="req_abc")
    clock.now += 0.25
    obs.first_token()
    clock.now += 2.0
    obs.end(message=_message())

    (span,) = telemetry.finished()
    assert span.name == "chat claude-sonnet-4-5"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "trio_msgstream"
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.system"] == "anthropic"
    assert attributes["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert attributes["gen_ai.request.max_tokens"] == 256
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["server.address"] == "api.anthropic.com"
    assert "server.port" not in attributes
    assert attributes["gen_ai.response.id"] == "msg_123"
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    # Anthropic's input_tokens leaves out cached tokens; the conventions count them.
    assert attributes["gen_ai.usage.input_tokens"] == 17
    assert attributes["gen_ai.usage.output_tokens"] == 40
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 5
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 2
    assert attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.25)
    assert attributes["http.response.status_code"] == 200
    assert attributes["anthropic.request.id"] == "req_abc"
    assert "http.request.resend_count" not in attributes
    assert "error.type" not in attributes
    assert span.status.status_code is StatusCode.UNSET


def test_server_address_with_port_and_url(telemetry: Telemetry) -> None:
    _chat(server_address="127.0.0.1:8123").end(message=_message())
    _chat(server_address="http://127.0.0.1:9000/v1").end(message=_message())
    first, second = telemetry.finished()
    assert first.attributes is not None
    assert second.attributes is not None
    assert (first.attributes["server.address"], first.attributes["server.port"]) == (
        "127.0.0.1",
        8123,
    )
    assert (second.attributes["server.address"], second.attributes["server.port"]) == (
        "127.0.0.1",
        9000,
    )


def test_operation_without_model(telemetry: Telemetry) -> None:
    obs = observe.observe_request(
        operation="models.list", params={}, stream=False, server_address=None, attempt_limit=1
    )
    obs.end()
    (span,) = telemetry.finished()
    assert span.name == "models.list"
    assert span.attributes is not None
    assert "gen_ai.request.model" not in span.attributes
    assert "gen_ai.request.stream" not in span.attributes


def test_count_tokens_usage_without_message(telemetry: Telemetry) -> None:
    obs = observe.observe_request(
        operation="count_tokens",
        params={"model": "claude-haiku-4-5", "messages": []},
        stream=False,
        server_address="api.anthropic.com",
        attempt_limit=3,
    )
    obs.end(usage=Usage(input_tokens=42))
    (span,) = telemetry.finished()
    assert span.name == "count_tokens claude-haiku-4-5"
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 42


def test_retries_are_span_events(telemetry: Telemetry) -> None:
    obs = _chat()
    obs.attempt(1)
    obs.response(status=529, request_id="req_1")
    obs.retry(
        attempt=1,
        delay=0.5,
        error=OverloadedError("Overloaded", status_code=529, type="overloaded_error"),
    )
    obs.attempt(2)
    obs.retry(attempt=2, delay=1.0, error=APITimeoutError("no bytes", which="read"))
    obs.attempt(3)
    obs.response(status=200, request_id="req_3")
    obs.end(message=_message())

    (span,) = telemetry.finished()
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert events == [
        (
            "retry",
            {
                "retry.attempt": 1,
                "retry.delay": 0.5,
                "error.type": "OverloadedError",
                "http.response.status_code": 529,
            },
        ),
        ("retry", {"retry.attempt": 2, "retry.delay": 1.0, "error.type": "APITimeoutError"}),
    ]
    assert span.attributes is not None
    assert span.attributes["http.request.resend_count"] == 2
    assert span.attributes["anthropic.request.id"] == "req_3"
    assert span.attributes["http.response.status_code"] == 200


def test_error_status_and_type(telemetry: Telemetry) -> None:
    partial = _message(stop_reason=None, usage=Usage(input_tokens=8, output_tokens=3))
    error = OverloadedError(
        "Overloaded",
        status_code=529,
        type="overloaded_error",
        mid_stream=True,
        partial_message=partial,
    )
    obs = _chat()
    obs.attempt(1)
    obs.response(status=200, request_id="req_x")
    obs.end(error=error)
    (span,) = telemetry.finished()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "Overloaded"
    assert span.attributes is not None
    assert span.attributes["error.type"] == "OverloadedError"
    # The partial message still tells what was used.
    assert span.attributes["gen_ai.response.id"] == "msg_123"
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert "gen_ai.response.finish_reasons" not in span.attributes


def test_protocol_error_description_holds_no_payload(telemetry: Telemetry) -> None:
    _chat().end(error=StreamProtocolError("bad JSON in data: USER-SECRET-CONTENT"))
    (span,) = telemetry.finished()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "StreamProtocolError"
    assert "USER-SECRET-CONTENT" not in text_of(span)


async def test_cancellation_error_type(telemetry: Telemetry) -> None:
    obs = _chat()
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.sleep(1)
        except trio.Cancelled as cancelled:
            obs.end(error=cancelled)
            raise
    (span,) = telemetry.finished()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "cancelled"


def test_end_is_recorded_once(telemetry: Telemetry) -> None:
    obs = _chat()
    obs.end(message=_message())
    obs.end(error=OverloadedError("late", status_code=529))
    (span,) = telemetry.finished()
    assert span.status.status_code is StatusCode.UNSET
    assert len(telemetry.points("gen_ai.client.operation.duration")) == 1


def test_metrics(telemetry: Telemetry, clock: Clock) -> None:
    obs = _chat()
    obs.attempt(1)
    obs.response(status=200, request_id="req_m")
    clock.now += 0.5
    obs.first_token()
    clock.now += 0.1
    obs.first_token()  # later calls do not move the first token
    clock.now += 1.9
    obs.end(message=_message())

    points = telemetry.all_points()
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.sum == pytest.approx(2.5)
    assert duration.count == 1
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "server.address": "api.anthropic.com",
    }
    usage = {p.attributes["gen_ai.token.type"]: p.sum for p in points["gen_ai.client.token.usage"]}
    assert usage == {"input": 17, "output": 40}
    (ttft,) = points["gen_ai.client.operation.time_to_first_chunk"]
    assert ttft.sum == pytest.approx(0.5)
    (rate,) = points["trio_msgstream.client.output_tokens_per_second"]
    assert rate.sum == pytest.approx(40 / 2.0)


def test_metrics_of_a_failure(telemetry: Telemetry, clock: Clock) -> None:
    obs = _chat(stream=False)
    clock.now += 3.0
    obs.end(error=APITimeoutError("connect took too long", which="connect"))
    points = telemetry.all_points()
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.sum == pytest.approx(3.0)
    assert duration.attributes["error.type"] == "APITimeoutError"
    assert "gen_ai.client.token.usage" not in points
    assert "gen_ai.client.operation.time_to_first_chunk" not in points


def test_no_content_by_default(telemetry: Telemetry) -> None:
    obs = _chat()
    obs.end(message=_message())
    (span,) = telemetry.finished()
    text = text_of(span)
    for secret in ("USER-SECRET-CONTENT", "SYSTEM-SECRET-PROMPT", "ASSISTANT-SECRET-REPLY"):
        assert secret not in text
    assert span.attributes is not None
    assert not any(key.endswith("messages") for key in span.attributes)


@pytest.mark.parametrize(
    "how", ["env", "otel-env", "setting"], ids=["TRIO_MSGSTREAM", "OTEL", "module-setting"]
)
def test_content_when_opted_in(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "env":
        monkeypatch.setenv("TRIO_MSGSTREAM_CAPTURE_CONTENT", "true")
    elif how == "otel-env":
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    else:
        monkeypatch.setattr(observe, "CAPTURE_CONTENT", True)
    _chat().end(message=_message())
    (span,) = telemetry.finished()
    assert span.attributes is not None
    inputs = json.loads(str(span.attributes["gen_ai.input.messages"]))
    assert inputs == [
        {"role": "user", "parts": [{"type": "text", "content": "USER-SECRET-CONTENT"}]}
    ]
    system = json.loads(str(span.attributes["gen_ai.system_instructions"]))
    assert system == [{"type": "text", "content": "SYSTEM-SECRET-PROMPT"}]
    outputs = json.loads(str(span.attributes["gen_ai.output.messages"]))
    assert outputs == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "ASSISTANT-SECRET-REPLY"}],
            "finish_reason": "end_turn",
        }
    ]


def test_setting_false_wins_over_the_environment(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIO_MSGSTREAM_CAPTURE_CONTENT", "true")
    monkeypatch.setattr(observe, "CAPTURE_CONTENT", False)
    _chat().end(message=_message())
    (span,) = telemetry.finished()
    assert "USER-SECRET-CONTENT" not in text_of(span)


def test_span_nests_under_the_callers_span(telemetry: Telemetry) -> None:
    tracer = trace.get_tracer("the-app")
    with tracer.start_as_current_span("handle request") as parent:
        obs = _chat()
        # Starting the request's span does not make it current: nothing leaks.
        assert trace.get_current_span() is parent
    obs.end(message=_message())
    spans = {span.name: span for span in telemetry.finished()}
    child = spans["chat claude-sonnet-4-5"]
    assert child.parent is not None
    assert child.parent.span_id == parent.get_span_context().span_id
    assert child.context is not None
    assert child.context.trace_id == parent.get_span_context().trace_id


async def test_spans_of_concurrent_tasks_nest_under_their_own_parents(
    telemetry: Telemetry,
) -> None:
    tracer = trace.get_tracer("the-app")

    async def one(name: str, task_status: trio.TaskStatus[None]) -> None:
        with tracer.start_as_current_span(name):
            obs = _chat()
            task_status.started()
            await trio.lowlevel.checkpoint()
            obs.end(message=_message())

    with tracer.start_as_current_span("caller") as caller:
        async with trio.open_nursery() as nursery:
            await nursery.start(one, "task-a")
            await nursery.start(one, "task-b")
            # A task's request span never becomes current anywhere else.
            assert trace.get_current_span() is caller
    spans = telemetry.finished()
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    chats = [span for span in spans if span.name.startswith("chat ")]
    assert len(chats) == 2
    parents = sorted(by_id[c.parent.span_id].name for c in chats if c.parent is not None)
    assert parents == ["task-a", "task-b"]


def test_info_record_per_request_end(
    telemetry: Telemetry, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_msgstream")
    obs = _chat()
    obs.attempt(1)
    obs.retry(attempt=1, delay=0.25, error=OverloadedError("Overloaded", status_code=529))
    obs.attempt(2)
    obs.response(status=200, request_id="req_log")
    clock.now += 0.5
    obs.first_token()
    clock.now += 1.5
    obs.end(message=_message())

    records = [r for r in caplog.records if r.name == "trio_msgstream"]
    assert [r.levelno for r in records] == [logging.DEBUG, logging.INFO]
    retry, end = records
    assert retry.getMessage() == (
        "chat claude-sonnet-4-5: attempt 1 of 3 failed (OverloadedError: Overloaded); "
        "retrying in 0.25 s"
    )
    assert end.getMessage() == (
        "chat claude-sonnet-4-5 ok: status=200 request_id=req_log attempts=2 "
        "duration=2.000s ttft=0.500s input_tokens=17 output_tokens=40 tokens/s=26.7 "
        "stop_reason=end_turn"
    )
    fields = end.trio_msgstream  # type: ignore[attr-defined]
    assert fields["request_id"] == "req_log"
    assert fields["model"] == "claude-sonnet-4-5"
    assert fields["status"] == 200
    assert fields["attempts"] == 2
    assert fields["duration"] == pytest.approx(2.0)
    assert fields["time_to_first_token"] == pytest.approx(0.5)
    assert fields["output_tokens"] == 40
    assert fields["outcome"] == "ok"
    for record in records:
        for secret in ("USER-SECRET-CONTENT", "SYSTEM-SECRET-PROMPT", "ASSISTANT-SECRET-REPLY"):
            assert secret not in record.getMessage()


def test_info_record_of_a_failure(caplog: pytest.LogCaptureFixture, clock: Clock) -> None:
    caplog.set_level(logging.INFO, logger="trio_msgstream")
    obs = _chat()
    obs.attempt(1)
    obs.response(status=400, request_id="req_bad")
    obs.end(error=StreamProtocolError("USER-SECRET-CONTENT in a bad event"))
    (record,) = [r for r in caplog.records if r.name == "trio_msgstream"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith(
        "chat claude-sonnet-4-5 failed (StreamProtocolError: StreamProtocolError): "
        "status=400 request_id=req_bad attempts=1"
    )
    assert "USER-SECRET-CONTENT" not in record.getMessage()


def test_logs_alone_make_a_live_observation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(observe, "_current_instruments", lambda: None)
    caplog.set_level(logging.INFO, logger="trio_msgstream")
    obs = _chat()
    assert obs.active
    obs.end(message=_message())
    assert any(r.name == "trio_msgstream" for r in caplog.records)


def test_shared_noop_when_nobody_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observe, "_current_instruments", lambda: None)
    monkeypatch.setattr(logging.getLogger("trio_msgstream"), "level", logging.WARNING)
    first, second = _chat(), _chat()
    assert first is second
    assert not first.active
    first.attempt(1)
    first.retry(attempt=1, delay=0.1, error=OverloadedError("x", status_code=529))
    first.response(status=200, request_id=None)
    first.first_token()
    first.end(message=_message())


_NO_OTEL = textwrap.dedent(
    """
    import logging, sys
    {block}
    import trio_msgstream
    from trio_msgstream._core.observe import telemetry as observe
    logging.getLogger("trio_msgstream").setLevel(logging.WARNING)
    obs = observe.observe_request(
        operation="chat", params={{"model": "m", "max_tokens": 1}}, stream=True,
        server_address="api.anthropic.com", attempt_limit=3,
    )
    print("NOOP", obs is observe._NOOP)
    loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry") and sys.modules[m])
    print("LOADED", loaded)
    """
)


@pytest.mark.slow  # starts a Python subprocess
@pytest.mark.parametrize(
    "block",
    ['sys.modules["opentelemetry"] = None', ""],
    ids=["extra-absent", "installed-but-unused"],
)
def test_no_opentelemetry_import_when_nobody_configured_it(block: str) -> None:
    code = _NO_OTEL.format(block=block)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "NOOP True" in result.stdout
    assert "LOADED []" in result.stdout


def test_body_params_are_decoded_only_when_observed(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps(PARAMS).encode()
    params = observe.BodyParams(body)
    monkeypatch.setattr(observe, "_current_instruments", lambda: None)
    monkeypatch.setattr(logging.getLogger("trio_msgstream"), "level", logging.WARNING)
    _chat(params=params)
    assert params._data is None  # nobody listens: the body was never decoded
    assert params["model"] == "claude-sonnet-4-5"
    assert dict(params) == PARAMS
    assert dict(observe.BodyParams(b"not json")) == {}
    assert dict(observe.BodyParams(b"[1, 2]")) == {}


def test_span_from_body_params(telemetry: Telemetry) -> None:
    _chat(params=observe.BodyParams(json.dumps(PARAMS).encode())).end(message=_message())
    (span,) = telemetry.finished()
    assert span.name == "chat claude-sonnet-4-5"
    assert span.attributes is not None
    assert span.attributes["gen_ai.request.max_tokens"] == 256
