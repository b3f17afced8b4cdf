"""A request ready to send: what every entry point builds and every driver sends.

Part of the sans-IO core. Retries resend the same spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import Timeout
from ..redact import mask_headers

__all__ = ["RequestSpec", "UsageBudget", "UsageWatch", "usage_budgets"]


@dataclass(frozen=True)
class RequestSpec:
    """One Messages API request, ready to send (retries resend the same spec).

    Its repr masks the secret headers and shows the body's size only, so a traceback
    rendered with locals never shows the API key.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    timeout: Timeout
    max_retries: int
    query: Mapping[str, str] = field(default_factory=dict)
    usage: tuple[UsageBudget, ...] = field(default=(), compare=False)
    """The usage budgets the request counts against (``usage_limits=``)."""
    beta: bool = False
    """Made by ``client.beta`` (not sent: middleware reads it as ``APIRequest.beta``)."""

    def __repr__(self) -> str:
        return (
            f"RequestSpec(method={self.method!r}, path={self.path!r}, "
            f"headers={mask_headers(self.headers)!r}, body=<{len(self.body)} bytes>, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, "
            f"query={dict(self.query)!r})"
        )


class UsageWatch(Protocol):
    """One request's usage accounting (see ``_core/agents/usage_limits.py``)."""

    def new_attempt(self) -> None: ...

    def observe(self, events: Iterable[Any], partial: Any = None) -> None: ...

    def settle(self, message: Any) -> None: ...

    def check_hop(self) -> None: ...

    def count_hop(self) -> None: ...

    def hop_reply(self, usage: Any) -> None: ...


class UsageBudget(Protocol):
    """What ``usage_limits=`` names: a ``UsageLimits`` or a ``UsageTracker``. The
    request session asks it before the request is sent and feeds it what arrives."""

    def check_request(self) -> None: ...

    def begin_request(self) -> UsageWatch: ...


def usage_budgets(value: object) -> tuple[UsageBudget, ...]:
    """The budgets a ``usage_limits=`` option names: one, or a sequence (each applies)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(budget for item in value for budget in usage_budgets(item))
    if callable(getattr(value, "begin_request", None)):
        return (value,)  # type: ignore[return-value]
    raise TypeError(f"usage_limits must be a UsageLimits or a UsageTracker, not {value!r}")
