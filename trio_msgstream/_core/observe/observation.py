"""The request observations: the shared no-op base and the live span/metrics/log one.

Theory of operation: :class:`RequestObservation` is the interface the request
session reports to (see :mod:`trio_msgstream._core.observe.telemetry` for the order of calls)
and, as a base class, does nothing: its one shared instance is returned when nobody
listens. :class:`_LiveObservation` is made by ``observe_request`` when OpenTelemetry
or the ``trio_msgstream`` logger listens: it starts the span at once, keeps the
attempt/status/first-token facts as they arrive, and on ``end()`` sets the span's
response attributes and status, records the metrics and writes one INFO record
(plus one DEBUG record per retry). The clock and the content opt-in are handed in
by ``observe_request``, so this module holds no settings. Telemetry never raises
into the request. Sans-IO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..exceptions import (
    APIError,
    APIStatusError,
    APITimeoutError,
    StreamClosedError,
    StreamProtocolError,
)
from .otel import (
    PROVIDER,
    _Instruments,
    _output_content,
    _request_content,
    request_id_attribute,
)

if TYPE_CHECKING:
    from ..schema.models import Message, Usage

logger = logging.getLogger("trio_msgstream")


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
        "_clock",
        "_ended",
        "_first_token_at",
        "_instruments",
        "_logs",
        "_metric_attributes",
        "_model",
        "_operation",
        "_params",
        "_provider",
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
        clock: Callable[[], float],
        capture: bool,
        operation: str,
        params: Mapping[str, Any],
        stream: bool,
        server_address: str | None,
        attempt_limit: int,
        provider: str = PROVIDER,
    ) -> None:
        self._clock = clock
        self._provider = provider
        self._started = clock()
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
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": self._model,
                "server.address": host,
                "server.port": port,
            }
        )
        self._capture = capture
        self._span: Any = None
        if instruments is not None and instruments.tracer is not None:
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
            "gen_ai.system": self._provider,
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
            self._first_token_at = self._clock()

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
        ended = self._clock()
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
                        request_id_attribute(self._provider): self._request_id,
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
            "provider": self._provider,
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
