#!/usr/bin/env python
"""The synchronous client: the same interface, without async/await.

``trio_msgstream.Client`` (also exported as ``Anthropic``) runs the same sans-IO
decoder and accumulator over ``httpx.Client``, in the calling thread, with the same
errors and retry rules. Handlers are plain methods on a ``SyncMessageStream`` subclass.

Without ``ANTHROPIC_API_KEY`` the embedded local server answers (in a background
thread, for the duration of the ``with`` block).

Run: ``python examples/sync_stream.py``
"""

from __future__ import annotations

import trio_msgstream as tms
from trio_msgstream.testing import demo_client

MODEL = "claude-sonnet-5-5"
MESSAGES = [{"role": "user", "content": "Say hello there!"}]


class Counter(tms.SyncMessageStream):
    """Counts text deltas and reports the finished message."""

    deltas = 0
    finished: tms.Message | None = None

    def on_text(self, text: str, snapshot: str) -> None:
        self.deltas += 1

    def on_message(self, message: tms.Message) -> None:
        self.finished = message


def main() -> None:
    with demo_client() as client:
        # 1. A stream: text as it arrives, handlers run in this thread.
        with client.messages.stream(
            model=MODEL, max_tokens=1024, messages=MESSAGES, event_handler=Counter
        ) as stream:
            for text in stream.text_stream:
                print(text, end="", flush=True)
            print()
        message = stream.get_final_message()
        assert stream.finished is message
        print(f"{stream.deltas} text deltas, {message.usage.output_tokens} output tokens")
        print(f"request id {stream.request_id}")

        # 2. Raw events, nothing accumulated (least memory).
        with client.messages.create(
            model=MODEL, max_tokens=1024, messages=MESSAGES, stream=True
        ) as events:
            kinds = [event.type for event in events]
        print(f"raw stream: {len(kinds)} events, {kinds[0]} ... {kinds[-1]}")

        # 3. No streaming: the whole message at once.
        whole = client.messages.create(model=MODEL, max_tokens=1024, messages=MESSAGES)
        same = whole.content[0] == message.content[0]
        print(f"create(): {whole.stop_reason}, same text as the stream: {same}")


if __name__ == "__main__":
    main()
