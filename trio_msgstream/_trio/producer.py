"""The producer task of a stream: request, retries, body pumped into a bounded channel.

Theory of operation::

    caller's nursery
     └── producer task (StreamProducer.run)          one per stream
          ├─ drives the RequestSession: sends the request, retries, checks the
          │  response head, then reports started (so HTTP errors raise where the
          │  caller enters ``async with``)
          ├─ reads the body, feeds the session (decoder, accumulator, holding back)
          └─ sends the events of each network chunk ───────┐
             (extending the last batch sent while it waits  ▼
             in the channel)        bounded memory channel (backpressure)
                                                           │
    consumer task (MessageStream), one at a time ◀─────────┘

Backpressure: the channel holds ``max_buffer_size`` batches. A batch is the events of
one network chunk, or of several: while the last batch sent still waits in the channel
(the consumer has not received it), the events of the next chunks are appended to it,
as long as it then holds at most ``MAX_BATCH_EVENTS`` events and comes from at most
``DEFAULT_MAX_DECODED_CHUNK`` bytes of body (one decoding step's worth, the most one
chunk can bring). So the backlog is bounded exactly as with one batch per chunk:
``max_buffer_size`` batches of at most one decoding step each; in a burst (many small
chunks read at once) there are far fewer hand-overs. When the channel is full and its
last batch cannot grow, the producer stops reading the socket.

The producer never raises into the caller's nursery. Once it has reported started it
captures its own failure as an ``outcome.Error`` and closes the channel; the consumer
raises that error itself. Cancellation is never captured.

Timeouts are one cancel scope whose deadline the session computes (one scope per
stream, with ``close()``): the request's ``deadline`` over the whole producer; while
the body is read, the earlier of it and the session's stepped ``content_idle``
deadline, which stops while the producer waits for a slow consumer. A ``content_idle``
timeout ends the attempt (and is retried while nothing was delivered): the scope is
then replaced by a new one for the next attempt.

At ``message_stop`` the consumer is told the stream is over at once; the producer then
reads what is left of the body (briefly, so the connection can be reused) and
releases the connection.
"""

from __future__ import annotations

from typing import Any

import outcome
import trio

from .._core.config import DEFAULT_MAX_BUFFER_SIZE, DRAIN_TIMEOUT
from .._core.exceptions import APIConnectionError, APIError, IncompleteStreamError
from .._core.middleware.chain import middleware_error_delay
from .._core.request.session import RequestSession
from .._core.request.spec import RequestSpec
from .._core.stream.decoding import DEFAULT_MAX_DECODED_CHUNK
from .._core.stream.engine import StreamEngine
from .._core.stream.events import MessageStreamEvent
from .request import close_response, new_session, open_checked
from .wire import WireClient, WireResponse

__all__ = ["StreamProducer", "drain_body"]

Batch = list[MessageStreamEvent]

MAX_BATCH_EVENTS = 64
"""The most events a batch is extended to (it may pass this by one chunk's events)."""


