"""The httpx end of a cloud platform's last step: rewrite, build and sign a request.

Shared by the async and the sync platform clients (it imports no trio). The credential
is resolved by each driver first (:mod:`trio_msgstream._trio.credentials` off the
event loop, or inline by the sync client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core.platforms.base import Platform, WireRequest
from .._core.request.spec import RequestSpec

__all__ = ["platform_request", "wire_view"]


def wire_view(request: Any) -> WireRequest:
    """What a signature covers of an ``httpx.Request`` or ``httpx2.Request`` (its body
    is in memory)."""
    return WireRequest(
        method=request.method,
        url=str(request.url),
        headers=request.headers.multi_items(),
        body=request.content,
    )


def platform_request(
    platform: Platform,
    spec: RequestSpec,
    credential: Any,
    build: Callable[[RequestSpec], Any],
) -> Any:
    """The request ``platform`` sends for ``spec``: rewritten, built by ``build``
    (the first-party client's way), then signed with ``credential``."""
    request = build(platform.rewrite(spec))
    request.headers.update(platform.sign(wire_view(request), credential))
    return request
