"""The benchmark's server process: the project's fake Anthropic server on loopback.

Run as ``python benchmarks/server.py``: prints the base URL on its first line of
stdout, then serves until its stdin is closed. Each request's ``model`` field names the
scenario (``long_text:4``, see ``scenarios.build``); the response is that scenario's
body, one network chunk per SSE event (``split_events``), exactly as every contender
gets it. Running it in its own process keeps its CPU time out of the client being
measured (the machine has two cores: one for the server, one for the client).
"""

from __future__ import annotations

import sys
from functools import cache

import trio
from scenarios import build

from trio_msgstream.testing import (
    RecordedRequest,
    ScriptedResponse,
    serve_fake_anthropic,
    split_events,
)


@cache
def _script(key: str) -> ScriptedResponse:
    scenario = build(key)
    return ScriptedResponse(
        body=scenario.body,
        chunks=split_events(scenario.body),
        chunk_delay=scenario.chunk_delay,
    )


def responder(request: RecordedRequest) -> ScriptedResponse:
    key = request.json.get("model", "warmup:1") if isinstance(request.json, dict) else "warmup:1"
    return _script(key)


async def main() -> None:
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            lambda task_status: serve_fake_anthropic(responder=responder, task_status=task_status)
        )
        print(server.base_url, flush=True)

        async def forget_requests() -> None:
            # The server records every request; thousands of them would grow its memory.
            while True:
                await trio.sleep(1)
                server.reset()

        nursery.start_soon(forget_requests)
        await trio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    trio.run(main)
