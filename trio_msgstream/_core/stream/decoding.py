"""Bounded, incremental ``Content-Encoding`` decoding. Pure (sans-IO).

Theory of operation: a compressed body can inflate a thousandfold (a 17 KB gzip
member holds 100 MB of zeros), so decoding a network chunk in one call would let one
chunk become a batch of any size and get around every other memory bound. The HTTP
glue therefore reads the body *undecoded* and decodes it here, a step at a time::

    decoder = content_decoder(headers.get("content-encoding"))
    decoder.feed(raw_chunk)
    while piece := decoder.read():     # each piece is at most max_output bytes
        ...                            # consume it before asking for the next
    decoder.finish()                   # at the end of the body

:meth:`ContentDecoder.read` inflates at most ``max_output`` bytes per call (zlib's
``max_length``) and keeps the compressed rest (``unconsumed_tail``) for the next call,
so memory is bounded by one piece plus one network chunk, however well the body
compresses. ``identity`` bodies pass through without a copy.

Supported: ``identity``, ``gzip`` (and ``x-gzip``, several members in a row) and
``deflate`` (zlib-wrapped or raw). The clients ask for nothing else: streams are
requested with ``accept-encoding: identity``, other requests with ``gzip, deflate``.
Anything else, or a body that does not decode, is a :class:`StreamProtocolError`; a
compressed body that ends before its end marker is an :class:`IncompleteStreamError`.
"""

from __future__ import annotations

import zlib

from ..exceptions import IncompleteStreamError, StreamProtocolError

__all__ = ["DEFAULT_MAX_DECODED_CHUNK", "ContentDecoder", "content_decoder"]

DEFAULT_MAX_DECODED_CHUNK = 64 * 1024
"""Bytes one decoding step may produce: the most a network chunk turns into at once."""


class ContentDecoder:
    """Decode one response body, ``max_output`` bytes at a time.

    Args:
        encoding: The ``Content-Encoding`` (one coding; lower case).
        max_output: The largest piece :meth:`read` returns.

    Raises:
        StreamProtocolError: The encoding is not supported.
    """

    __slots__ = ("_encoding", "_ended", "_max_output", "_pending", "_started", "_zlib")

    def __init__(self, encoding: str, *, max_output: int = DEFAULT_MAX_DECODED_CHUNK) -> None:
        if encoding not in _WBITS:
            raise StreamProtocolError(
                f"unsupported content-encoding {encoding!r} (supported: identity, gzip, deflate)"
            )
        if max_output < 1:
            raise ValueError("max_output must be >= 1")
        self._encoding = encoding
        self._max_output = max_output
        self._pending = b""
        self._zlib: zlib._Decompress | None = None
        self._started = False
        self._ended = False

    @property
    def encoding(self) -> str:
        return self._encoding

    def feed(self, data: bytes) -> None:
        """Add body bytes as they came off the wire (call :meth:`read` until empty first)."""
        if self._pending:
            self._pending += data
        else:
            self._pending = data

    def read(self) -> bytes:
        """The next decoded piece (at most ``max_output`` bytes); ``b""`` when more input
        is needed.

        Raises:
            StreamProtocolError: The body is not valid for its encoding.
        """
        data = self._pending
        if not data:
            return b""
        if self._encoding == "identity":
            if len(data) <= self._max_output:
                self._pending = b""
                return data
            self._pending = data[self._max_output :]
            return data[: self._max_output]
        while data:
            if self._zlib is None or self._zlib.eof:
                if self._ended and not data.strip(b"\0"):
                    # Padding after the last gzip member: ignored, as gzip(1) does.
                    self._pending = b""
                    return b""
                self._zlib = self._new_decompressor(data)
            decompressor = self._zlib
            try:
                out = decompressor.decompress(data, self._max_output)
            except zlib.error as exc:
                self._pending = b""
                raise StreamProtocolError(
                    f"the {self._encoding} body does not decode: {exc}"
                ) from None
            self._started = True
            if decompressor.eof:
                self._ended = True
                data = decompressor.unused_data
                if self._encoding == "deflate" and data:
                    raise StreamProtocolError("bytes after the end of the deflate body")
            else:
                data = decompressor.unconsumed_tail
            self._pending = data
            if out:
                return out
        return b""

    def finish(self) -> None:
        """Check that the body ended where its encoding says it does.

        Raises:
            IncompleteStreamError: A compressed body ended before its end marker.
            StreamProtocolError: Bytes are left that :meth:`read` did not consume.
        """
        if self._pending:
            raise StreamProtocolError("finish() before every decoded piece was read")
        if self._encoding == "identity" or not self._started:
            return
        if self._zlib is not None and not self._zlib.eof:
            raise IncompleteStreamError(
                f"the {self._encoding} body ended before its end marker (truncated)"
            )

    def _new_decompressor(self, data: bytes) -> zlib._Decompress:
        wbits = _WBITS[self._encoding]
        if self._encoding == "deflate" and not self._started and not _looks_like_zlib(data):
            # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
            wbits = -zlib.MAX_WBITS
        return zlib.decompressobj(wbits)


def _looks_like_zlib(data: bytes) -> bool:
    # RFC 1950: CM 8 in the low nibble of CMF, and CMF*256+FLG a multiple of 31.
    return len(data) < 2 or ((data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0)


_WBITS = {
    "identity": 0,
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}


def content_decoder(
    content_encoding: str | None, *, max_output: int = DEFAULT_MAX_DECODED_CHUNK
) -> ContentDecoder | None:
    """The decoder for a ``Content-Encoding`` header value; ``None`` for an unencoded
    body (no header, or only ``identity``).

    Raises:
        StreamProtocolError: More than one coding, or one that is not supported.
    """
    if not content_encoding:
        return None
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        raise StreamProtocolError(
            f"unsupported content-encoding {content_encoding!r} (more than one coding)"
        )
    return ContentDecoder(codings[0], max_output=max_output)
