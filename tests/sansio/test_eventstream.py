"""Tests for the sans-IO AWS event-stream decoder, ``_core.platforms.eventstream``."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_msgstream._core.config import Timeout
from trio_msgstream._core.exceptions import (
    APIStatusError,
    BadRequestError,
    IncompleteStreamError,
    InternalServerError,
    RateLimitError,
    RequestTimeoutError,
    ServiceUnavailableError,
    StreamProtocolError,
)
from trio_msgstream._core.platforms.bedrock import BEDROCK_FRAMINGS
from trio_msgstream._core.platforms.eventstream import (
    EVENTSTREAM_CONTENT_TYPE,
    EventStreamDecoder,
    encode_chunk,
    encode_exception,
    encode_frame,
)
from trio_msgstream._core.request.retry import is_retryable
from trio_msgstream._core.request.session import CONTENT_TYPE_PREVIEW, RequestSession
from trio_msgstream._core.request.spec import RequestSpec
from trio_msgstream._core.stream.engine import Framing, StreamEngine
from trio_msgstream._core.stream.sse import NEED_DATA, SSEDecoder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic"
TRANSCRIPTS = [
    "docs_tool_use.sse",
    "docs_extended_thinking.sse",
    "recorded_tool_runner_a_turn2_text.sse",
]


def sse_events(name: str) -> list[tuple[str, str]]:
    decoder = SSEDecoder()
    return [(e.event, e.data) for e in decoder.feed((FIXTURES / name).read_bytes() + b"")]


def frames_of(events: list[tuple[str, str]]) -> bytes:
    return b"".join(encode_chunk(data) for _, data in events)


def decode_all(chunks: list[bytes]) -> list[tuple[str, str]]:
    decoder = EventStreamDecoder()
    out = []
    for chunk in filter(None, chunks):  # b"" would be EOF
        out += [(e.event, e.data) for e in decoder.feed(chunk)]
    out += [(e.event, e.data) for e in decoder.feed(b"")]
    assert not decoder.discarded_at_eof
    return out


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_chunk_frames_decode_to_the_sse_events(name: str) -> None:
    events = sse_events(name)
    assert decode_all([frames_of(events)]) == events


def test_frames_split_at_every_byte() -> None:
    events = sse_events("docs_tool_use.sse")[:6]
    body = frames_of(events)
    for cut in range(len(body) + 1):
        assert decode_all([body[:cut], body[cut:]]) == events, cut
    assert decode_all([body[i : i + 1] for i in range(len(body))]) == events


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=30))
def test_any_chunking_yields_the_same_events(cuts: list[int]) -> None:
    events = sse_events("docs_extended_thinking.sse")
    body = frames_of(events)
    points = sorted({min(c, len(body)) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert decode_all(pieces) == events


def test_botocore_reads_our_frames_as_we_do() -> None:
    botocore_eventstream = pytest.importorskip("botocore.eventstream")
    events = sse_events("docs_basic_text.sse")
    buffer = botocore_eventstream.EventStreamBuffer()
    buffer.add_data(frames_of(events))
    seen = []
    for message in buffer:
        assert message.headers[":event-type"] == "chunk"
        seen.append(base64.b64decode(json.loads(message.payload)["bytes"]).decode())
    assert seen == [data for _, data in events]


def test_a_read_of_exactly_one_frame_takes_the_fast_path() -> None:
    data = '{"type":"message_stop"}'
    decoder = EventStreamDecoder()
    frame = encode_chunk(data)
    assert decoder.receive_single(frame) == ("message_stop", data)
    assert decoder.bytes_received == len(frame)
    # Not a single frame: queued as usual.
    assert decoder.receive_single(frame + frame[:5]) is None
    assert decoder.next_event() != NEED_DATA
    assert decoder.next_event() == NEED_DATA


@pytest.mark.parametrize("position", range(120))
def test_any_corrupted_byte_is_a_protocol_error(position: int) -> None:
    frame = bytearray(encode_chunk('{"type":"ping"}'))
    assert position < len(frame)
    frame[position] ^= 0x01
    decoder = EventStreamDecoder()
    with pytest.raises(StreamProtocolError, match="CRC"):
        decoder.feed(bytes(frame))
    with pytest.raises(StreamProtocolError, match="error state"):
        decoder.feed(b"more")


def test_events_before_a_corrupt_frame_are_still_handed_out() -> None:
    good = encode_chunk('{"type":"ping"}')
    bad = bytearray(encode_chunk('{"type":"ping"}'))
    bad[-1] ^= 0xFF
    decoder = EventStreamDecoder()
    with pytest.raises(StreamProtocolError, match="message CRC"):
        decoder.receive_data(good + bytes(bad))
    assert decoder.next_event() != NEED_DATA
    with pytest.raises(StreamProtocolError):
        decoder.next_event()


def test_an_oversize_frame_fails_at_its_prelude() -> None:
    decoder = EventStreamDecoder(max_event_size=1024)
    frame = encode_chunk(json.dumps({"type": "ping", "pad": "x" * 2000}))
    with pytest.raises(StreamProtocolError, match="exceeds max_event_size"):
        decoder.receive_data(frame[:12])  # nothing beyond the prelude was buffered


def test_bad_lengths_are_refused() -> None:
    prelude = struct.pack(">II", 16, 9)  # headers longer than the frame allows
    prelude += struct.pack(">I", zlib.crc32(prelude))
    with pytest.raises(StreamProtocolError, match="bad lengths"):
        EventStreamDecoder().receive_data(prelude)


def test_eof_inside_a_frame_is_reported_as_discarded() -> None:
    decoder = EventStreamDecoder()
    frame = encode_chunk('{"type":"ping"}')
    assert decoder.feed(frame[:-3]) == []
    assert decoder.feed(b"") == []
    assert decoder.discarded_at_eof
    with pytest.raises(RuntimeError):
        decoder.receive_data(b"x")


@pytest.mark.parametrize(
    "exception_type",
    [
        "throttlingException",
        "modelStreamErrorException",
        "serviceUnavailableException",
        "validationException",
        "internalServerException",
        "modelTimeoutException",
    ],
)
def test_exception_frames_become_error_events(exception_type: str) -> None:
    [event] = EventStreamDecoder().feed(encode_exception(exception_type, "slow down"))
    assert event.event == "error"
    assert json.loads(event.data) == {
        "type": "error",
        "error": {"type": exception_type, "message": "slow down"},
    }


def test_error_frames_become_error_events() -> None:
    frame = encode_frame(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""
    )
    [event] = EventStreamDecoder().feed(frame)
    assert json.loads(event.data)["error"] == {"type": "InternalFailure", "message": "boom"}


def test_other_event_types_are_skipped() -> None:
    frame = encode_frame({":message-type": "event", ":event-type": "initial-response"}, b"{}")
    assert EventStreamDecoder().feed(frame) == []


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not json", "not base64-encoded event JSON"),
        (b'{"bytes": "***"}', "not base64-encoded event JSON"),
        (json.dumps({"bytes": base64.b64encode(b"\xff\xfe").decode()}).encode(), "not base64"),
        (json.dumps({"bytes": base64.b64encode(b'{"a": 1}').decode()}).encode(), "no type"),
    ],
)
def test_bad_chunks_are_protocol_errors(payload: bytes, match: str) -> None:
    frame = encode_frame({":message-type": "event", ":event-type": "chunk"}, payload)
    with pytest.raises(StreamProtocolError, match=match):
        EventStreamDecoder().feed(frame)


def test_unknown_header_type_and_message_type_are_protocol_errors() -> None:
    header = b"\x01x\x0a"  # value type 10 does not exist
    prelude = struct.pack(">II", 16 + len(header), len(header))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + header
    frame = body + struct.pack(">I", zlib.crc32(body))
    with pytest.raises(StreamProtocolError, match="unknown value type"):
        EventStreamDecoder().feed(frame)
    with pytest.raises(StreamProtocolError, match="message-type"):
        EventStreamDecoder().feed(encode_frame({":message-type": "gossip"}, b""))


def test_every_header_value_type_parses() -> None:
    header = (
        b"\x01a\x00"
        + b"\x01b\x01"
        + b"\x01c\x02\x05"
        + b"\x01d\x03\x00\x07"
        + b"\x01e\x04\x00\x00\x00\x09"
        + b"\x01f\x05"
        + (11).to_bytes(8, "big")
        + b"\x01g\x08"
        + (12).to_bytes(8, "big")
        + b"\x01h\x09"
        + bytes(16)
        + b"\x0d:message-type\x07\x00\x05event"
        + b"\x0b:event-type\x07\x00\x05other"
    )
    prelude = struct.pack(">II", 16 + len(header), len(header))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + header
    assert EventStreamDecoder().feed(body + struct.pack(">I", zlib.crc32(body))) == []


def test_max_event_size_must_fit_a_frame() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        EventStreamDecoder(max_event_size=8)


# -- the engine and the session over event-stream frames ------------------------------


def _bedrock_framing() -> Framing:
    return BEDROCK_FRAMINGS[EVENTSTREAM_CONTENT_TYPE]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_the_engine_builds_the_same_message_from_frames(name: str) -> None:
    sse_engine = StreamEngine()
    sse_engine.receive_data((FIXTURES / name).read_bytes())
    sse_engine.receive_eof()
    frames_engine = StreamEngine(framing=_bedrock_framing())
    body = frames_of(sse_events(name))
    for i in range(0, len(body), 7):  # binary, split anywhere: no UTF-8 check trips
        frames_engine.receive_data(body[i : i + 7])
    frames_engine.receive_eof()
    assert frames_engine.snapshot() == sse_engine.snapshot()


@pytest.mark.parametrize(
    ("exception_type", "cls", "status"),
    [
        ("throttlingException", RateLimitError, 429),
        ("modelStreamErrorException", InternalServerError, 500),
        ("serviceUnavailableException", ServiceUnavailableError, 503),
        ("validationException", BadRequestError, 400),
        ("internalServerException", InternalServerError, 500),
        ("modelTimeoutException", RequestTimeoutError, 408),
    ],
)
def test_exception_frames_raise_the_typed_error_with_the_partial_message(
    exception_type: str, cls: type[APIStatusError], status: int
) -> None:
    events = sse_events("docs_basic_text.sse")[:4]  # message_start, block start, ping, a delta
    engine = StreamEngine(framing=_bedrock_framing())
    engine.receive_data(frames_of(events))
    with pytest.raises(cls) as caught:
        engine.receive_data(encode_exception(exception_type, "the model stumbled"))
    error = caught.value
    assert error.status_code == status
    assert error.type == exception_type
    assert error.mid_stream
    assert "the model stumbled" in str(error)
    assert error.partial_message is not None
    assert error.partial_message.content[0].text == "Hello"  # type: ignore[union-attr]
    assert is_retryable(error) is (exception_type != "validationException")


def test_a_corrupt_frame_fails_the_engine_with_the_partial_message() -> None:
    engine = StreamEngine(framing=_bedrock_framing())
    engine.receive_data(frames_of(sse_events("docs_basic_text.sse")[:1]))
    bad = bytearray(encode_chunk('{"type":"ping"}'))
    bad[20] ^= 0x40
    with pytest.raises(StreamProtocolError) as caught:
        engine.receive_data(bytes(bad))
    assert caught.value.partial_message is not None
    with pytest.raises(StreamProtocolError):
        engine.receive_data(b"again")


def test_eof_inside_a_frame_is_an_incomplete_stream() -> None:
    engine = StreamEngine(framing=_bedrock_framing())
    engine.receive_data(frames_of(sse_events("docs_basic_text.sse")[:2])[:-5])
    with pytest.raises(IncompleteStreamError, match="discarded"):
        engine.receive_eof()


def test_the_session_picks_the_framing_by_content_type() -> None:
    spec = RequestSpec("POST", "/v1/messages", {}, b"{}", Timeout(), max_retries=0)
    session = RequestSession(spec, now=0.0, mode="stream", framings=BEDROCK_FRAMINGS)
    session.begin_attempt(0.0)
    assert session.head_verdict(200, {"content-type": EVENTSTREAM_CONTENT_TYPE}) is None
    events = session.receive_data(frames_of(sse_events("docs_basic_text.sse")), 0.0)
    assert [e.type for e in events][-1] == "message_stop"
    first_party = RequestSession(spec, now=0.0, mode="stream")
    first_party.begin_attempt(0.0)
    headers = {"content-type": EVENTSTREAM_CONTENT_TYPE}
    assert first_party.head_verdict(200, headers) == CONTENT_TYPE_PREVIEW
    refused = first_party.head_error(200, headers, b"")
    assert "expected content-type text/event-stream" in str(refused)


def test_the_framing_cannot_change_mid_body() -> None:
    engine = StreamEngine()
    engine.receive_data(b"event: ping\n")
    with pytest.raises(RuntimeError):
        engine.use_framing(_bedrock_framing())
