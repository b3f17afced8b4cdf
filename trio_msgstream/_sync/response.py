"""An ``httpx.Response`` opened with ``stream=True``, read synchronously.

The sync counterpart of the async glue's response: the body as it arrives (undecoded,
then decoded in bounded steps), httpx's errors translated, and :meth:`abort` to wake a
read blocked in another thread.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Generator, Iterator

from .._core.exceptions import APIError, StreamProtocolError
from .._httpx.transport import HttpxResponseView, decoded_pieces, map_httpx_errors

__all__ = ["SyncHttpxWireResponse"]


class SyncHttpxWireResponse(HttpxResponseView):
    """An ``httpx.Response`` opened with ``stream=True`` (sync counterpart of the async one).

    Every read and close is inside :func:`map_httpx_errors`.
    """

    __slots__ = ()

    def iter_chunks(self) -> Generator[bytes, None, None]:
        """The decoded body as it arrives, in pieces of at most one decoding step."""
        in_memory = self._body_in_memory()
        if in_memory is not None:
            yield from in_memory
            return
        decoder = self._decoder()
        with map_httpx_errors(request=self._response.request, in_body=True):
            if decoder is None:  # the usual case: no per-chunk work at all
                yield from self._response.iter_raw()
                return
            for raw in self._response.iter_raw():
                yield from decoded_pieces(decoder, raw)
            decoder.finish()

    def read_bounded(self, limit: int) -> bytes:
        """Up to ``limit`` decoded bytes of the body, secrets redacted (error previews)."""
        collector = self._preview_collector(limit)
        chunks = self.iter_chunks()
        try:
            for piece in chunks:
                if collector.add(piece):
                    break
        except StreamProtocolError:
            pass  # a preview keeps what decodes
        finally:
            chunks.close()
        return collector.result()

    def read_body(self, limit: int) -> bytes:
        """The whole decoded body (non-streaming responses).

        Raises:
            StreamProtocolError: The body is longer than ``limit`` bytes, or does not
                decode.
            APIConnectionError: The connection failed while reading.
        """
        collector = self._body_collector(limit)
        chunks = self.iter_chunks()
        try:
            for piece in chunks:
                collector.add(piece)
        finally:
            chunks.close()
        return collector.result()

    def drain(self, chunks: Iterator[bytes], timeout: float) -> None:
        """Read the rest of the body from ``chunks`` (the body's iterator in use) so
        the connection can be reused, for at most
        ``timeout`` seconds while data keeps coming; give up quietly (closing then
        drops the connection).

        A body that goes silent instead of ending is waited for up to the request's
        read timeout (clamped to ``content_idle`` and the deadline): a blocking read
        cannot be cut short from the reading thread.
        """
        give_up_at = time.monotonic() + timeout
        try:
            for _ in chunks:
                if time.monotonic() >= give_up_at:
                    return
        except Exception:  # the message is complete; the rest is best effort
            pass

    def close(self) -> None:
        try:
            with map_httpx_errors(request=self._response.request):
                self._response.close()
        except APIError:
            pass  # closing discards the connection anyway; there is nothing to report

    def abort(self) -> None:
        """Shut the socket down, waking a read blocked in another thread.

        Closing a socket does not interrupt a ``recv`` in progress on Linux; shutting
        it down does. The reading thread then closes the response itself.
        """
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
