"""Usage limits in a user's file: checked by mypy --strict and pyright --strict (never run)."""

from __future__ import annotations

from typing import assert_type

import trio

import trio_msgstream as tms
from trio_msgstream.usage import RunUsage, UsageTracker

MODEL = "claude-sonnet-4-6"


async def budgets() -> None:
    limits = tms.UsageLimits(request_limit=10, output_tokens_limit=2000)
    tracker = UsageTracker(limits)
    async with tms.AsyncClient(api_key="sk-test") as client:
        async with client.messages.stream(
            model=MODEL,
            max_tokens=256,
            messages=[{"role": "user", "content": "Hello"}],
            usage_limits=limits,
        ) as stream:
            await stream.get_final_text()
        await client.messages.create(model=MODEL, max_tokens=256, messages=[], usage_limits=tracker)
        async with trio.open_nursery() as nursery:
            async with tms.open_message_stream(
                nursery, client, model=MODEL, max_tokens=1, messages=[], usage_limits=tracker
            ):
                pass
        async with tms.open_fan_out(client, usage_limits=limits) as fan:
            assert_type(fan.usage, RunUsage)
        runner = client.messages.tool_runner(
            tools=[], usage_limits=tracker, model=MODEL, max_tokens=1, messages=[]
        )
        assert_type(runner.usage, RunUsage)
    try:
        pass
    except tms.UsageLimitExceeded as exc:
        assert_type(exc.usage, RunUsage)
        assert_type(exc.limit, str)
    assert_type(tracker.usage.total_tokens, int)
