"""A request ready to send: what every entry point builds and every driver sends.

Part of the sans-IO core. Retries resend the same spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..config import Timeout
from ..redact import mask_headers

__all__ = ["RequestSpec"]


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

    def __repr__(self) -> str:
        return (
            f"RequestSpec(method={self.method!r}, path={self.path!r}, "
            f"headers={mask_headers(self.headers)!r}, body=<{len(self.body)} bytes>, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, "
            f"query={dict(self.query)!r})"
        )
