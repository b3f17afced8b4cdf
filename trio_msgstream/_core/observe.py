"""Telemetry of one request: an OpenTelemetry span, metrics and a log record. Sans-IO.

Theory of operation: every request of both clients (streams, ``create()``, count
tokens, models, batches...) is driven by the request session, which makes one
:class:`RequestObservation` with :func:`observe_request` in the caller's task and
tells it what happens, in order::

    observe_request(...)           span started under the caller's current span
     ├─ attempt(1)                 before each HTTP attempt
     ├─ retry(attempt=1, ...)      a retry was decided: span event + DEBUG record
     ├─ attempt(2)
     ├─ response(status, id)       response head received
     ├─ first_token()              first content event of a stream
     └─ end(message=... | error=...)   exactly once: span ended, metrics, INFO record

Nothing here does I/O or knows about trio or httpx; the clock is read, nothing else.

Who listens:

- OpenTelemetry. The tracer and meter come from the *global* providers, as
  OpenTelemetry asks of libraries: spans and metrics appear as soon as the application
  configures an OpenTelemetry SDK (``pip install "trio-msgstream[otel]"`` brings the
  API). This module never imports ``opentelemetry`` itself: an application that
  configured a provider has imported it already, so when it is not in ``sys.modules``
  nobody can be listening. The span is started with the current context of the task
  that calls :func:`observe_request` (it becomes the parent) and is never attached to
  any context, so nothing leaks across trio tasks.
- ``logging``: logger ``"trio_msgstream"``, one INFO record per request end and one
  DEBUG record per retry.

When neither listens, :func:`observe_request` returns one shared no-op object, so an
unobserved request costs two dictionary look-ups and a level check.

Semantic conventions: the OpenTelemetry GenAI conventions for Anthropic (span name
``"{gen_ai.operation.name} {gen_ai.request.model}"``, kind CLIENT, ``gen_ai.*``
attributes, ``error.type``; metrics ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage``, ``gen_ai.client.operation.time_to_first_chunk``) plus
``trio_msgstream.client.output_tokens_per_second``. ``gen_ai.usage.input_tokens``
counts cached input tokens too, as those conventions ask.

Never recorded: the API key (this module never sees headers) and message content,
unless the user opts in with the environment variable ``TRIO_MSGSTREAM_CAPTURE_CONTENT``
(or OpenTelemetry's ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``) set to
``true``, or by setting :data:`CAPTURE_CONTENT` to ``True``. Content goes on the span
only (``gen_ai.input.messages``, ``gen_ai.system_instructions``,
``gen_ai.output.messages`` as JSON strings), never into log records.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._version import __version__
from .exceptions import (
    APIError,
    APIStatusError,
    APITimeoutError,
    StreamClosedError,
    StreamProtocolError,
)

if TYPE_CHECKING:
    from .models import Message, Usage

__all__ = [
    "CAPTURE_CONTENT",
    "CAPTURE_CONTENT_ENV",
    "BodyParams",
    "RequestObservation",
    "observe_request",
]

logger = logging.getLogger("trio_msgstream")

CAPTURE_CONTENT_ENV = "TRIO_MSGSTREAM_CAPTURE_CONTENT"
"""Environment variable: ``true`` records message content on spans (off by default)."""
_OTEL_CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

CAPTURE_CONTENT: bool | None = None
"""``True``/``False`` forces content capture on/off for every later request; ``None``
(the default) follows the environment variables."""

PROVIDER = "anthropic"
INSTRUMENTATION_SCOPE = "trio_msgstream"

_DURATION_BUCKETS = tuple(0.01 * 2.0**i for i in range(14))  # 0.01, 0.02, ... 81.92 s
_TOKEN_BUCKETS = tuple(4.0**i for i in range(14))  # 1, 4, 16, ... 67108864
_RATE_BUCKETS = (1.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0)

# Read through a module attribute so that tests can drive time by hand.
_now = time.perf_counter


class RequestObservation:
    """What the request session tells the telemetry about one request.

    This base class does nothing: it is the shared object returned when nobody
    listens. Every method is cheap and never raises into the request.
    """

    __slots__ = ()

    def attempt(self, number: int) -> None:
        """An HTTP attempt is about to be sent; ``number`` counts from 1."""

    def retry(self, *, attempt: int, delay: float, error: BaseException) -> None:
        """Attempt number ``attempt`` failed with ``error`` and will be retried after
        ``delay`` seconds."""

    def response(self, *, status: int, request_id: str | None) -> None:
        """The head of a response arrived (any status, on any attempt)."""

    def first_token(self) -> None:
        """The first content event of a stream arrived (later calls are ignored)."""

    def end(
        self,
        *,
        message: Message | None = None,
        error: BaseException | None = None,
        usage: Usage | None = None,
    ) -> None:
        """The request is over: with the final ``message``, or failed with ``error``
        (its ``partial_message`` is used when there is one), and ``usage`` for
        operations that report tokens without a message. Called exactly once; later
        calls are ignored."""

    @property
    def active(self) -> bool:
        """Whether anyone listens (``False`` for the shared no-op object)."""
        return False


_NOOP = RequestObservation()


class BodyParams(Mapping[str, Any]):
    """A request's JSON body as the ``params`` of :func:`observe_request`, decoded only
    when read: an unobserved request never pays for decoding its body."""

    __slots__ = ("_body", "_data")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._data: Mapping[str, Any] | None = None

    def _decoded(self) -> Mapping[str, Any]:
        if self._data is None:
            try:
                data = json.loads(self._body) if self._body else None
            except ValueError:
                data = None
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


# --------------------------------------------------------------------------- listeners


class _Instruments:
    """A tracer and the metric instruments, made once per pair of global providers."""

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.tracer: Any = None
        self.duration: Any = None
        self.token_usage: Any = None
        self.time_to_first_chunk: Any = None
        self.tokens_per_second: Any = None
        if tracer_provider is not None:
            self.tracer = tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
        if meter_provider is not None:
            meter = meter_provider.get_meter(INSTRUMENTATION_SCOPE, __version__)
            self.duration = _histogram(
                meter,
                "gen_ai.client.operation.duration",
                "s",
                "GenAI operation duration.",
                _DURATION_BUCKETS,
            )
            self.token_usage = _histogram(
                meter,
                "gen_ai.client.token.usage",
                "{token}",
                "Number of input and output tokens used.",
                _TOKEN_BUCKETS,
            )
            self.time_to_first_chunk = _histogram(
                meter,
                "gen_ai.client.operation.time_to_first_chunk",
                "s",
                "Time from the start of the request to its first content event (streams).",
                _DURATION_BUCKETS,
            )
            self.tokens_per_second = _histogram(
                meter,
                "trio_msgstream.client.output_tokens_per_second",
                "{token}/s",
                "Output tokens per second after the first content event (streams).",
                _RATE_BUCKETS,
            )


def _histogram(meter: Any, name: str, unit: str, description: str, buckets: Sequence[float]) -> Any:
    try:
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
    except TypeError:  # opentelemetry-api older than 1.23: no bucket advice
        return meter.create_histogram(name, unit=unit, description=description)


_instruments: _Instruments | None = None


def _current_instruments() -> _Instruments | None:
    """The instruments of the global providers, or ``None`` when none is configured."""
    global _instruments
    trace_module = sys.modules.get("opentelemetry.trace")
    metrics_module = sys.modules.get("opentelemetry.metrics")
    if trace_module is None and metrics_module is None:
        return None
    tracer_provider: Any = None
    meter_provider: Any = None
    if trace_module is not None:
        tracer_provider = trace_module.get_tracer_provider()
        if isinstance(
            tracer_provider, (trace_module.ProxyTracerProvider, trace_module.NoOpTracerProvider)
        ):
            tracer_provider = None  # nothing configured
    if metrics_module is not None:
        meter_provider = metrics_module.get_meter_provider()
        if isinstance(meter_provider, metrics_module.NoOpMeterProvider) or (
            type(meter_provider).__name__ == "_ProxyMeterProvider"
        ):
            meter_provider = None
    if tracer_provider is None and meter_provider is None:
        return None
    cached = _instruments
    if (
        cached is not None
        and cached.tracer_provider is tracer_provider
        and cached.meter_provider is meter_provider
    ):
        return cached
    _instruments = _Instruments(tracer_provider, meter_provider)
    return _instruments


def capture_content() -> bool:
    """Whether message content is recorded on spans (see :data:`CAPTURE_CONTENT`)."""
    if CAPTURE_CONTENT is not None:
        return CAPTURE_CONTENT
    for name in (CAPTURE_CONTENT_ENV, _OTEL_CAPTURE_CONTENT_ENV):
        if os.environ.get(name, "").strip().lower() in ("true", "1", "yes", "on"):
            return True
    return False


def observe_request(
    *,
    operation: str,
    params: Mapping[str, Any],
    stream: bool,
    server_address: str | None,
    attempt_limit: int,
) -> RequestObservation:
    """Start observing one request; call it in the caller's task, before the first attempt.

    Args:
        operation: ``gen_ai.operation.name``: ``"chat"`` for messages, else the
            endpoint (``"count_tokens"``, ``"models.list"``, ``"batches.create"``...).
        params: The request body; model and sampling settings are read from it.
        stream: Whether the response is an event stream.
        server_address: The API's host (``"api.anthropic.com"``), ``host:port``, or
            the base URL.
        attempt_limit: How many attempts the retry budget allows (``max_retries + 1``).

    Returns:
        The observation to report to, or the shared no-op object when neither
        OpenTelemetry nor the ``trio_msgstream`` logger (INFO) listens.
    """
    instruments = _current_instruments()
    logs = logger.isEnabledFor(logging.INFO)
    if instruments is None and not logs:
        return _NOOP
    return _LiveObservation(
        instruments,
        logs,
        operation=operation,
        params=params,
        stream=stream,
        server_address=server_address,
        attempt_limit=attempt_limit,
    )


# --------------------------------------------------------------------------- the live one


def _split_address(address: str | None) -> tuple[str | None, int | None]:
    if not address:
        return None, None
    try:
        parts = urlsplit(address if "://" in address else f"//{address}")
        return parts.hostname, parts.port
    except ValueError:
        return address, None


def _attributes(items: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in items.items() if value is not None}


def _of_type(value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


def error_type(error: BaseException) -> str:
    """The ``error.type`` of a failure: the exception's class name (``OverloadedError``,
    ``APITimeoutError``...); ``"cancelled"`` for a cancellation."""
    name = type(error).__name__
    if name == "Cancelled" or isinstance(
        error, (KeyboardInterrupt, GeneratorExit, StreamClosedError)
    ):
        return "cancelled"
    return name


def _error_text(error: BaseException) -> str:
    """A description that holds no content: the API's own error message, or ours."""
    if isinstance(error, StreamProtocolError):
        return type(error).__name__  # its message may quote the payload
    if isinstance(error, APIError):
        text = error.message
        if isinstance(error, APITimeoutError):
            text = f"{error.which} timeout: {text}"
        return " ".join(text.split())[:300]
    return type(error).__name__


