"""Tests for the sans-IO SSE decoder, ``trio_msgstream._core.stream.sse``."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from dataclasses import FrozenInstanceError, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_msgstream._core.exceptions import StreamProtocolError
from trio_msgstream._core.stream.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    NEED_DATA,
    NeedData,
    ServerSentEvent,
    SSEDecoder,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "sse_conformance.json").read_text(encoding="utf-8")
)
ANTHROPIC_FILES = sorted((FIXTURES / "anthropic").glob("*.sse"))
ALL_STREAMS: list[bytes] = [c["input"].encode("utf-8") for c in CASES] + [
    p.read_bytes() for p in ANTHROPIC_FILES
]

HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EventTuple = tuple[str, str, str | None, int | None]


def as_tuples(events: list[ServerSentEvent]) -> list[EventTuple]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def decode(chunks: list[bytes], **kwargs: Any) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        if chunk:  # b"" would mean EOF
            events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events, decoder


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


# -- conformance fixtures ----------------------------------------------------------


def expected_tuples(case: dict[str, Any]) -> list[EventTuple]:
    return [(e["event"], e["data"], e["id"], e["retry"]) for e in case["expected"]]


def check_case(case: dict[str, Any], chunks: list[bytes]) -> None:
    events, decoder = decode(chunks)
    assert as_tuples(events) == expected_tuples(case)
    if "end_state" in case and "retry" in case["end_state"]:
        assert decoder.retry == case["end_state"]["retry"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance(case: dict[str, Any]) -> None:
    check_case(case, [case["input"].encode("utf-8")])
    if "chunks" in case:
        check_case(case, [c.encode("utf-8") for c in case["chunks"]])
    if "byte_chunks_hex" in case:
        check_case(case, [bytes.fromhex(h) for h in case["byte_chunks_hex"]])


def test_conformance_fixture_is_complete() -> None:
    assert len(CASES) == 65
    assert len({c["name"] for c in CASES}) == 65
    assert ANTHROPIC_FILES


def test_receive_data_and_next_event_api() -> None:
    decoder = SSEDecoder()
    assert decoder.next_event() is NEED_DATA
    decoder.receive_data(b"event: ping\ndata: {}\n\ndata: a")
    assert decoder.next_event() == ServerSentEvent(event="ping", data="{}")
    assert decoder.next_event() is NEED_DATA
    decoder.receive_data(b"\n\n")
    assert decoder.next_event() == ServerSentEvent(data="a")
    decoder.receive_data(b"")
    assert decoder.eof
    assert decoder.next_event() is NEED_DATA
    assert decoder.bytes_received == len(b"event: ping\ndata: {}\n\ndata: a\n\n")


def test_anthropic_files_decode() -> None:
    for path in ANTHROPIC_FILES:
        events, decoder = decode([path.read_bytes()])
        assert events, path.name
        # Some SDK fixtures lack the final blank line, so their last event is cut off.
        assert decoder.discarded_at_eof == (not path.read_bytes().endswith(b"\n\n")), path.name
        for event in events:
            assert event.event != "message", path.name  # every API event is typed


# -- chunking never changes the result -----------------------------------------------


@pytest.mark.parametrize("index", range(len(ALL_STREAMS)))
def test_byte_at_a_time_matches_one_shot(index: int) -> None:
    data = ALL_STREAMS[index]
    whole, whole_dec = decode([data])
    single, single_dec = decode([data[i : i + 1] for i in range(len(data))])
    assert single == whole
    assert (single_dec.retry, single_dec.last_event_id) == (
        whole_dec.retry,
        whole_dec.last_event_id,
    )
    assert single_dec.discarded_at_eof == whole_dec.discarded_at_eof


@HYPOTHESIS
@given(st.data())
def test_any_split_matches_one_shot(data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from(ALL_STREAMS))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30))
    whole, whole_dec = decode([stream])
    pieces, pieces_dec = decode(split_at(stream, cuts))
    assert pieces == whole
    assert (pieces_dec.retry, pieces_dec.last_event_id, pieces_dec.discarded_at_eof) == (
        whole_dec.retry,
        whole_dec.last_event_id,
        whole_dec.discarded_at_eof,
    )


# -- generated streams against a reference implementation ----------------------------

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass
class Reference:
    """The WHATWG algorithm, written the obvious way over the whole decoded stream."""

    events: list[EventTuple] = field(default_factory=list)
    retry: int | None = None
    last_event_id: str | None = None
    discarded_at_eof: bool = False

    @classmethod
    def run(cls, stream: bytes, dispatch_incomplete_at_eof: bool = False) -> Reference:
        ref = cls()
        text = stream.decode("utf-8", "replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        *lines, tail = _LINE_END.split(text)  # the tail has no line ending
        data_buf, event_buf, id_buf = "", "", ref.last_event_id
        block_retry: int | None = None
        pending: list[str] = []  # lines since the last blank line
        if dispatch_incomplete_at_eof:
            lines += [tail, ""]
            tail = ""
        for line in lines:
            if line == "":
                ref.last_event_id = id_buf
                if data_buf:
                    ref.events.append(
                        (event_buf or "message", data_buf.removesuffix("\n"), id_buf, block_retry)
                    )
                data_buf, event_buf, block_retry, pending = "", "", None, []
                continue
            pending.append(line)
            if line.startswith(":"):
                continue
            name, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "event":
                event_buf = value
            elif name == "data":
                data_buf += value + "\n"
            elif name == "id" and "\0" not in value:
                id_buf = value
            elif name == "retry" and value and all(c in "0123456789" for c in value):
                ref.retry = block_retry = int(value)
        pending.append(tail)
        ref.discarded_at_eof = any(ln and not ln.startswith(":") for ln in pending)
        return ref


_NAMES = ["data", "event", "id", "retry", "", "DATA", "dat", "data ", "foo", "\ufeffdata"]
_VALUE_TEXT = st.text(
    alphabet=st.sampled_from([*"ab :\t09é€𝄞\x00\ufeff\u2028\u2029\x85\x0b", "\r", "\n"]),
    max_size=8,
)
_LINE = st.one_of(
    st.tuples(st.sampled_from(_NAMES), st.sampled_from([":", ": ", ":  ", ""]), _VALUE_TEXT).map(
        "".join
    ),
    st.sampled_from(["retry: 1500", "retry:007", "retry: 1e3", "id", "id: 5", "data", ":", ""]),
)
_EOL = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    parts = []
    if draw(st.booleans()):
        parts.append("\ufeff")
    for _ in range(draw(st.integers(0, 12))):
        parts.append(draw(_LINE))
        parts.append(draw(_EOL))
    if draw(st.booleans()):
        parts.append(draw(_LINE))  # unterminated tail
    stream = "".join(parts).encode("utf-8")
    if draw(st.booleans()):  # sprinkle invalid UTF-8
        pos = draw(st.integers(0, len(stream)))
        junk = draw(st.sampled_from([b"\xff", b"\xe2\x82", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb"]))
        stream = stream[:pos] + junk + stream[pos:]
    return stream


@HYPOTHESIS
@given(stream=streams(), cuts=st.lists(st.integers(0, 200), max_size=12), flag=st.booleans())
def test_generated_streams_match_reference(stream: bytes, cuts: list[int], flag: bool) -> None:
    ref = Reference.run(stream, dispatch_incomplete_at_eof=flag)
    for chunks in ([stream], split_at(stream, cuts)):
        events, decoder = decode(chunks, dispatch_incomplete_at_eof=flag)
        assert as_tuples(events) == ref.events
        assert decoder.retry == ref.retry
        assert decoder.last_event_id == ref.last_event_id
        assert decoder.discarded_at_eof == (ref.discarded_at_eof and not flag)
        assert decoder.bytes_received == len(stream)


def test_reference_agrees_with_conformance_fixtures() -> None:
    # Keeps the reference implementation itself honest.
    for case in CASES:
        assert Reference.run(case["input"].encode("utf-8")).events == expected_tuples(case)


# -- max_event_size ------------------------------------------------------------------


def test_default_max_event_size() -> None:
    assert DEFAULT_MAX_EVENT_SIZE == 16 * 1024 * 1024


def assert_broken(decoder: SSEDecoder) -> None:
    with pytest.raises(StreamProtocolError):
        decoder.receive_data(b"data: x\n\n")
    with pytest.raises(StreamProtocolError):
        decoder.next_event()
    with pytest.raises(StreamProtocolError):
        decoder.feed(b"")
    with pytest.raises(StreamProtocolError):
        decoder.close()


def test_oversize_incomplete_event_one_chunk() -> None:
    decoder = SSEDecoder(max_event_size=100)
    decoder.feed(b"data: ok\n\n")
    with pytest.raises(StreamProtocolError, match="max_event_size"):
        decoder.receive_data(b"data: " + b"x" * 200)
    assert_broken(decoder)


def test_oversize_incomplete_event_small_chunks() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    decoder.feed(b"event: big\ndata: ")
    with pytest.raises(StreamProtocolError):  # noqa: PT012
        for _ in range(200):
            decoder.feed(b"0123456789")
    assert decoder.bytes_received < 1100  # it failed as soon as the limit was passed
    assert_broken(decoder)


def test_oversize_complete_event_in_one_chunk_is_also_an_error() -> None:
    # Otherwise the outcome would depend on how the event was chunked.
    decoder = SSEDecoder(max_event_size=100)
    with pytest.raises(StreamProtocolError):
        decoder.feed(b"data: small\n\ndata: " + b"x" * 200 + b"\n\ndata: later\n\n")
    # The complete event before the oversize one is not lost; nothing after it is read.
    assert decoder.next_event() == ServerSentEvent(data="small")
    assert_broken(decoder)


@pytest.mark.parametrize("buffered", [False, True])
def test_events_completed_before_an_oversize_tail_are_not_lost(buffered: bool) -> None:
    decoder = SSEDecoder(max_event_size=100)
    if buffered:  # the first event's start is already in the buffer
        decoder.receive_data(b"data: fi")
        chunk = b"rst\n\ndata: second\n\ndata: " + b"x" * 200
    else:
        chunk = b"data: first\n\ndata: second\n\ndata: " + b"x" * 200
    with pytest.raises(StreamProtocolError, match="max_event_size"):
        decoder.receive_data(chunk)
    assert decoder.next_event() == ServerSentEvent(data="first")
    assert decoder.next_event() == ServerSentEvent(data="second")
    assert_broken(decoder)


def test_limit_is_exact() -> None:
    block = b"data: " + b"x" * 94  # 100 bytes; with its LF, 101
    assert decode([block + b"\n\n"], max_event_size=101)[0] == [ServerSentEvent(data="x" * 94)]
    with pytest.raises(StreamProtocolError):
        decode([block + b"\n\n"], max_event_size=100)
    # Fed one byte at a time, the same event passes and fails at the same limits.
    one_by_one = [bytes([b]) for b in block + b"\n\n"]
    assert decode(one_by_one, max_event_size=101)[0] == [ServerSentEvent(data="x" * 94)]
    with pytest.raises(StreamProtocolError):
        decode(one_by_one, max_event_size=100)


def test_large_event_under_limit_decodes_in_small_chunks() -> None:
    payload = "y" * 300_000
    stream = f"event: big\ndata: {payload}\n\n".encode()
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    events, _ = decode(chunks, max_event_size=400_000)
    assert events == [ServerSentEvent(event="big", data=payload)]


def test_limit_counts_the_event_not_the_stream() -> None:
    one = b"event: e\ndata: 0123456789\n\n"
    decoder = SSEDecoder(max_event_size=len(one))
    total = 0
    for _ in range(1000):
        total += len(decoder.feed(one))
    decoder.feed(one * 50)  # many small events in one chunk
    assert total == 1000
    assert decoder.bytes_received == len(one) * 1050


def test_max_event_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        SSEDecoder(max_event_size=0)


# -- EOF and odd input ---------------------------------------------------------------


def test_discarded_at_eof() -> None:
    events, decoder = decode([b"data: a\n\ndata: b"])
    assert as_tuples(events) == [("message", "a", None, None)]
    assert decoder.discarded_at_eof

    _, decoder = decode([b"data: a\n\n"])
    assert not decoder.discarded_at_eof

    _, decoder = decode([b"data: a\n\n: keep-alive\n"])  # only a comment was cut off
    assert not decoder.discarded_at_eof

    _, decoder = decode([b"data: a\n\n\n"])
    assert not decoder.discarded_at_eof


def test_incomplete_block_id_not_committed_but_retry_applies() -> None:
    events, decoder = decode([b"id: 1\ndata: a\n\nid: 2\nretry: 300\ndata: b\n"])
    assert as_tuples(events) == [("message", "a", "1", None)]
    assert decoder.last_event_id == "1"
    assert decoder.retry == 300
    assert decoder.discarded_at_eof


def test_dispatch_incomplete_at_eof() -> None:
    events, decoder = decode(
        [b"data: a\n\nevent: e\nid: 9\ndata: b"], dispatch_incomplete_at_eof=True
    )
    assert as_tuples(events) == [("message", "a", None, None), ("e", "b", "9", None)]
    assert decoder.last_event_id == "9"
    assert not decoder.discarded_at_eof

    events, _ = decode([b"data: a\n\ndata: b\r"], dispatch_incomplete_at_eof=True)
    assert [e.data for e in events] == ["a", "b"]

    events, _ = decode([b"data: a\n\nevent: e\n"], dispatch_incomplete_at_eof=True)
    assert [e.data for e in events] == ["a"]  # no data: nothing to dispatch


def test_receive_after_eof() -> None:
    decoder = SSEDecoder()
    decoder.receive_data(b"data: a\n\n")
    decoder.receive_data(b"")
    assert decoder.eof
    assert decoder.next_event() == ServerSentEvent(data="a")
    assert decoder.next_event() is NEED_DATA
    with pytest.raises(RuntimeError):
        decoder.receive_data(b"data: b\n\n")
    with pytest.raises(RuntimeError):
        decoder.close()


def test_invalid_utf8_is_replaced() -> None:
    events, _ = decode([b"data: a\xffb\xe2\x82\n\n"])
    assert events == [ServerSentEvent(data="a\ufffdb\ufffd")]
    # A truncated character at EOF is replaced too.
    events, _ = decode([b"data: \xe2\x82"], dispatch_incomplete_at_eof=True)
    assert events == [ServerSentEvent(data="\ufffd")]


def test_multibyte_char_split_everywhere() -> None:
    stream = "data: 𝄞é€\n\n".encode()
    for cut in range(len(stream)):
        events, _ = decode([stream[:cut], stream[cut:]])
        assert events == [ServerSentEvent(data="𝄞é€")]


def test_bom_split_and_partial() -> None:
    assert decode([b"\xef", b"\xbb", b"\xbfdata: x\n\n"])[0] == [ServerSentEvent(data="x")]
    # A partial BOM is just bad UTF-8: "\xef\xbbdata" makes an unknown field name.
    assert decode([b"\xef\xbb", b"data: x\n\ndata: y\n\n"])[0] == [ServerSentEvent(data="y")]
    events, decoder = decode([b"\xef\xbb"])
    assert events == []
    assert decoder.discarded_at_eof
    assert decode([b""])[0] == []


def test_crlf_split_across_chunks_counts_once() -> None:
    events, _ = decode([b"data: a\r", b"\n", b"data: b\r", b"\n\r", b"\n"])
    assert events == [ServerSentEvent(data="a\nb")]
    # A CR-terminated event is dispatched without waiting for the next chunk.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [ServerSentEvent(data="a")]
    assert decoder.feed(b"\ndata: b\r\r") == [ServerSentEvent(data="b")]


def test_need_data_sentinel() -> None:
    assert repr(NEED_DATA) == "NEED_DATA"
    assert isinstance(NEED_DATA, NeedData)


def test_server_sent_event_defaults_and_immutability() -> None:
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", None, None)
    with pytest.raises(FrozenInstanceError):
        event.data = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ServerSentEvent("message")  # type: ignore[call-arg]
    # Events built by the decoder are ordinary instances: equal, hashable.
    (decoded,) = decode([b"id: 3\nretry: 5\nevent: e\ndata: d\n\n"])[0]
    assert decoded == ServerSentEvent(event="e", data="d", id="3", retry=5)
    assert hash(decoded) == hash(ServerSentEvent(event="e", data="d", id="3", retry=5))


# -- layering ------------------------------------------------------------------------

_ISOLATED_IMPORT = """
import importlib, sys, types
for name in ("trio", "httpx", "pydantic", "pydantic_core"):
    sys.modules[name] = None  # any import of these now raises ImportError
pkg = types.ModuleType("trio_msgstream")
pkg.__path__ = [sys.argv[1]]
sys.modules["trio_msgstream"] = pkg
importlib.import_module("trio_msgstream._core.stream.sse")
print(sorted(m for m in sys.modules if m.startswith("trio_msgstream.")))
"""


@pytest.mark.slow  # starts a Python subprocess
def test_sse_imports_no_trio_httpx_or_pydantic() -> None:
    import trio_msgstream._core.stream.sse as sse

    package_dir = str(Path(sse.__file__).parents[2])
    result = subprocess.run(
        [sys.executable, "-c", _ISOLATED_IMPORT, package_dir],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "['trio_msgstream._core', 'trio_msgstream._core.error_codes',"
        " 'trio_msgstream._core.exceptions', 'trio_msgstream._core.stream',"
        " 'trio_msgstream._core.stream.sse']"
    )
