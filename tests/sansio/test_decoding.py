"""The bounded Content-Encoding decoder (sans-IO)."""

from __future__ import annotations

import zlib

import pytest

from trio_msgstream._core.exceptions import IncompleteStreamError, StreamProtocolError
from trio_msgstream._core.stream.decoding import ContentDecoder, content_decoder


def compress(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


def decode_all(decoder: ContentDecoder, chunks: list[bytes]) -> list[bytes]:
    pieces: list[bytes] = []
    for chunk in chunks:
        decoder.feed(chunk)
        while piece := decoder.read():
            pieces.append(piece)
    decoder.finish()
    return pieces


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS), ("deflate", -zlib.MAX_WBITS)],
)
def test_pieces_are_bounded_and_complete(encoding: str, wbits: int) -> None:
    data = bytes(3_000_000) + b"tail"
    raw = compress(data, wbits)
    decoder = content_decoder(encoding, max_output=1000)
    assert decoder is not None
    pieces = decode_all(decoder, [raw[i : i + 997] for i in range(0, len(raw), 997)])
    assert max(len(p) for p in pieces) <= 1000
    assert b"".join(pieces) == data


def test_identity_passes_through_and_none_for_no_coding() -> None:
    assert content_decoder(None) is None
    assert content_decoder("identity") is None
    decoder = ContentDecoder("identity", max_output=4)
    assert decode_all(decoder, [b"abcdefghij"]) == [b"abcd", b"efgh", b"ij"]


def test_gzip_members_in_a_row() -> None:
    gz = 16 + zlib.MAX_WBITS
    decoder = ContentDecoder("gzip")
    assert b"".join(decode_all(decoder, [compress(b"one ", gz) + compress(b"two", gz)])) == (
        b"one two"
    )


def test_corrupt_truncated_and_unsupported() -> None:
    with pytest.raises(StreamProtocolError, match="does not decode"):
        decode_all(ContentDecoder("gzip"), [b"not gzip at all"])
    raw = compress(b"x" * 10_000, 16 + zlib.MAX_WBITS)
    with pytest.raises(IncompleteStreamError, match="truncated"):
        decode_all(ContentDecoder("gzip"), [raw[: len(raw) // 2]])
    with pytest.raises(StreamProtocolError, match="unsupported"):
        content_decoder("br")
    with pytest.raises(StreamProtocolError, match="more than one"):
        content_decoder("gzip, deflate")
