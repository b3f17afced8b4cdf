"""An ``httpx.Response`` opened with ``stream=True``, read synchronously.

The sync counterpart of the async glue's response: the body as it arrives, httpx's
errors translated, and :meth:`abort` to wake a read blocked in another thread.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

from .._httpx.transport import HttpxResponseView, map_httpx_errors

__all__ = ["SyncHttpxWireResponse"]


class SyncHttpxWireResponse(HttpxResponseView):
    """An ``httpx.Response`` opened with ``stream=True`` (sync counterpart of the async one)."""

    __slots__ = ()

    def iter_chunks(self) -> Iterator[bytes]:
        """The body as it arrives; httpx errors translated."""
        with map_httpx_errors(request=self._response.request, in_body=True):
            yield from self._response.iter_bytes()

    def read_bounded(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the body, joined once."""
        chunks: list[bytes] = []
        size = 0
        with map_httpx_errors(request=self._response.request, in_body=True):
            for chunk in self._response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
        return b"".join(chunks)[:limit]

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
        with map_httpx_errors(request=self._response.request):
            self._response.close()

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
