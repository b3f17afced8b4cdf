#!/usr/bin/env python
"""The seed's streaming example (helpers.md, "Streaming Responses"), ported to Trio.

Compared with the seed, exactly these lines changed:

- the import line: ``from anthropic import AsyncAnthropic`` became
  ``from trio_msgstream import AsyncAnthropic`` (and ``import asyncio`` became
  ``import trio``);
- the runner: ``asyncio.run(main())`` became ``trio.run(main)``.

One block was added, clearly marked, so that the example also runs on a machine without
an API key: with no ``ANTHROPIC_API_KEY`` it starts the embedded local server (the fake
Anthropic server of ``trio_msgstream.testing``, in a background thread) and points
``ANTHROPIC_BASE_URL`` at it *before* the seed's module-level ``client = AsyncAnthropic()``
line runs. That line is unchanged and reads the URL from the environment, exactly as it
would read a real key. With a key set the block does nothing and the real API answers.
(``AsyncAnthropic()`` itself has no hidden fallback: without a key and without a base URL
it raises, as it should.)

The seed's model name (long retired by the API) is replaced by a current model,
``claude-sonnet-5-5``; the rest of the code is the seed's.

Run: ``python examples/messages_stream.py``
"""

import trio

from trio_msgstream import AsyncAnthropic
from trio_msgstream.testing import use_embedded_server_unless_key

# Added for the demo (not in the seed): without ANTHROPIC_API_KEY, serve the embedded
# local server and set ANTHROPIC_BASE_URL to it, so the unchanged line below works.
use_embedded_server_unless_key()

client = AsyncAnthropic()


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
    ) as stream:
        async for text in stream.text_stream:
            print(text, end="", flush=True)
        print()


trio.run(main)
