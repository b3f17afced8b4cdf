#!/usr/bin/env python
"""Structured output: the reply as a typed object, and its fields as they stream in.

``output_format=Trip`` sends the model's JSON schema with the request; the final
message's ``parsed_output`` is a ``Trip``. While streaming, every text delta is followed
by a ``parsed_output`` event whose ``snapshot`` is the ``Trip`` validated so far
(fields not received yet are ``None``), and ``stream.partial_output`` is the latest one.
A refusal raises ``OutputRefusedError``, a reply cut by ``max_tokens``
``OutputTruncatedError``, and JSON that does not validate ``OutputValidationError``.

Without ``ANTHROPIC_API_KEY`` a local fake server answers with scripted replies.

Run: ``python examples/structured_output.py``
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from pydantic import BaseModel

import trio_msgstream as tms
from trio_msgstream.testing import (
    Conversation,
    has_api_key,
    json_response,
    open_fake_anthropic,
    text_response,
)

MODEL = "claude-sonnet-5-5"


class Trip(BaseModel):
    city: str
    days: int
    highlights: list[str]


KYOTO = {"city": "Kyoto", "days": 3, "highlights": ["Fushimi Inari", "Arashiyama", "Gion"]}


@asynccontextmanager
async def open_client() -> AsyncIterator[tms.AsyncClient]:
    """The real API with a key; otherwise a fake server that plays three replies."""
    if has_api_key():
        async with tms.AsyncClient() as client:
            yield client
        return
    script = Conversation(
        json_response(KYOTO),
        json_response(KYOTO, chunk_size=6, chunk_delay=0.05),
        text_response("I can't help with planning that.", stop_reason="refusal"),
    )
    async with open_fake_anthropic(responder=script) as server:
        print(
            f"trio-msgstream: ANTHROPIC_API_KEY is not set; using the embedded local "
            f"server at {server.base_url} (scripted answers)",
            file=sys.stderr,
        )
        async with tms.AsyncClient(base_url=server.base_url, api_key="demo") as client:
            yield client


async def main() -> None:
    ask = [{"role": "user", "content": "Plan a short trip to Kyoto."}]
    async with open_client() as client:
        # One request, one typed object.
        message = await client.messages.parse(
            model=MODEL, max_tokens=1024, messages=ask, output_format=Trip
        )
        trip = message.parsed_output
        assert isinstance(trip, Trip)
        print(f"parsed: {trip!r}")

        # Streaming: render the fields as they arrive.
        async with client.messages.stream(
            model=MODEL, max_tokens=1024, messages=ask, output_format=Trip
        ) as stream:
            shown = None
            async for event in stream:
                if event.type == "parsed_output":
                    snapshot = event.snapshot
                    fields = snapshot.model_dump(exclude_none=True) if snapshot else {}
                    if fields != shown:
                        print(f"partial: {fields}")
                        shown = fields
            final = await stream.get_final_message()
        print(f"final: {final.parsed_output!r}")

        # A refusal is reported as one, not as a validation error.
        try:
            await client.messages.parse(
                model=MODEL,
                max_tokens=1024,
                messages=[{"role": "user", "content": "Plan a heist."}],
                output_format=Trip,
            )
        except tms.OutputRefusedError as exc:
            print(f"refused: {exc.raw_text!r}")
        except tms.StructuredOutputError as exc:
            print(f"no output: {exc}")


if __name__ == "__main__":
    trio.run(main)
