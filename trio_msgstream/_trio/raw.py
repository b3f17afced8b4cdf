"""Raw event streams: ``create(..., stream=True)``. Validated, never accumulated.

No background task: the consumer's own task reads the response, so there is nothing
to leak and nothing buffered beyond one network chunk. Connection errors and error
statuses are retried before the stream is returned; once it is returned nothing is
retried (every event goes straight to the consumer). Timeouts work as for
:class:`~trio_msgstream.MessageStream`: ``content_idle`` and ``deadline`` are cancel
scopes around each read.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import trio

from .._core.engine import StreamEngine
from .._core.events import RawMessageStreamEvent
from .._core.exceptions import APIConnectionError, APIError, APITimeoutError
from .._core.request import RequestSpec
from .stream import _aclose_iterator, check_sse_response, close_response, run_with_retries
from .wire import WireClient, WireResponse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from typing_extensions import Self

__all__ = ["RawMessageStream", "open_raw_stream"]


class RawMessageStream:
    """The wire events of one response. Use it as an async context manager.

    Iterate it for typed events (``message_start``, ``content_block_delta``, ...,
    ``message_stop``; pings included). Errors are typed as for
    :class:`~trio_msgstream.MessageStream`; ``partial_message`` is ``None`` because
    nothing is accumulated.
    """

    def __init__(self, response: WireResponse, spec: RequestSpec, *, started_at: float) -> None:
        self._response = response
        self._spec = spec
        self._engine = StreamEngine(accumulate=False, request_id=response.request_id)
        self._chunks: AsyncIterator[bytes] = response.iter_chunks()
        self._batch: list[RawMessageStreamEvent] = []
        self._pos = 0
        self._eof = False
        self._closed = False
        deadline = spec.timeout.deadline
        self._deadline = started_at + deadline if deadline is not None else math.inf
        idle = spec.timeout.content_idle
        self._idle_deadline = trio.current_time() + idle if idle is not None else math.inf

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
        while self._pos >= len(self._batch):
            if self._eof or self._closed:
                await trio.lowlevel.checkpoint()
                raise StopAsyncIteration
            self._batch, self._pos = await self._read_batch(), 0
        event = self._batch[self._pos]
        self._pos += 1
        return event

    async def _read_batch(self) -> list[RawMessageStreamEvent]:
        engine = self._engine
        timeout = self._spec.timeout
        try:
            with trio.move_on_at(min(self._deadline, self._idle_deadline)) as scope:
                chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            self._eof = True
            await self.aclose()
            return engine.receive_eof()
        except APIError as exc:
            await self.aclose()
            if engine.done and isinstance(exc, APIConnectionError):
                # After message_stop the stream is complete: a connection that breaks
                # while the end of the body is read is just discarded.
                self._eof = True
                return []
            raise engine.fail(exc) from exc.__cause__
        if scope.cancelled_caught:
            await self.aclose()
            if trio.current_time() >= self._deadline:
                error = APITimeoutError(f"deadline of {timeout.deadline} s", which="deadline")
            else:
                error = APITimeoutError(
                    f"no event but pings for {timeout.content_idle} s", which="content_idle"
                )
            raise engine.fail(error)
        try:
            events = engine.receive_raw(chunk)
        except APIError:
            await self.aclose()
            raise
        if timeout.content_idle is not None and any(e.type != "ping" for e in events):
            self._idle_deadline = trio.current_time() + timeout.content_idle
        return events

    async def aclose(self) -> None:
        """Release the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await _aclose_iterator(self._chunks)
        finally:
            await close_response(self._response)

    async def close(self) -> None:
        """Same as :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def open_raw_stream(client: WireClient, spec: RequestSpec) -> RawMessageStream:
    """Send the request (retrying as the policy allows) and return the raw stream."""
    started_at = trio.current_time()
    deadline = spec.timeout.deadline

    async def attempt() -> WireResponse:
        response = await client.open_response(spec)
        try:
            await check_sse_response(response)
        except BaseException:
            await close_response(response)
            raise
        return response

    with trio.move_on_at(started_at + deadline if deadline is not None else math.inf) as scope:
        response = await run_with_retries(
            spec, attempt, before_attempt=lambda: None, may_retry=lambda: True, fail=lambda e: e
        )
        return RawMessageStream(response, spec, started_at=started_at)
    assert scope.cancelled_caught
    raise APITimeoutError(f"deadline timeout of {deadline} s", which="deadline")
