"""Stream N prompts at once with ``open_fan_out``: live progress, then a summary table.

Runs against an embedded fake Anthropic server (``trio_msgstream.testing``) unless
``ANTHROPIC_API_KEY`` is set, in which case it talks to the real API::

    python examples/fan_out.py -n 8                 # fake server, redraws on a terminal
    python examples/fan_out.py -n 8 --plain         # one line per state change
    python examples/fan_out.py -n 8 | cat           # piped: plain lines, no escape codes
    ANTHROPIC_API_KEY=... python examples/fan_out.py -n 4 --model claude-haiku-4-5

Exit status: 0 when every stream succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

import trio_msgstream as tms
from trio_msgstream.testing import RecordedRequest, ScriptedResponse, default_responder

TOPICS = ["otters", "tea", "volcanoes", "chess", "bridges", "owls", "jazz", "glaciers"]


class Board:
    """Live per-stream progress, shared by the handlers of every stream."""

    def __init__(self, keys: list[str], *, plain: bool) -> None:
        self.keys = keys
        self.plain = plain
        self.chars = dict.fromkeys(keys, 0)
        self.state = dict.fromkeys(keys, "queued")
        self.drawn = False

    def text(self, key: str, delta: str) -> None:
        self.chars[key] += len(delta)
        if self.state[key] != "streaming":
            self.state[key] = "streaming"
            if self.plain:
                print(f"[{key}] streaming", flush=True)

    def end(self, key: str, status: str) -> None:
        self.state[key] = status
        if self.plain:
            print(f"[{key}] {status} ({self.chars[key]} chars)", flush=True)

    def redraw(self) -> None:
        if self.plain:
            return
        if self.drawn:
            sys.stdout.write(f"\x1b[{len(self.keys)}F")  # back to the first line
        for key in self.keys:
            bar = "#" * min(self.chars[key] // 8, 40)
            line = f"{key:<12} {self.state[key]:<10} {self.chars[key]:>5} chars {bar}"
            sys.stdout.write(f"\x1b[2K{line}\n")
        sys.stdout.flush()
        self.drawn = True


def handler_for(board: Board, key: str) -> type[tms.MessageStream]:
    """A MessageStream subclass whose handlers report to ``board`` under ``key``."""

    class Progress(tms.MessageStream):
        async def on_text(self, text: str, snapshot: str) -> None:
            board.text(key, text)

    return Progress


def slow_demo_responder(request: RecordedRequest) -> ScriptedResponse:
    """The fake server's default reply, paced differently per prompt (visible interleaving)."""
    reply = default_responder(request)
    body = request.json or {}
    content = str(body.get("messages", [{}])[-1].get("content", ""))
    return dataclasses.replace(reply, chunk_delay=0.01 + 0.01 * (len(content) % 4))


@asynccontextmanager
async def open_client() -> AsyncIterator[tuple[tms.AsyncClient, str]]:
    """A client for the real API when ANTHROPIC_API_KEY is set, else for a fake server."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        async with tms.AsyncClient() as client:
            yield client, "api.anthropic.com"
        return
    from trio_msgstream.testing import open_fake_anthropic

    async with open_fake_anthropic(responder=slow_demo_responder) as server:
        async with tms.AsyncClient(base_url=server.base_url, api_key="demo") as client:
            yield client, f"fake server at {server.base_url}"


def summary(results: dict[str, tms.FanOutResult], keys: list[str]) -> str:
    rows = [("key", "status", "chars", "ttft", "duration", "tokens")]
    for key in keys:
        result = results[key]
        m = result.metrics
        if result.message is not None:
            status = "ok"
            chars = sum(len(b.text) for b in result.message.content if isinstance(b, tms.TextBlock))
        else:
            status = "cancelled" if result.cancelled else type(result.error).__name__
            chars = 0
        ttft = f"{m.time_to_first_text:.3f}s" if m.time_to_first_text is not None else "-"
        tokens = f"{m.usage.input_tokens}+{m.usage.output_tokens}" if m.usage else "-"
        rows.append((key, status, str(chars), ttft, f"{m.duration:.3f}s", tokens))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


async def main(n: int, concurrency: int, model: str, plain: bool) -> int:
    keys = [f"prompt-{i}" for i in range(n)]
    board = Board(keys, plain=plain or not sys.stdout.isatty())
    results: dict[str, tms.FanOutResult] = {}
    async with open_client() as (client, where):
        print(f"streaming {n} prompts, {concurrency} at a time, from the {where}", flush=True)
        async with tms.open_fan_out(client, max_concurrency=concurrency) as fan:

            async def submit_all() -> None:
                for i, key in enumerate(keys):
                    topic = TOPICS[i % len(TOPICS)]
                    await fan.submit(
                        key,
                        event_handler=handler_for(board, key),
                        model=model,
                        max_tokens=200,
                        messages=[{"role": "user", "content": f"Say a sentence about {topic}"}],
                    )
                fan.done_submitting()

            async def redraw_until_done(done: trio.Event) -> None:
                while not done.is_set():
                    board.redraw()
                    with trio.move_on_after(0.1):
                        await done.wait()
                board.redraw()

            done = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(submit_all)
                nursery.start_soon(redraw_until_done, done)
                async for result in fan.results():
                    key = str(result.key)
                    results[key] = result
                    board.end(key, "done" if result.ok else "failed")
                done.set()
    print()
    print(summary(results, keys))
    return 0 if all(r.ok for r in results.values()) else 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=8, help="number of prompts (default 8)")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="max concurrent streams")
    parser.add_argument("--model", default="claude-sonnet-5-5")
    parser.add_argument("--plain", action="store_true", help="no redraw: one line per state change")
    args = parser.parse_args()
    sys.exit(trio.run(main, args.n, args.concurrency, args.model, args.plain))


if __name__ == "__main__":
    cli()
