#!/usr/bin/env python
"""Cancel a stream with a Trio cancel scope and keep the partial message.

``trio.move_on_after`` around the stream: when the time is up, the scope cancels the
read, leaving ``async with`` closes the stream (the producer task is cancelled and
waited for, the connection released), and what arrived so far is still readable from
``stream.current_message_snapshot``. No special timeout API is needed: cancellation is
Trio's.

Without ``ANTHROPIC_API_KEY`` the embedded local server answers, paced at 50 ms per
network chunk so that the stream lasts long enough to be cut; with a key the real API
writes a long story and is cut just the same.

Run: ``python examples/cancel_with_scope.py``
"""

from __future__ import annotations

import trio

import trio_msgstream as tms
from trio_msgstream.testing import open_demo_client

MODEL = "claude-sonnet-5-5"
SECONDS = 0.5


async def main() -> None:
    async with open_demo_client(pace=0.05) as client:
        stream: tms.MessageStream | None = None
        with trio.move_on_after(SECONDS) as scope:
            async with client.messages.stream(
                model=MODEL,
                max_tokens=1024,
                messages=[
                    {"role": "user", "content": "Write a long story about a trio of otters."}
                ],
            ) as stream:
                async for text in stream.text_stream:
                    print(text, end="", flush=True)
        print()

        if not scope.cancelled_caught:
            print("The stream finished within", SECONDS, "s; nothing was cancelled.")
            return
        print(f"--- cancelled after {SECONDS} s ---")
        partial = stream.current_message_snapshot if stream is not None else None
        if partial is None:
            print("Cancelled before the message started.")
            return
        text = "".join(block.text for block in partial.content if isinstance(block, tms.TextBlock))
        print(f"partial message {partial.id}: stop_reason={partial.stop_reason!r}")
        print(f"partial text ({len(text)} characters): {text!r}")


if __name__ == "__main__":
    trio.run(main)
