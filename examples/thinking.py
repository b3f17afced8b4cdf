#!/usr/bin/env python
"""Extended thinking, streamed: thinking deltas, the signature, then the answer.

With ``thinking={"type": "enabled", "budget_tokens": ...}`` the message starts with a
thinking block (``thinking`` events carry each delta and, lazily, the thinking so far),
closed by a ``signature`` event; the text block follows.

Without ``ANTHROPIC_API_KEY`` the embedded local server answers with a short thinking
block and a deterministic reply.

Run: ``python examples/thinking.py``
"""

from __future__ import annotations

import trio

import trio_msgstream as tms
from trio_msgstream.testing import open_demo_client

MODEL = "claude-sonnet-5-5"


async def main() -> None:
    async with open_demo_client() as client:
        async with client.messages.stream(
            model=MODEL,
            max_tokens=2048,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "What is 27 * 453? Answer briefly."}],
        ) as stream:
            section = None
            async for event in stream:
                if event.type in ("thinking", "text") and section != event.type:
                    section = event.type
                    print(f"\n[{section}]")
                if event.type == "thinking":
                    print(event.thinking, end="", flush=True)
                elif event.type == "signature":
                    print(f"\n[signature: {len(event.signature)} characters]")
                elif event.type == "text":
                    print(event.text, end="", flush=True)
            print()
            message = await stream.get_final_message()

    kinds = [block.type for block in message.content]
    print("content blocks:", kinds)
    for block in message.content:
        if isinstance(block, tms.ThinkingBlock):
            print(f"thinking ({len(block.thinking)} characters), signed: {bool(block.signature)}")
    print("usage:", message.usage.output_tokens, "output tokens")


if __name__ == "__main__":
    trio.run(main)