class _LiveObservation(RequestObservation):
    __slots__ = (
        "_attempt_limit",
        "_attempts",
        "_capture",
        "_ended",
        "_first_token_at",
        "_instruments",
        "_logs",
        "_metric_attributes",
        "_model",
        "_operation",
        "_params",
        "_request_id",
        "_retries",
        "_span",
        "_started",
        "_status",
        "_stream",
    )

    def __init__(
        self,
        instruments: _Instruments | None,
        logs: bool,
        *,
        operation: str,
        params: Mapping[str, Any],
        stream: bool,
        server_address: str | None,
        attempt_limit: int,
    ) -> None:
        self._started = _now()
        self._instruments = instruments
        self._logs = logs
        self._operation = operation
        self._params = params
        self._stream = stream
        self._attempt_limit = attempt_limit
        self._attempts = 0
        self._retries = 0
        self._status: int | None = None
        self._request_id: str | None = None
        self._first_token_at: float | None = None
        self._ended = False
        self._model: str | None = _of_type(params.get("model"), str)
        host, port = _split_address(server_address)
        self._metric_attributes: dict[str, Any] = _attributes(
            {
                "gen_ai.operation.name": operation,
                "gen_ai.provider.name": PROVIDER,
                "gen_ai.request.model": self._model,
                "server.address": host,
                "server.port": port,
            }
        )
        self._capture = False
        self._span: Any = None
        if instruments is not None and instruments.tracer is not None:
            self._capture = capture_content()
            self._span = self._start_span(instruments.tracer)

    @property
    def active(self) -> bool:
        return True

    def _start_span(self, tracer: Any) -> Any:
        from opentelemetry.trace import SpanKind

        params = self._params
        stop = params.get("stop_sequences")
        attributes = {
            **self._metric_attributes,
            "gen_ai.system": PROVIDER,
            "gen_ai.request.max_tokens": _of_type(params.get("max_tokens"), int),
            "gen_ai.request.temperature": _of_type(params.get("temperature"), (int, float)),
            "gen_ai.request.top_p": _of_type(params.get("top_p"), (int, float)),
            "gen_ai.request.top_k": _of_type(params.get("top_k"), (int, float)),
            "gen_ai.request.stop_sequences": (
                list(stop)
                if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop)
                else None
            ),
            "gen_ai.request.stream": True if self._stream else None,
        }
        if self._capture:
            attributes.update(_request_content(params))
        name = f"{self._operation} {self._model}" if self._model else self._operation
        # No context argument: the parent is the current span of the calling task.
        return tracer.start_span(name, kind=SpanKind.CLIENT, attributes=_attributes(attributes))

    def attempt(self, number: int) -> None:
        self._attempts = max(self._attempts, number)

    def retry(self, *, attempt: int, delay: float, error: BaseException) -> None:
        self._retries += 1
        kind = error_type(error)
        status = error.status_code if isinstance(error, APIStatusError) else None
        if self._span is not None:
            self._span.add_event(
                "retry",
                _attributes(
                    {
                        "retry.attempt": attempt,
                        "retry.delay": float(delay),
                        "error.type": kind,
                        "http.response.status_code": status,
                    }
                ),
            )
        if self._logs:
            logger.debug(
                "%s: attempt %d of %d failed (%s: %s); retrying in %.2f s",
                self._label(),
                attempt,
                self._attempt_limit,
                kind,
                _error_text(error),
                delay,
                extra={
                    "trio_msgstream": {
                        "event": "retry",
                        "operation": self._operation,
                        "model": self._model,
                        "attempt": attempt,
                        "attempt_limit": self._attempt_limit,
                        "delay": delay,
                        "error_type": kind,
                        "status": status,
                    }
                },
            )

    def response(self, *, status: int, request_id: str | None) -> None:
        self._status = status
        if request_id is not None:
            self._request_id = request_id

    def first_token(self) -> None:
        if self._first_token_at is None:
            self._first_token_at = _now()

    def _label(self) -> str:
        return f"{self._operation} {self._model}" if self._model else self._operation

    def end(
        self,
        *,
        message: Message | None = None,
        error: BaseException | None = None,
        usage: Usage | None = None,
    ) -> None:
        if self._ended:
            return
        self._ended = True
        ended = _now()
        try:
            self._record_end(ended, message, error, usage)
        except Exception:  # telemetry must never break a request
            logger.debug("trio_msgstream telemetry failed", exc_info=True)

    def _record_end(
        self,
        ended: float,
        message: Message | None,
        error: BaseException | None,
        usage: Usage | None,
    ) -> None:
        if message is None and error is not None:
            partial = getattr(error, "partial_message", None)
            message = partial if partial is not None else None
        if usage is None and message is not None:
            usage = message.usage
        duration = ended - self._started
        ttft = self._first_token_at - self._started if self._first_token_at is not None else None
        input_tokens = output_tokens = None
        cache_read = cache_creation = None
        if usage is not None:
            cache_read = usage.cache_read_input_tokens
            cache_creation = usage.cache_creation_input_tokens
            input_tokens = usage.input_tokens + (cache_read or 0) + (cache_creation or 0)
            output_tokens = usage.output_tokens
        rate = None
        if self._first_token_at is not None and output_tokens:
            generating = ended - self._first_token_at
            if generating > 0:
                rate = output_tokens / generating
        kind = error_type(error) if error is not None else None
        response_model = message.model if message is not None and message.model else None
        stop_reason = message.stop_reason if message is not None else None

        metric_attributes = {
            **self._metric_attributes,
            **_attributes({"gen_ai.response.model": response_model, "error.type": kind}),
        }
        span = self._span
        if span is not None:
            span.set_attributes(
                _attributes(
                    {
                        "gen_ai.response.id": message.id if message is not None else None,
                        "gen_ai.response.model": response_model,
                        "gen_ai.response.finish_reasons": [stop_reason] if stop_reason else None,
                        "gen_ai.usage.input_tokens": input_tokens,
                        "gen_ai.usage.output_tokens": output_tokens,
                        "gen_ai.usage.cache_read.input_tokens": cache_read,
                        "gen_ai.usage.cache_creation.input_tokens": cache_creation,
                        "gen_ai.response.time_to_first_chunk": ttft,
                        "http.response.status_code": self._status,
                        "http.request.resend_count": self._retries or None,
                        "anthropic.request.id": self._request_id,
                    }
                )
            )
            if self._capture and message is not None:
                span.set_attribute("gen_ai.output.messages", _output_content(message))
            if error is not None:
                from opentelemetry.trace import Status, StatusCode

                span.set_attribute("error.type", kind)
                span.set_status(Status(StatusCode.ERROR, _error_text(error)))
            span.end()
        instruments = self._instruments
        if instruments is not None and instruments.duration is not None:
            instruments.duration.record(duration, metric_attributes)
            token_attributes = {
                key: value for key, value in metric_attributes.items() if key != "error.type"
            }
            if input_tokens is not None:
                instruments.token_usage.record(
                    input_tokens, {**token_attributes, "gen_ai.token.type": "input"}
                )
            if output_tokens is not None:
                instruments.token_usage.record(
                    output_tokens, {**token_attributes, "gen_ai.token.type": "output"}
                )
            if self._stream and ttft is not None:
                instruments.time_to_first_chunk.record(ttft, metric_attributes)
            if rate is not None:
                instruments.tokens_per_second.record(rate, metric_attributes)
        if self._logs:
            self._log_end(duration, ttft, rate, error, kind, input_tokens, output_tokens, message)

    def _log_end(
        self,
        duration: float,
        ttft: float | None,
        rate: float | None,
        error: BaseException | None,
        kind: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        message: Message | None,
    ) -> None:
        stop_reason = message.stop_reason if message is not None else None
        fields: dict[str, Any] = {
            "event": "end",
            "operation": self._operation,
            "model": self._model,
            "outcome": "ok" if error is None else kind,
            "status": self._status,
            "request_id": self._request_id,
            "attempts": self._attempts,
            "duration": duration,
            "time_to_first_token": ttft,
            "output_tokens_per_second": rate,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "stop_reason": stop_reason,
        }
        parts = [
            f"status={self._status if self._status is not None else '-'}",
            f"request_id={self._request_id or '-'}",
            f"attempts={self._attempts}",
            f"duration={duration:.3f}s",
        ]
        if ttft is not None:
            parts.append(f"ttft={ttft:.3f}s")
        if input_tokens is not None:
            parts.append(f"input_tokens={input_tokens}")
        if output_tokens is not None:
            parts.append(f"output_tokens={output_tokens}")
        if rate is not None:
            parts.append(f"tokens/s={rate:.1f}")
        if stop_reason:
            parts.append(f"stop_reason={stop_reason}")
        outcome = "ok" if error is None else f"failed ({kind}: {_error_text(error)})"
        logger.info(
            "%s %s: %s", self._label(), outcome, " ".join(parts), extra={"trio_msgstream": fields}
        )


