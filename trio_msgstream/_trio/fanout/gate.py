"""The group's gate: the trio driver of the fan-out's rate-limit rules.

Theory of operation::

    item's producer ──▶ ItemClient.open_response(spec)
                          ├─ GroupGate.wait(handle, tokens)   sleeps as GroupRateLimit
                          │                                   says: pause, then the
                          │                                   request and token budgets
                          ├─ the wrapped client sends the request
                          └─ GroupGate.observe(response)      its head may pause the group

The rules (what pauses, how budgets refill, how estimates are corrected) are the
sans-IO :class:`~trio_msgstream._core.request.ratelimit.GroupRateLimit`; this module only
supplies the clocks, sleeps, and serialises the takers of each budget with a
:class:`trio.Lock` so that budgets are first come, first served.

``ItemClient`` is the client as one item sees it, so the single-stream runtime needs
no fan-out hook: it sees every attempt (retries too) before it is sent and every
response's status line and headers as soon as they arrive.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from ..._core.config import Timeout
from ..._core.request.ratelimit import GroupRateLimit, TokenBucket, estimate_tokens
from ..._core.request.spec import RequestSpec
from ..wire import WireClient, WireResponse

if TYPE_CHECKING:
    from .handle import FanOutHandle

__all__ = ["GroupGate", "ItemClient"]


class GroupGate:
    """Every request of a fan-out passes here before it is sent.

    Args:
        requests_per_minute: See :func:`~trio_msgstream.open_fan_out`.
        tokens_per_minute: See :func:`~trio_msgstream.open_fan_out`.

    Raises:
        ValueError: A negative budget.
    """

    def __init__(
        self, *, requests_per_minute: float | None, tokens_per_minute: float | None
    ) -> None:
        self.limits = GroupRateLimit(
            trio.current_time(),
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
        )
        self._request_lock = trio.Lock()
        self._token_lock = trio.Lock()

    async def wait(self, handle: FanOutHandle, tokens: float) -> None:
        """Wait until the group lets one request of ``handle`` start.

        ``tokens`` (0 for none) is taken from the tokens budget once and recorded on the
        handle as its reservation, which :meth:`settle` corrects when the item ends.
        """
        limits = self.limits
        while True:
            await self._wait_unpaused()
            if limits.requests is not None:
                await self._take(limits.requests, self._request_lock, 1.0)
            if limits.tokens is not None and tokens:
                await self._take(limits.tokens, self._token_lock, tokens)
                handle._token_estimate = tokens
                tokens = 0.0
            if trio.current_time() >= limits.paused_until:
                return
            # A pause began while waiting for the budgets: honour it too.

    async def _wait_unpaused(self) -> None:
        while True:
            until = self.limits.paused_until  # a pause may grow while sleeping
            if trio.current_time() >= until:
                return
            await trio.sleep_until(until)

    @staticmethod
    async def _take(bucket: TokenBucket, lock: trio.Lock, amount: float) -> None:
        async with lock:
            while True:
                wait = bucket.take(amount, trio.current_time())
                if wait is None:
                    return
                await trio.sleep(wait)

    def observe(self, response: WireResponse) -> None:
        """Let a response's head pause the group (429/529, ``anthropic-ratelimit-*``)."""
        self.limits.observe(
            response.status_code, response.headers, now=trio.current_time(), wall_now=time.time()
        )

    def settle(self, handle: FanOutHandle) -> None:
        """The item ended: correct its token reservation from what it spent."""
        reserved, handle._token_estimate = handle._token_estimate, 0.0
        self.limits.settle_tokens(
            reserved,
            usage=handle._usage,
            streamed=handle._stream is not None,
            now=trio.current_time(),
        )


class ItemClient:
    """The client as one item sees it: every attempt first passes the group's gate,
    and every response's head is observed (and timed) as soon as it arrives."""

    def __init__(
        self, inner: WireClient, gate: GroupGate, handle: FanOutHandle, max_tokens: int
    ) -> None:
        self._inner = inner
        self._gate = gate
        self._handle = handle
        self._max_tokens = max_tokens

    @property
    def timeout(self) -> Timeout:
        return self._inner.timeout

    @property
    def max_retries(self) -> int:
        return self._inner.max_retries

    def build_spec(self, kwargs: Mapping[str, Any], *, stream: bool) -> RequestSpec:
        return self._inner.build_spec(kwargs, stream=stream)

    @property
    def middleware(self) -> tuple[Any, ...]:
        # The client's middleware runs per attempt, around this gate: every request a
        # middleware sends (a fallback's too) passes the gate.
        return tuple(getattr(self._inner, "middleware", ()))

    def _adopt_response(self, response: object, request: Any) -> WireResponse | None:
        adopt = getattr(self._inner, "_adopt_response", None)
        return adopt(response, request) if adopt is not None else None

    async def open_response(self, spec: RequestSpec) -> WireResponse:
        handle = self._handle
        # Tokens are estimated once per item (retries reuse the reservation).
        tokens = estimate_tokens(self._max_tokens, len(spec.body)) if handle._attempts == 0 else 0.0
        await self._gate.wait(handle, tokens)
        handle._attempts += 1
        response = await self._inner.open_response(spec)
        handle._first_byte_at = trio.current_time()
        self._gate.observe(response)
        return response
