"""A user's middleware, typed as the docs write it: checked by mypy --strict and
pyright --strict (never run). The SDK-style names import from the top level."""

from __future__ import annotations

from typing import Any, assert_type

import trio_msgstream as tms
from trio_msgstream import (
    APIRequest,
    AsyncCallNext,
    BetaFallbackState,
    BetaRefusalFallbackMiddleware,
    CallNext,
    Middleware,
)
from trio_msgstream.middleware import APIResponse, AsyncAPIResponse


async def trace(request: APIRequest, call_next: AsyncCallNext) -> Any:
    assert_type(request.headers["anthropic-version"], str)
    assert_type(request.retries_taken, int)
    response = await call_next(request.copy(headers={"x-trace-id": "1"}))
    return response


def sync_trace(request: APIRequest, call_next: CallNext) -> Any:
    return call_next(request.copy(body={**request.json, "max_tokens": 16}))


class Timing(Middleware):
    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
        response: AsyncAPIResponse = await call_next(request)
        assert_type(response.status_code, int)
        assert_type(await response.read(), bytes)
        return response

    def handle(self, request: APIRequest, call_next: CallNext) -> Any:
        response: APIResponse = call_next(request)
        assert_type(response.is_success, bool)
        return response


async def main() -> None:
    fallback = BetaRefusalFallbackMiddleware([{"model": "claude-opus-4-8"}], betas=[])
    client = tms.AsyncClient(api_key="sk-test", middleware=[trace, Timing(), fallback])
    sync_client = tms.Client(api_key="sk-test", middleware=[sync_trace, Timing()])
    assert_type(client.with_middleware(trace), tms.AsyncClient)
    assert_type(sync_client.with_options(middleware=[]), tms.Client)
    state = BetaFallbackState()
    with state:
        message = await client.beta.messages.create(
            model="claude-fable-5", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    assert_type(message, tms.Message)
    assert_type(state.index, int | None)
