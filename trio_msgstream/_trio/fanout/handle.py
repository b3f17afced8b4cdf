"""The handle of one fan-out item: its state, measurements and the caller's controls.

Theory of operation::

    queued ──(the dispatcher gives it a slot)──▶ running ──(its item task ends)──▶ done
       └──────────────(handle.cancel() while queued)──────────────────────────────┘

The scheduler (``fanout.py``) moves an item through these states and fills in its
measurements; the gate's ``ItemClient`` counts its attempts and times its first byte.
The caller reads the handle from any task: the live stream, the result, waits for
either, cancels the item alone, or follows its events (``fanout_events.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

import trio

from ..._core.schema.models import Usage
from ..._core.stream.events import MessageStreamEvent
from ..stream import MessageStream
from .events import EventSubscribers, TextDeltas
from .results import FanOutMetrics, FanOutResult

if TYPE_CHECKING:
    from .scheduler import FanOut

__all__ = ["QUEUED", "RUNNING", "DONE", "FanOutHandle", "ItemState"]

ItemState = Literal["queued", "running", "done"]
QUEUED: ItemState = "queued"
RUNNING: ItemState = "running"
DONE: ItemState = "done"


class FanOutHandle:
    """The handle of one submitted item, returned by :meth:`FanOut.submit`.

    Attributes:
        key: The item's key.
    """

    def __init__(self, fan: FanOut, key: Hashable, kwargs: dict[str, Any]) -> None:
        self.key = key
        self._fan = fan
        self._kwargs = kwargs
        self._state: ItemState = QUEUED
        self._stream: MessageStream | None = None
        self._scope = trio.CancelScope()
        self._cancel_requested = False
        self._started = trio.Event()
        self._done = trio.Event()
        self._result: FanOutResult | None = None
        self._subscribers = EventSubscribers()
        # measurements, filled in by the item task and its ItemClient
        self._submitted_at = trio.current_time()
        self._slot_at: float | None = None
        self._first_byte_at: float | None = None
        self._first_text_at: float | None = None
        self._attempts = 0
        self._events = 0
        self._token_estimate = 0.0
        self._usage: Usage | None = None

    def __repr__(self) -> str:
        return f"<FanOutHandle key={self.key!r} state={self._state}>"

    @property
    def stream(self) -> MessageStream | None:
        """The item's :class:`MessageStream` once its response has started, else ``None``.

        It stays set after the item finished (read its final state there).

        The fan-out's item task is the stream's consumer, so do not iterate it (that
        raises :class:`trio.BusyResourceError`); read ``current_message_snapshot``,
        ``statistics()``, ``response`` or ``request_id``, follow it live with
        :meth:`open_events` / :meth:`open_text_stream`, or handle its events with
        ``event_handler=``.
        """
        return self._stream

    @property
    def result(self) -> FanOutResult | None:
        """The item's result once it is finished, else ``None``."""
        return self._result

    @property
    def done(self) -> bool:
        """Whether the item's result has been produced."""
        return self._state == DONE

    async def wait_started(self) -> MessageStream | None:
        """Wait until the item's stream has started (or the item finished without one).

        Returns:
            The live stream, or ``None`` when the item ended before a response streamed.

        Cancellation:
            Only the wait is cancelled; the item goes on.
        """
        async with trio.open_nursery() as nursery:

            async def wait_for(event: trio.Event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(wait_for, self._started)
            nursery.start_soon(wait_for, self._done)
        return self._stream

    async def wait(self) -> FanOutResult | None:
        """Wait for the item to finish and return its result.

        The result is still yielded by :meth:`FanOut.results` as usual.

        Returns:
            The result, or ``None`` when the item ended without one: the whole
            fan-out was cancelled, or (under ``on_error="cancel"``) this item's failure
            is being raised out of ``open_fan_out``.

        Cancellation:
            Only the wait is cancelled; the item goes on.
        """
        await self._done.wait()
        return self._result

    async def cancel(self) -> None:
        """Cancel this item alone; its result becomes a :class:`FanOutCancelled` error.

        A queued item never starts; a running one has its stream cancelled (connection
        released, ``on_end`` run). Returns once the item's result exists. Nothing
        happens to an item that already finished. Under ``on_error="cancel"`` a
        cancellation through the handle is not a failure: siblings go on.

        Cancellation:
            The item is cancelled at once; waiting for its cleanup is shielded (it is
            bounded by the stream's own close timeout).
        """
        if self._state == DONE:
            await trio.lowlevel.checkpoint()
            return
        self._cancel_requested = True
        if self._state == QUEUED:
            self._fan._finish_without_running(self)
            await trio.lowlevel.checkpoint()
            return
        self._scope.cancel()
        with trio.CancelScope(shield=True):
            await self._done.wait()

    @asynccontextmanager
    async def open_events(self) -> AsyncIterator[AsyncIterator[MessageStreamEvent]]:
        """Follow the item's events live, from now on, from any task.

        Example::

            async with handle.open_events() as events:
                async for event in events:
                    ...

        The iteration ends when the item finishes (its error, if any, is in the
        result, not raised here). A subscriber that lags more than
        ``EVENT_SUBSCRIPTION_BUFFER`` events slows the item down (backpressure);
        leaving the block unsubscribes.

        Yields:
            An async iterator of the item's events (the same objects the item's
            consumer sees, handlers already run).
        """
        async with self._subscribers.subscribe() as events:
            yield events

    @asynccontextmanager
    async def open_text_stream(self) -> AsyncIterator[AsyncIterator[str]]:
        """Like :meth:`open_events`, for the text deltas alone.

        Yields:
            An async iterator of text deltas.
        """
        async with self.open_events() as events:
            yield TextDeltas(events)

    def _metrics(self, now: float, usage: Usage | None) -> FanOutMetrics:
        """The item's measurements as it ends at ``now``."""
        start = self._slot_at
        if start is None:  # it never got a slot
            return FanOutMetrics(
                queued=now - self._submitted_at,
                time_to_first_byte=None,
                time_to_first_text=None,
                duration=0.0,
                events=0,
                retries=0,
                usage=None,
            )

        def since_start(moment: float | None) -> float | None:
            return moment - start if moment is not None else None

        return FanOutMetrics(
            queued=start - self._submitted_at,
            time_to_first_byte=since_start(self._first_byte_at),
            time_to_first_text=since_start(self._first_text_at),
            duration=now - start,
            events=self._events,
            retries=max(self._attempts - 1, 0),
            usage=usage,
        )
