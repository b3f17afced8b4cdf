"""Live copies of one fan-out item's events for any number of subscribers.

Theory of operation::

    item task (the stream's only consumer)        subscriber tasks
      publish(event) ──▶ one bounded channel per subscriber ──▶ async for event in ...
      close()        ──▶ every channel ends: the subscribers' iterations stop

A subscriber sees the events from the moment it subscribed, as the same objects the
item's consumer sees (handlers already run). Each channel holds
``EVENT_SUBSCRIPTION_BUFFER`` events; a subscriber lagging further makes ``publish``
wait (backpressure reaches the item and so its producer). A subscriber that left is
dropped on the next ``publish``; one that arrives after ``close()`` gets an iteration
that ends at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from ..._core.stream.events import MessageStreamEvent, TextEvent

__all__ = ["EVENT_SUBSCRIPTION_BUFFER", "EventSubscribers", "TextDeltas"]

EVENT_SUBSCRIPTION_BUFFER = 256
"""Events a :meth:`FanOutHandle.open_events` subscriber may lag behind the item task
before the item (and so its producer) waits for it."""


class EventSubscribers:
    """The subscribers of one item's events; true while there is any."""

    __slots__ = ("_closed", "_sends")

    def __init__(self) -> None:
        self._sends: list[trio.MemorySendChannel[MessageStreamEvent]] = []
        self._closed = False

    def __bool__(self) -> bool:
        return bool(self._sends)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[MessageStreamEvent]]:
        """Receive the events published from now on, until :meth:`close`; leaving the
        block unsubscribes."""
        send, receive = trio.open_memory_channel[MessageStreamEvent](EVENT_SUBSCRIPTION_BUFFER)
        if self._closed:
            send.close()
        else:
            self._sends.append(send)
        try:
            async with receive:
                yield receive
        finally:
            self._discard(send)
            send.close()

    async def publish(self, event: MessageStreamEvent) -> None:
        """Hand ``event`` to every subscriber, waiting for those whose buffer is full."""
        for send in list(self._sends):
            try:
                await send.send(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._discard(send)

    def close(self) -> None:
        """End every subscriber's iteration; later subscribers get an ended one."""
        self._closed = True
        sends, self._sends = self._sends, []
        for send in sends:
            send.close()

    def _discard(self, send: trio.MemorySendChannel[MessageStreamEvent]) -> None:
        if send in self._sends:
            self._sends.remove(send)


class TextDeltas(AsyncIterator[str]):
    """The text deltas of an event iterator."""

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[MessageStreamEvent]) -> None:
        self._events = events

    def __aiter__(self) -> TextDeltas:
        return self

    async def __anext__(self) -> str:
        while True:
            event = await self._events.__anext__()
            if isinstance(event, TextEvent):
                return event.text
