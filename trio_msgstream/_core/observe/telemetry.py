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
``trio_msgstream.client.output_tokens_per_second``. On a cloud platform,
``gen_ai.provider.name`` is the platform's well-known value (``aws.bedrock``,
``gcp.vertex_ai``, ``azure.ai.inference``), ``server.address`` its host, and
Bedrock's request id goes in ``aws.request_id`` (``anthropic.request.id`` elsewhere).
``gen_ai.usage.input_tokens`` counts cached input tokens too, as those conventions ask.

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
import time
from collections.abc import Iterator, Mapping
from typing import Any

from .observation import _NOOP as _NOOP
from .observation import RequestObservation as RequestObservation
from .observation import _LiveObservation
from .observation import error_type as error_type
from .observation import logger as logger
from .otel import INSTRUMENTATION_SCOPE as INSTRUMENTATION_SCOPE
from .otel import PROVIDER as PROVIDER
from .otel import _current_instruments as _current_instruments

__all__ = [
    "CAPTURE_CONTENT",
    "CAPTURE_CONTENT_ENV",
    "BodyParams",
    "RequestObservation",
    "observe_request",
]

CAPTURE_CONTENT_ENV = "TRIO_MSGSTREAM_CAPTURE_CONTENT"
"""Environment variable: ``true`` records message content on spans (off by default)."""
_OTEL_CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

CAPTURE_CONTENT: bool | None = None
"""``True``/``False`` forces content capture on/off for every later request; ``None``
(the default) follows the environment variables."""

# Read through a module attribute so that tests can drive time by hand.
_now = time.perf_counter


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
    provider: str | None = None,
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
        provider: ``gen_ai.provider.name``: ``"anthropic"`` (the default), or the cloud
            platform's (``"aws.bedrock"``, ``"gcp.vertex_ai"``, ``"azure.ai.inference"``).

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
        # Both read here, through this module, so that they can be set by hand.
        clock=_now,
        capture=(instruments is not None and instruments.tracer is not None and capture_content()),
        operation=operation,
        params=params,
        stream=stream,
        server_address=server_address,
        attempt_limit=attempt_limit,
        provider=provider or PROVIDER,
    )


# --------------------------------------------------------------------------- the live one
