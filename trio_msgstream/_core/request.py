"""A request ready to send: what every entry point builds and every driver sends.

Part of the sans-IO core. Retries resend the same spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .config import Timeout

__all__ = ["RequestSpec"]


@dataclass(frozen=True)
class RequestSpec:
    """One Messages API request, ready to send (retries resend the same spec)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    timeout: Timeout
    max_retries: int
    query: Mapping[str, str] = field(default_factory=dict)
