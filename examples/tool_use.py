#!/usr/bin/env python
"""Stream a tool call: ``input_json`` events as the arguments arrive, then the parsed input.

Each ``input_json`` event carries the raw JSON fragment (``partial_json``) and, computed
only when read, ``snapshot``: the partial input parsed so far. At ``content_block_stop``
the tool_use block's ``input`` is the complete, parsed dict.

Without ``ANTHROPIC_API_KEY`` the embedded local server answers: given tools, it calls
the first one with arguments built from the tool's ``input_schema``.

Run: ``python examples/tool_use.py``
"""

from __future__ import annotations

import json

import trio

import trio_msgstream as tms
from trio_msgstream.testing import open_demo_client

MODEL = "claude-sonnet-5-5"

TOOLS = [
    {
        "name": "get_weather",
        "description": "Get the current weather in a given location.",
        "input_schema": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City and country"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    }
]


async def main() -> None:
    async with open_demo_client() as client:
        async with client.messages.stream(
            model=MODEL,
            max_tokens=1024,
            tools=TOOLS,
            tool_choice={"type": "tool", "name": "get_weather"},
            messages=[{"role": "user", "content": "What's the weather like in Paris?"}],
        ) as stream:
            after_text = False
            async for event in stream:
                if event.type == "text":
                    print(event.text, end="", flush=True)
                    after_text = True
                elif event.type == "input_json":
                    if after_text:
                        print()
                        after_text = False
                    print(f"input_json: +{event.partial_json!r}  snapshot={event.snapshot!r}")
                elif event.type == "content_block_stop":
                    block = event.content_block
                    if isinstance(block, tms.ToolUseBlock):
                        print(f"tool_use block complete: {block.name}({json.dumps(block.input)})")
            message = await stream.get_final_message()

    print("stop_reason:", message.stop_reason)
    for block in message.content:
        if isinstance(block, tms.ToolUseBlock):
            print(f"parsed tool input for {block.name} (id {block.id}): {block.input!r}")


if __name__ == "__main__":
    trio.run(main)
