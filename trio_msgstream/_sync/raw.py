"""The sync raw stream: ``client.messages.create(..., stream=True)`` without async.

The consumer's thread reads the body; the request session validates the events and
keeps the time (the consumer's own time between two reads is not idle time). Nothing
is accumulated and nothing retried once the stream is returned; at ``message_stop``
the iteration ends.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._core.config import DRAIN_TIMEOUT
from .._core.exceptions import APIConnectionError, APIError
from .._core.request.session import RequestSession
from .._core.stream.events import RawMessageStreamEvent
from .response import SyncHttpxWireResponse

if TYPE_CHECKING:
    from typing import Self

    import httpx
    import httpx2

__all__ = ["SyncRawMessageStream"]


class SyncRawMessageStream:
    """The wire events of one response (``create(..., stream=True)``), synchronously.

    Use it as a context manager and iterate it for typed events (pings included).
    Nothing is accumulated and nothing retried once it is returned.
    """

    def __init__(self, response: SyncHttpxWireResponse, session: RequestSession) -> None:
        self._response = response
        self._session = session
        self._chunks = response.iter_chunks()
        self._batch: list[RawMessageStreamEvent] = []
        self._pos = 0
        self._done = False
        """No more reads: the iteration ends after the batch at hand."""
        self._released = False

    @property
    def response(self) -> httpx.Response | httpx2.Response:
        """The ``httpx.Response`` or ``httpx2.Response`` (headers only; the body is this
        stream)."""
        return self._response.raw

    @property
    def request_id(self) -> str | None:
        return self._response.request_id

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> RawMessageStreamEvent:
        try:
            while self._pos >= len(self._batch):
                if self._done:
                    raise StopIteration
                self._batch, self._pos = self._read_batch(), 0
        except (KeyboardInterrupt, SystemExit):
            self.close()
            raise
        event = self._batch[self._pos]
        self._pos += 1
        return event

    def _read_batch(self) -> list[RawMessageStreamEvent]:
        session = self._session
        session.resume_idle(time.monotonic())
        try:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.close()
                tail: list[Any] = session.receive_eof()
                session.succeed()
                return tail
            except APIError as exc:
                if session.done and isinstance(exc, APIConnectionError):
                    self.close()
                    return []
                # A read timeout clamped to content_idle/deadline is reported as such.
                raise session.fail(exc, time.monotonic()) from exc.__cause__
            now = time.monotonic()
            if now >= session.wait_deadline:
                raise session.fail(session.timeout_error(now))
            events: list[Any] = session.receive_data(chunk, now)
        except BaseException:
            self.close()
            raise
        if session.done:
            # message_stop: the iteration ends with this batch; close() reads the end
            # of the body (bounded) so the consumer never waits for it.
            session.succeed()
            self._done = True
        else:
            session.consumer_holds(time.monotonic())
        return events

    def close(self) -> None:
        """Release the connection. Idempotent."""
        if self._released:
            return
        self._released = True
        complete = self._done and self._session.done
        self._done = True
        self._session.abandon()  # no-op after the end was recorded
        try:
            if complete:
                self._response.drain(self._chunks, DRAIN_TIMEOUT)
            self._chunks.close()
        except ValueError:  # being read in another thread: wake that read up
            self._response.abort()
            return
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
