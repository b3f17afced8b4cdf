"""Type proofs that wait for the client signatures (see tests/test_type_checks.py).

Each block below is what a user writes; today the checkers reject or miss it because
of the library's signatures, not the user's code:

1. ``open_message_stream(...)`` without ``event_handler`` is ``Any`` under mypy: the
   ``event_handler: type[_S] = MessageStream`` default does not bind ``_S`` (needs an
   overload without ``event_handler``, as ``messages.stream`` has).
2. A one-argument ``on_text(self, text)`` override is an incompatible override: the
   base hook is ``on_text(self, text, snapshot)``.
3. A misspelt parameter at the call site passes: ``**kwargs: Any`` instead of
   ``**kwargs: Unpack[MessageCreateParams + RequestOptions]``.

When the signatures allow them, tests/test_type_checks.py fails: move this file's
contents into tests/type_tests.
"""

from __future__ import annotations

import trio
from typing_extensions import assert_type, override

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
    await client.messages.create(
        model="claude-sonnet-5-5",
        max_token=1024,  # type: ignore[call-arg]
        messages=[{"role": "user", "content": "Hi"}],
    )


def sync_typo_at_the_call_site(client: tms.Client) -> None:
    client.messages.create(
        model="claude-sonnet-5-5",
        max_token=1024,  # type: ignore[call-arg]
        messages=[{"role": "user", "content": "Hi"}],
    )