# --------------------------------------------------------------------------- content (opt-in)


def _parts(content: Any) -> list[dict[str, Any]]:
    """Message content as GenAI convention "parts" (text, tool calls, tool results)."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if not isinstance(content, (list, tuple)):
        return parts
    for block in content:
        data = block.model_dump(mode="json") if hasattr(block, "model_dump") else block
        if not isinstance(data, Mapping):
            continue
        kind = data.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": data.get("text", "")})
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(
                {
                    "type": "tool_call",
                    "id": data.get("id"),
                    "name": data.get("name"),
                    "arguments": data.get("input"),
                }
            )
        elif kind == "tool_result":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": data.get("tool_use_id"),
                    "response": data.get("content"),
                }
            )
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": data.get("thinking", "")})
        else:
            parts.append({"type": str(kind)})
    return parts


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _request_content(params: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    messages = params.get("messages")
    if isinstance(messages, (list, tuple)):
        found["gen_ai.input.messages"] = _json(
            [
                {"role": m.get("role"), "parts": _parts(m.get("content"))}
                for m in messages
                if isinstance(m, Mapping)
            ]
        )
    system = params.get("system")
    if system:
        found["gen_ai.system_instructions"] = _json(_parts(system))
    return found


def _output_content(message: Message) -> str:
    return _json(
        [
            {
                "role": message.role,
                "parts": _parts(message.content),
                "finish_reason": message.stop_reason,
            }
        ]
    )
