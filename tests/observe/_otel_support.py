"""One OpenTelemetry SDK for the test process: in-memory spans and metrics.

OpenTelemetry's global providers can be set once per process, so the tests share
them: :func:`telemetry` installs them on first use and empties them for each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def clear(self) -> None:
        self.spans.clear()
        self.reader.get_metrics_data()  # delta temporality: drops what was recorded

    def points(self, name: str) -> list[Any]:
        """Every data point of metric ``name`` recorded since the last call/clear."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def all_points(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


_telemetry: Telemetry | None = None


def install() -> Telemetry:
    global _telemetry
    if _telemetry is None:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        reader = InMemoryMetricReader(
            preferred_temporality={Histogram: AggregationTemporality.DELTA}
        )
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _telemetry = Telemetry(exporter, reader)
    return _telemetry


def telemetry_fixture() -> Iterator[Telemetry]:
    telemetry = install()
    telemetry.clear()
    yield telemetry
    telemetry.clear()


def text_of(span: ReadableSpan) -> str:
    """Everything a span records, as text (to search for things that must not be there)."""
    parts = [span.name, repr(dict(span.attributes or {}))]
    for event in span.events:
        parts.append(event.name)
        parts.append(repr(dict(event.attributes or {})))
    parts.append(repr(span.status.description))
    return "\n".join(parts)
