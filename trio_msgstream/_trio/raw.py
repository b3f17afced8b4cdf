"""Raw event streams: ``create(..., stream=True)``. Validated, never accumulated.

No background task: the consumer's own task reads the response, so there is nothing
to leak and nothing buffered beyond one network chunk. Connection errors and error
statuses are retried before the stream is returned (the request session's rules);
once it is returned nothing is retried (every event goes straight to the consumer).

Timeouts: ``deadline`` and ``content_idle`` bound each wait for the network; the time
the consumer spends between two reads is not idle time (the session's idle clock is
paused while the consumer holds a batch). ``message_stop`` is handed out at once; the
step after it (or closing the stream) reads the rest of the body briefly, for the
connection's reuse, then releases it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio

from .._core.exceptions import APIConnectionError, APIError
from .._core.request.session import RequestSession
from .._core.request.spec import RequestSpec
from .._core.stream.events import RawMessageStreamEvent
from .producer import drain_body
from .request import close_response, new_session, open_checked, run_attempts
from .wire import WireClient, WireResponse

if TYPE_CHECKING:
    from typing import Self

__all__ = ["RawMessageStream", "open_raw_stream"]


class RawMessageStream:
    """The wire events of one response. Use it as an async context manager.

    Iterate it for typed events (``message_start``, ``content_block_delta``, ...,
    ``message_stop``; pings included). Errors are typed as for
    :class:`~trio_msgstream.MessageStream`; ``partial_message`` is ``None`` because
    nothing is accumulated.
    """

    def __init__(self, response: WireResponse, session: RequestSession) -> None:
        self._response = response
        self._session = session
        engine = session.engine
        assert engine is not None
        self._engine = engine
        self._chunks: AsyncIterator[bytes] = response.iter_chunks()
        self._batch: list[RawMessageStreamEvent] = []
        self._pos = 0
        self._eof = False
        self._closed = False
        self._complete = False
        self._clock = trio.lowlevel.current_clock()

    @property
    def response(self) -> Any:
        """The ``httpx.Response`` (headers only; the body is this stream)."""
        return self._response.raw

    @property
    def request_id(self) -> str | None:
        return self._response.request_id

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawMessageStreamEvent:
        pos = self._pos
        batch = self._batch
        while pos >= len(batch):
            if self._complete and not self._closed:
                # The step after message_stop: read the rest of the body, release it.
                await self.aclose()
            if self._eof or self._closed:
                await trio.lowlevel.checkpoint()
                raise StopAsyncIteration
            session = self._session
            clock = self._clock
            now = clock.current_time()
            deadline = session.resume_idle(now)
            chunk: bytes | None
            try:
                if deadline - now >= session.transport_read_limit:
                    # The transport's read timeout fires first (or together): no cancel
                    # scope per read, the common case right after content.
                    chunk = await self._chunks.__anext__()
                else:
                    chunk = await self._read_scoped(deadline)
            except StopAsyncIteration:
                batch = await self._end_of_body()
            except APIError as exc:
                batch = await self._broken(exc)
            else:
                if chunk is None:
                    await self.aclose()
                    raise session.fail(session.timeout_error(clock.current_time()))
                # (One chunk's events: written out here, as this runs once per chunk.)
                now = clock.current_time()
                try:
                    events: list[Any] = session.receive_data(chunk, now)
                except APIError:
                    await self.aclose()
                    raise
                if self._engine.done:
                    # message_stop: hand it out now; aclose() reads the rest of the body.
                    self._eof = True
                    self._complete = True
                    session.succeed()
                else:
                    # Reading the clock again would add nothing: the consumer is handed
                    # the batch now.
                    session.consumer_holds(now)
                batch = events
            self._batch = batch
            pos = 0
        self._pos = pos + 1
        return batch[pos]

    async def _read_scoped(self, deadline: float) -> bytes | None:
        """The next chunk, or ``None`` when ``deadline`` passes first."""
        with trio.move_on_at(deadline):
            return await self._chunks.__anext__()
        return None

    async def _end_of_body(self) -> list[RawMessageStreamEvent]:
        self._eof = True
        await self.aclose()
        session = self._session
        tail: list[Any] = session.receive_eof()
        session.succeed()
        return tail

    async def _broken(self, exc: APIError) -> list[RawMessageStreamEvent]:
        await self.aclose()
        session = self._session
        if session.done and isinstance(exc, APIConnectionError):
            # After message_stop the stream is complete: a connection that breaks
            # while the end of the body is read is just discarded.
            self._eof = True
            return []
        error = session.explain_transport_timeout(exc, self._clock.current_time())
        raise session.fail(error) from exc.__cause__

    async def aclose(self) -> None:
        """Release the connection (after reading the rest of a complete message's body
        for at most ``DRAIN_TIMEOUT`` seconds, for its reuse). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._session.abandon()  # no-op after the end was recorded
        try:
            if self._complete:
                await drain_body(self._chunks, self._session)
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                with trio.CancelScope(shield=True):
                    await aclose()
        finally:
            await close_response(self._response)

    async def close(self) -> None:
        """Same as :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def open_raw_stream(
    client: WireClient, spec: RequestSpec, *, params: dict[str, Any] | None = None
) -> RawMessageStream:
    """Send the request (retrying as the session allows) and return the raw stream."""
    session: RequestSession = new_session(client, spec, "raw", params=params)
    with trio.move_on_at(session.deadline_at):
        response = await run_attempts(session, lambda: open_checked(client, session))
        return RawMessageStream(response, session)
    raise session.fail(session.deadline_error())
