#!/usr/bin/env python
"""The seed's event-handler example (helpers.md, "Events"), ported to Trio.

Compared with the seed, exactly these lines changed:

- the import lines: ``from anthropic import AsyncAnthropic, AsyncMessageStream`` and
  ``from anthropic.types import MessageStreamEvent`` now import from ``trio_msgstream``
  (and ``import asyncio`` became ``import trio``);
- ``override`` comes from ``typing`` (Python 3.12+) instead of ``typing_extensions``,
  a package this project does not depend on; before 3.12 it is a do-nothing stand-in;
- the runner: ``asyncio.run(main())`` became ``trio.run(main)``;
- a bug of the seed is fixed (see the comment in ``on_text``): the seed prints ``text``,
  a name that does not exist there, so it would die with a ``NameError`` on the first
  delta. ``on_text`` here takes one argument, the delta, as in the seed; a one-argument
  override is supported (the two-argument form ``on_text(text, snapshot)`` also gets the
  accumulated text).

As in ``messages_stream.py``, one clearly marked block starts the embedded local server
and sets ``ANTHROPIC_BASE_URL`` when ``ANTHROPIC_API_KEY`` is not set, before the seed's
unchanged ``client = AsyncAnthropic()`` line; with a key it does nothing. The seed's
model name (long retired by the API) is replaced by a current model.

Run: ``python examples/messages_stream_handler.py``
"""

import sys

import trio

from trio_msgstream import AsyncAnthropic, AsyncMessageStream, MessageStreamEvent
from trio_msgstream.testing import use_embedded_server_unless_key

if sys.version_info >= (3, 12):
    from typing import override
else:

    def override(method):  # the decorator only informs type checkers
        return method


# Added for the demo (not in the seed): without ANTHROPIC_API_KEY, serve the embedded
# local server and set ANTHROPIC_BASE_URL to it, so the unchanged line below works.
use_embedded_server_unless_key()

client = AsyncAnthropic()


class MyStream(AsyncMessageStream):
    @override
    async def on_text(self, delta: str) -> None:
        # Fixed: the seed has ``print(text, ...)`` here, but ``text`` is undefined in
        # this method (NameError); the delta is the ``delta`` parameter.
        print(delta, end="", flush=True)

    @override
    async def on_stream_event(self, event: MessageStreamEvent) -> None:
        print("on_event fired with:", event)


async def main() -> None:
    async with client.messages.stream(
        max_tokens=1024,
        messages=[
            {
                "role": "user",
                "content": "Say hello there!",
            }
        ],
        model="claude-sonnet-5-5",
        event_handler=MyStream,
    ) as stream:
        message = await stream.get_final_message()
        print("accumulated message: ", message.model_dump_json(indent=2))


trio.run(main)
