"""An ``httpx.Response`` opened with ``stream=True``, seen through the runtime's seam.

The async half of the httpx glue: reading the body under trio, translating httpx's
errors (``map_httpx_errors``) and finishing httpx's body readers deterministically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from .transport import HttpxResponseView, map_httpx_errors

__all__ = ["HttpxWireResponse"]


_FINISH_TIMEOUT = 5.0
"""Seconds allowed to release a response's connection and finish its body reader."""


class HttpxWireResponse(HttpxResponseView):
    """An ``httpx.Response`` opened with ``stream=True``, seen through ``WireResponse``."""

    __slots__ = ()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        chunks = self._response.aiter_bytes()
        try:
            with map_httpx_errors(request=self._response.request, in_body=True):
                async for chunk in chunks:
                    yield chunk
        finally:
            await self._finish(chunks)

    async def read_bounded(self, limit: int) -> bytes:
        data = bytearray()
        chunks = self._response.aiter_bytes()
        try:
            with map_httpx_errors(request=self._response.request, in_body=True):
                async for chunk in chunks:
                    data += chunk
                    if len(data) >= limit:
                        break
        finally:
            await self._finish(chunks)
        return bytes(data[:limit])

    async def _finish(self, chunks: AsyncIterator[bytes]) -> None:
        # httpx reads the body through a chain of nested async generators (httpx,
        # then httpcore). Closing the outermost one does not close the inner ones, and
        # trio warns (ResourceWarning) when an unfinished one is garbage collected. So
        # close the response first (that closes or releases the connection), then
        # drive the chain until it ends: every generator in it then finishes now,
        # deterministically, instead of at garbage collection.
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + _FINISH_TIMEOUT
            await self._response.aclose()
            try:
                while True:
                    await chunks.__anext__()
            except StopAsyncIteration:
                pass
            except Exception:  # the closed connection's error: expected here
                pass
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        await self._response.aclose()
