"""Telemetry of a request: the hooks the request session calls.

Part of the sans-IO core. This is the no-op base; instrumentation (logging,
OpenTelemetry) fills it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Message, Usage

__all__ = ["RequestObservation", "observe_request"]


class RequestObservation:
    """One request's telemetry. Every method is a no-op here."""

    def attempt(self, number: int) -> None:
        """Before each HTTP attempt (1-based)."""

    def retry(self, *, attempt: int, delay: float, error: BaseException) -> None:
        """A retry was decided."""

    def response(self, *, status: int, request_id: str | None) -> None:
        """A response head arrived."""

    def first_token(self) -> None:
        """The first content event of a stream reached the consumer."""

    def end(
        self,
        *,
        message: Message | None = None,
        error: BaseException | None = None,
        usage: Usage | None = None,
    ) -> None:
        """The request ended (once)."""


_NOOP = RequestObservation()


def observe_request(
    *,
    operation: str,
    params: Mapping[str, Any],
    stream: bool,
    server_address: str | None,
    attempt_limit: int,
) -> RequestObservation:
    """The observation of a new request (a shared no-op when nothing listens)."""
    return _NOOP
