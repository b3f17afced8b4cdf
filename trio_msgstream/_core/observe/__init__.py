"""Observation of requests: OpenTelemetry spans, metrics and log records."""
