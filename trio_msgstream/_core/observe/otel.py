"""OpenTelemetry side of the request telemetry: the instruments and opt-in content.

Theory of operation: :func:`_current_instruments` looks at the *global* tracer and
meter providers of an already imported ``opentelemetry`` (it never imports it
itself) and makes one tracer and the four histograms per pair of providers, cached
until the application swaps providers. The ``_*_content`` helpers turn request
params and a final message into the GenAI convention's JSON "parts"; they are only
called when the user opted in to content capture (see
:mod:`trio_msgstream._core.observe.telemetry`). Sans-IO.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..._version import __version__

if TYPE_CHECKING:
    from ..schema.models import Message

PROVIDER = "anthropic"
"""``gen_ai.provider.name`` of the first-party API (a platform client names its own)."""


def request_id_attribute(provider: str) -> str:
    """The span attribute of the response's request id: AWS's own ``aws.request_id``
    on Bedrock, else ``anthropic.request.id``."""
    return "aws.request_id" if provider == "aws.bedrock" else "anthropic.request.id"


INSTRUMENTATION_SCOPE = "trio_msgstream"

_DURATION_BUCKETS = tuple(0.01 * 2.0**i for i in range(14))  # 0.01, 0.02, ... 81.92 s
_TOKEN_BUCKETS = tuple(4.0**i for i in range(14))  # 1, 4, 16, ... 67108864
_RATE_BUCKETS = (1.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0)


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
