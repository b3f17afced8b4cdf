"""``on_text(self, text, snapshot)`` overrides the stream's hook under ``@override``;
the handler class passed to ``stream()`` is the type of the stream (mypy and pyright)."""

from __future__ import annotations

from typing import assert_type

from typing_extensions import override

import trio_msgstream as tms


class Deltas(tms.MessageStream):
    """A handler class (the one-argument ``on_text`` form waits in
    tests/type_tests_pending for the base hook's signature)."""

    @override
    async def on_end(self) -> None:
        print()


class WithSnapshot(tms.MessageStream):
    """The two-argument form: the delta and the text so far."""

    @override
    async def on_text(self, text: str, snapshot: str) -> None:
        print(text, len(snapshot))


class SyncWithSnapshot(tms.SyncMessageStream):
    @override
    def on_text(self, text: str, snapshot: str) -> None:
        print(text, len(snapshot))


async def handler_class_is_the_stream(client: tms.AsyncClient) -> None:
    async with client.messages.stream(
        event_handler=Deltas,
        model="claude-sonnet-5-5",
        max_tokens=1,
        messages=[{"role": "user", "content": "Hi"}],
    ) as stream:
        assert_type(stream, Deltas)


def sync_handler_class_is_the_stream(client: tms.Client) -> None:
    with client.messages.stream(
        event_handler=SyncWithSnapshot,
        model="claude-sonnet-5-5",
        max_tokens=1,
        messages=[{"role": "user", "content": "Hi"}],
    ) as stream:
        assert_type(stream, SyncWithSnapshot)
