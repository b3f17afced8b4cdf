"""The sync raw stream: ``client.messages.create(..., stream=True)`` without async.

The consumer's thread reads the body; the request session validates the events and
keeps the time (the consumer's own time between two reads is not idle time). Nothing
is accumulated and nothing retried once the stream is returned. ``message_stop`` is
handed out at once; the step after it (or closing the stream) reads the rest of the
body briefly, for the connection's reuse, then releases it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._core.events import RawMessageStreamEvent
from .._core.exceptions import APIConnectionError, APIError
from .._core.session import RequestSession
from .response import SyncHttpxWireResponse
from .stream import DRAIN_TIMEOUT

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Self

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
        self._complete = False
        """``message_stop`` was read: the iteration ends after its batch."""

    @property
    def response(self) -> httpx.Response:
        """The ``httpx.Response`` (headers only; the body is this stream)."""
        return self._response.raw

    @property
    def request_id(self) -> str | None:
        return self._response.request_id

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> RawMessageStreamEvent:
        try:
            while self._pos >= len(self._batch):
                if self._complete:
                    self.close()  # the step after message_stop: drain, release
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
            # message_stop: hand it out now; close() reads the rest of the body.
            session.succeed()
            self._complete = True
        else:
            session.consumer_holds(time.monotonic())
        return events

    def close(self) -> None:
        """Release the connection. Idempotent."""
        if self._done:
            return
        self._done = True
        if self._complete and not getattr(self._chunks, "gi_running", False):
            # The message is complete: read the rest of the body, briefly, so the
            # connection can be reused.
            self._response.drain(DRAIN_TIMEOUT)
        try:
            self._chunks.close()  # type: ignore[attr-defined]
        except ValueError:  # being read in another thread: wake that read up
            self._response.abort()
            return
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
