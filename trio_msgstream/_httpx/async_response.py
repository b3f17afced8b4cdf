"""An ``httpx.Response`` (or ``httpx2.Response``) opened with ``stream=True``, seen
through the runtime's seam.

The async half of the httpx glue: reading the body under trio (undecoded, then decoded
in bounded steps), translating httpx's errors (``map_httpx_errors``) and finishing
httpx's body readers deterministically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from .._core.exceptions import APIError, StreamProtocolError
from .transport import HttpxResponseView, decoded_pieces, map_httpx_errors, translate_httpx_error

__all__ = ["HttpxWireResponse"]


_FINISH_TIMEOUT = 5.0
"""Seconds allowed to release a response's connection and finish its body reader."""


class HttpxWireResponse(HttpxResponseView):
    """An ``httpx.Response`` opened with ``stream=True``, seen through ``WireResponse``.

    Every read and close is inside :func:`map_httpx_errors`; the body is read undecoded
    and its ``Content-Encoding`` decoded in bounded steps (see the ``transport`` module).
    """

    __slots__ = ()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        in_memory = self._body_in_memory()
        if in_memory is not None:
            for piece in in_memory:
                yield piece
            return
        decoder = self._decoder()
        chunks = self._raw_chunks()
        # map_httpx_errors, written out: a context manager here would be kept (with its
        # generator) by every waiting stream.
        try:
            if decoder is None:  # the usual case: no per-chunk work at all
                async for raw in chunks:
                    if raw:  # b"" would read as the end of the body
                        yield raw
                return
            async for raw in chunks:
                for piece in decoded_pieces(decoder, raw):
                    yield piece
            decoder.finish()
        except Exception as exc:
            error = translate_httpx_error(exc, request=self._response.request, in_body=True)
            if error is None:
                raise
            raise error from exc
        finally:
            await self._finish(chunks)

    def _raw_chunks(self) -> AsyncIterator[bytes]:
        # The response's byte stream itself: aiter_raw() would add a generator layer,
        # a chunker and a byte count to every network chunk, and we read raw bytes in
        # the network's chunking anyway. (A body already read is served from memory
        # before this; one streamed or closed goes through aiter_raw, which raises
        # httpx's error for it.)
        response = self._response
        stream = response.stream
        if (
            hasattr(stream, "__aiter__")  # an AsyncByteStream, of either library
            and not response.is_stream_consumed
            and not response.is_closed
        ):
            response.is_stream_consumed = True
            return stream.__aiter__()
        return response.aiter_raw()

    async def read_bounded(self, limit: int) -> bytes:
        """Up to ``limit`` decoded bytes of the body, secrets redacted (error previews)."""
        collector = self._preview_collector(limit)
        chunks = self.iter_chunks()
        try:
            async for piece in chunks:
                if collector.add(piece):
                    break
        except StreamProtocolError:
            pass  # a preview keeps what decodes
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        return collector.result()

    async def read_body(self, limit: int) -> bytes:
        """The whole decoded body (non-streaming responses), joined once.

        Raises:
            StreamProtocolError: The body is longer than ``limit`` bytes, or does not
                decode.
            APIConnectionError: The connection failed while reading.
        """
        collector = self._body_collector(limit)
        chunks = self.iter_chunks()
        try:
            async for piece in chunks:
                collector.add(piece)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        return collector.result()

    async def _finish(self, chunks: AsyncIterator[bytes]) -> None:
        # httpx reads the body through a chain of nested async generators (httpx,
        # then httpcore). Closing the outermost one does not close the inner ones, and
        # trio warns (ResourceWarning) when an unfinished one is garbage collected. So
        # close the response first (that closes or releases the connection), then
        # drive the chain until it ends: every generator in it then finishes now,
        # deterministically, instead of at garbage collection.
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + _FINISH_TIMEOUT
            try:
                await self._response.aclose()
            except Exception:  # the connection is discarded either way
                pass
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
        try:
            with map_httpx_errors(request=self._response.request):
                await self._response.aclose()
        except APIError:
            pass  # closing discards the connection anyway; there is nothing to report
