"""Type proofs of the client signatures (run by tests/test_type_checks.py, both checkers):

1. ``open_message_stream(...)`` without ``event_handler`` is a ``MessageStream``;
2. a one-argument ``on_text(self, text)`` override is a valid override (as is the
   two-argument one, see handlers.py);
3. a misspelt parameter at the call site is an error (the ``type: ignore`` would be
   reported as unused otherwise: mypy's ``warn_unused_ignores`` under ``--strict``,
   pyright's ``reportUnnecessaryTypeIgnoreComment``).
"""

from __future__ import annotations

from typing import assert_type

import trio
from typing_extensions import override

import trio_msgstream as tms


async def open_in_my_nursery() -> None:
    async with tms.AsyncClient(api_key="sk-test") as client:
        async with trio.open_nursery() as nursery:
            async with tms.open_message_stream(
                nursery,
                client,
                model="claude-sonnet-5-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "Hi"}],
            ) as stream:
                assert_type(stream, tms.MessageStream)
                async for text in stream.text_stream:
                    assert_type(text, str)


class Deltas(tms.MessageStream):
    @override
    async def on_text(self, text: str) -> None:
        print(text, end="")


class SyncDeltas(tms.SyncMessageStream):
    @override
    def on_text(self, text: str) -> None:
        print(text, end="")


async def typo_at_the_call_site(client: tms.AsyncClient) -> None:
    await client.messages.create(  # type: ignore[call-overload]
        model="claude-sonnet-5-5",
        max_token=1024,
        messages=[{"role": "user", "content": "Hi"}],
    )


def sync_typo_at_the_call_site(client: tms.Client) -> None:
    client.messages.create(  # type: ignore[call-overload]
        model="claude-sonnet-5-5",
        max_token=1024,
        messages=[{"role": "user", "content": "Hi"}],
    )