class StreamProducer:
    """The producer of one stream and the channel it fills."""

    __slots__ = (
        "_finished_event",
        "_open_bytes",
        "_task_status",
        "client",
        "close_scope",
        "closing",
        "draining",
        "finished",
        "max_buffer_size",
        "open_batch",
        "queued",
        "receive_channel",
        "response",
        "result",
        "send_channel",
        "session",
        "start_failure",
        "started",
    )

    def __init__(
        self,
        client: WireClient,
        spec: RequestSpec,
        *,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.session: RequestSession = new_session(client, spec, "stream", params=params)
        self.max_buffer_size = max_buffer_size
        send, receive = trio.open_memory_channel[Batch](max_buffer_size)
        self.send_channel: trio.MemorySendChannel[Batch] = send
        self.receive_channel: trio.MemoryReceiveChannel[Batch] = receive
        self.close_scope = trio.CancelScope()
        self.closing = False
        """:meth:`aclose` has cancelled ``close_scope``."""
        self.finished = False
        """The producer task has exited."""
        self._finished_event: trio.Event | None = None  # made when someone waits
        self.result: outcome.Outcome[None] | None = None
        self.response: WireResponse | None = None
        self.started = False
        self.draining = False
        """The message is complete; the rest of the body is being read."""
        self.open_batch: Batch | None = None
        """The last batch sent, while the consumer has not received it (it may grow);
        the consumer sets ``None`` when it receives a batch."""
        self._open_bytes = 0
        self.queued = 0
        """Batches sent and not yet received (the consumer counts them off): with none,
        the consumer waits on the channel at once instead of asking it first."""
        self._task_status: trio.TaskStatus[None] | None = None
        self.start_failure: tuple[APIError, BaseException | None] | None = None
        """The error the producer raised before it started, and that error's cause."""

    @property
    def engine(self) -> StreamEngine | None:
        return self.session.engine

    def fail(self, error: APIError) -> APIError:
        """Attach the partial message to ``error`` and record it as the request's end."""
        return self.session.fail(error)

    # -- the task ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None]) -> None:
        """The producer task. Raises into the caller only before it reports started.

        The attempts (the loop of :func:`~trio_msgstream._trio.request.run_attempts`; the
        rules are the session's) run in this frame, each attempt in :meth:`_attempt`'s:
        a waiting stream keeps two coroutine frames of its own, and one cancel scope
        (``close_scope``) for ``close()``, the request's deadline and ``content_idle``.
        """
        # trio's status keeps the start-up nursery of ``nursery.start()`` (a nursery, its
        # cancel scope and status) alive: held only until started, not by this frame.
        self._task_status = task_status
        del task_status
        session = self.session
        client = self.client
        delay: float | None = None  # the wait before the next attempt
        try:
            try:  # (``async with`` would keep the channel's bound __aexit__)
                while True:
                    with self.close_scope as scope:
                        scope.deadline = session.deadline_at
                        try:
                            while True:
                                if delay is not None:
                                    await trio.sleep(delay)
                                session.begin_attempt(trio.current_time())
                                try:
                                    await self._attempt(client, session, scope)
                                    break
                                except APIError as exc:
                                    delay = session.after_failure(exc, trio.current_time())
                                except Exception as exc:  # a middleware's own error
                                    now = trio.current_time()
                                    delay = middleware_error_delay(session, exc, now)
                            self._succeed()
                        except APIError as exc:
                            if not self.started:
                                self.start_failure = (exc, exc.__cause__)
                                raise
                            self.result = outcome.Error(exc)
                        except Exception as exc:  # a middleware's own (a body it supplied)
                            if not self.started:
                                raise
                            self.result = outcome.Error(exc)
                    if not scope.cancelled_caught or self.closing:
                        break  # done, or closed
                    if scope.deadline >= session.deadline_at:  # the request's deadline
                        if self.result is None:
                            self._fail_with(session.fail(session.deadline_error()))
                        break
                    # content_idle (the scope's deadline while the body was read): a
                    # failure of the attempt, as if the body read had raised it.
                    if session.done:
                        self._succeed()  # the message is complete: only the drain timed out
                        break
                    now = trio.current_time()
                    try:
                        delay = session.after_failure(session.timeout_error(now), now)
                    except APIError as exc:
                        self._fail_with(exc)
                        break
                    self.close_scope = trio.CancelScope()  # the next attempt's
            finally:
                await self.send_channel.aclose()
        finally:
            self._task_status = None
            session.abandon()  # closed or cancelled: telemetry still ends the request
            self.finished = True
            if self._finished_event is not None:
                self._finished_event.set()

    def _succeed(self) -> None:
        self.result = outcome.Value(None)
        self.session.succeed(self._final_message())

    def _fail_with(self, error: APIError) -> None:
        """The request failed outside an attempt: before the producer reported started
        the error goes to the caller of ``nursery.start()``; after, to the consumer."""
        if not self.started:
            self.start_failure = (error, error.__cause__)
            raise error
        self.result = outcome.Error(error)

    def _final_message(self) -> Any:
        engine = self.session.engine
        return engine.snapshot() if engine is not None and engine.done else None

    async def _attempt(
        self, client: WireClient, session: RequestSession, scope: trio.CancelScope
    ) -> None:
        """One attempt: send, check the head, report started, then read the body and
        hand its events over. One frame for all of it: it is the frame a waiting
        stream keeps, so nothing it handed over stays referenced from here.

        While the body is read, ``scope`` (the request's) also ends at the stepped
        ``content_idle`` deadline; :meth:`run` tells the two apart by the scope's
        deadline when it fired.
        """
        response = self.response = await open_checked(client, session)
        try:
            status = self._task_status
            if status is not None:
                self._task_status = None
                self.started = True
                status.started()
                del status
            clock = trio.lowlevel.current_clock()
            receive = session.receive_data
            deadline_at = session.deadline_at
            idle_deadline = session.idle_deadline  # as set on the scope (read per chunk)
            scope.deadline = min(idle_deadline, deadline_at)
            chunks = response.iter_chunks()
            try:
                async for chunk in chunks:
                    events = receive(chunk, clock.current_time())
                    if session.idle_deadline != idle_deadline:
                        idle_deadline = session.idle_deadline
                        scope.deadline = min(idle_deadline, deadline_at)
                    if not events:
                        continue
                    batch = self.open_batch
                    if (
                        batch is not None
                        and len(batch) < MAX_BATCH_EVENTS
                        and self._open_bytes + len(chunk) <= DEFAULT_MAX_DECODED_CHUNK
                    ):
                        batch += events  # still in the channel, not yet received
                        self._open_bytes += len(chunk)
                    elif self._deliver_nowait(events):
                        self.open_batch = events
                        self._open_bytes = len(chunk)
                    else:
                        # Waiting for a slow consumer is not an idle stream.
                        self.open_batch = None
                        session.pause_idle(trio.current_time())
                        scope.deadline = deadline_at
                        if not await self._deliver(events):
                            return
                        session.resume_idle(trio.current_time())
                        idle_deadline = session.idle_deadline
                        scope.deadline = min(idle_deadline, deadline_at)
                    # What was handed over is the consumer's: not kept by this frame
                    # while it waits for the next chunk.
                    del batch, events, chunk
                    if session.done:
                        await self._end_at_message_stop(chunks)
                        return
            finally:
                await _aclose_iterator(chunks)
            tail = session.receive_eof()
            if tail:
                await self._deliver(tail)
        except APIConnectionError:
            # After message_stop the message is complete (and delivered): a connection
            # that breaks or times out while the end of the body is read does not fail
            # the stream. The connection is discarded.
            if not session.done:
                raise
        finally:
            await close_response(response)

    async def _end_at_message_stop(self, chunks: Any) -> None:
        # The consumer has everything: end its stream now, then read the rest of the
        # body (the API sends nothing after message_stop) so the connection can be
        # reused; a body that stays open is dropped after DRAIN_TIMEOUT.
        self.open_batch = None
        self.result = outcome.Value(None)
        self.draining = True
        await self.send_channel.aclose()
        await drain_body(chunks, self.session)

    def _deliver_nowait(self, batch: Batch) -> bool:
        """Send a batch if the channel has room, without yielding; ``False`` otherwise
        (full, or closed: then :meth:`_deliver` waits, or reports the consumer gone).

        The producer still checkpoints on every socket read and whenever the channel
        is full, so a cancellation is seen within ``max_buffer_size`` batches.
        """
        try:
            self.send_channel.send_nowait(batch)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        self.queued += 1
        return True

    async def _deliver(self, batch: Batch) -> bool:
        """Send a batch to the consumer; ``False`` when the consumer is gone."""
        self.queued += 1  # (while this waits, the channel is full)
        try:
            await self.send_channel.send(batch)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    # -- stopping --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Cancel the producer and wait for it; close the channel. Idempotent.

        A producer reading the end of a complete message's body is given up to
        ``DRAIN_TIMEOUT`` to finish, so the connection can be reused.
        """
        if self.draining and not self.finished:
            with trio.CancelScope(shield=True, deadline=trio.current_time() + DRAIN_TIMEOUT):
                await self._wait_finished()
        self.closing = True
        self.close_scope.cancel()
        if not self.finished:
            with trio.CancelScope(shield=True):
                await self._wait_finished()
        await self.receive_channel.aclose()

    async def _wait_finished(self) -> None:
        event = self._finished_event
        if event is None:
            event = self._finished_event = trio.Event()
        await event.wait()


async def drain_body(chunks: Any, session: RequestSession) -> None:
    """Read what is left of a complete message's body (nothing, from the API) for at
    most ``DRAIN_TIMEOUT`` seconds, so its connection can be reused."""
    engine = session.engine
    assert engine is not None
    with trio.move_on_after(DRAIN_TIMEOUT):
        try:
            async for chunk in chunks:
                engine.receive_data(chunk)
        except APIError:
            pass  # the message is complete; what follows cannot change it


async def _aclose_iterator(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with trio.CancelScope(shield=True):
            await aclose()


def incomplete_if_cancelled(producer: StreamProducer) -> APIError:
    """The error for a producer cancelled from outside (its nursery's scope)."""
    return producer.fail(IncompleteStreamError("the stream's producer task was cancelled"))
