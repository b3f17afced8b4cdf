"""Typed errors from scripted server responses (issue 3, "Errors").

Every test talks to the real loopback fake server through ``tms.AsyncClient``. Errors
must come out as themselves (never an ExceptionGroup), from every entry point:
``client.messages.stream``, ``open_message_stream`` and ``create(stream=True)``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
from _failure_support import Recorder, fake_client, message_text
from _shared import API_KEY, PARAMS
from _shared import TRANSCRIPTS as FIXTURES

import trio_msgstream as tms
from trio_msgstream.testing import (
    ScriptedResponse,
    error_response,
    text_response,
    tool_use_response,
)

pytestmark = pytest.mark.filterwarnings("error")

STATUS_CASES: list[tuple[int, str, type[tms.APIStatusError]]] = [
    (400, "invalid_request_error", tms.BadRequestError),
    (401, "authentication_error", tms.AuthenticationError),
    (403, "permission_error", tms.PermissionDeniedError),
    (404, "not_found_error", tms.NotFoundError),
    (409, "conflict_error", tms.ConflictError),
    (413, "request_too_large", tms.RequestTooLargeError),
    (422, "invalid_request_error", tms.UnprocessableEntityError),
    (429, "rate_limit_error", tms.RateLimitError),
    (500, "api_error", tms.InternalServerError),
    (503, "api_error", tms.ServiceUnavailableError),
    (504, "timeout_error", tms.DeadlineExceededError),
    (529, "overloaded_error", tms.OverloadedError),
]

TEXT = "The quick brown fox jumps over the lazy dog again and again"


# -- entry points: each returns the error raised when the stream is opened and read.


async def via_manager(client: tms.AsyncClient, **kw: Any) -> list[str]:
    texts: list[str] = []
    async with client.messages.stream(**PARAMS, **kw) as stream:
        async for text in stream.text_stream:
            texts.append(text)
    return texts


async def via_open(client: tms.AsyncClient, **kw: Any) -> list[str]:
    # The caller's own nursery wraps whatever leaves its body in a group (trio's
    # strict groups), so the error is caught where open_message_stream raises it.
    texts: list[str] = []
    error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        try:
            async with tms.open_message_stream(nursery, client, **PARAMS, **kw) as stream:
                async for text in stream.text_stream:
                    texts.append(text)
        except Exception as exc:
            error = exc
    if error is not None:
        raise error
    return texts


async def via_raw(client: tms.AsyncClient, **kw: Any) -> list[str]:
    texts: list[str] = []
    async with await client.messages.create(stream=True, **PARAMS, **kw) as events:
        async for event in events:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                texts.append(event.delta.text)
    return texts


ENTRY_POINTS: dict[str, Callable[..., Awaitable[list[str]]]] = {
    "manager": via_manager,
    "open_message_stream": via_open,
    "raw": via_raw,
}


async def raises_exactly(
    cls: type[BaseException], fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any
) -> Any:
    """Run ``fn`` and return the exception; it must be ``cls`` itself, not a group."""
    with pytest.raises(BaseException) as info:  # noqa: PT011 - the exact type is checked next
        await fn(*args, **kw)
    assert type(info.value) is cls, f"expected {cls.__name__}, got {info.value!r}"
    return info.value


def assert_no_key(exc: BaseException) -> None:
    for text in (str(exc), repr(exc), getattr(exc, "message", "")):
        assert API_KEY not in text


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(("status", "error_type", "cls"), STATUS_CASES)
async def test_status_error_typed(
    entry: str, status: int, error_type: str, cls: type[tms.APIStatusError]
) -> None:
    async with fake_client(max_retries=0) as (server, client):
        server.enqueue(
            error_response(
                status, error_type, f"scripted {status}", headers=[("request-id", "req_abc")]
            )
        )
        exc = await raises_exactly(cls, ENTRY_POINTS[entry], client)
        assert exc.status_code == status
        assert exc.request_id == "req_abc"
        assert exc.type == error_type
        assert exc.body == {
            "type": "error",
            "error": {"type": error_type, "message": f"scripted {status}"},
        }
        assert f"scripted {status}" in exc.message
        assert str(status) in exc.message
        assert exc.mid_stream is False
        assert exc.partial_message is None
        assert exc.response is not None
        assert exc.response.status_code == status
        assert_no_key(exc)
        assert len(server.requests) == 1


async def test_status_error_classes_nest_like_the_sdk() -> None:
    for _, _, cls in STATUS_CASES:
        assert issubclass(cls, tms.APIStatusError)
        assert issubclass(cls, tms.APIError)
    assert issubclass(tms.ServiceUnavailableError, tms.InternalServerError)
    assert issubclass(tms.DeadlineExceededError, tms.InternalServerError)
    assert issubclass(tms.APITimeoutError, tms.APIConnectionError)
    assert issubclass(tms.IncompleteStreamError, tms.APIConnectionError)
    assert issubclass(tms.StreamProtocolError, tms.APIError)
    assert not issubclass(tms.OverloadedError, tms.InternalServerError)


async def test_authentication_error_never_shows_the_key() -> None:
    async with fake_client() as (server, client):
        server.enqueue(error_response(401, "authentication_error", "invalid x-api-key"))
        exc = await raises_exactly(tms.AuthenticationError, via_manager, client)
        assert_no_key(exc)
        assert API_KEY not in repr(client)
        assert server.requests[0].header("authorization") == f"Bearer {API_KEY}"


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_html_502_is_internal_server_error(entry: str) -> None:
    async with fake_client(max_retries=0) as (server, client):
        server.enqueue(ScriptedResponse.html(502))
        exc = await raises_exactly(tms.InternalServerError, ENTRY_POINTS[entry], client)
        assert exc.status_code == 502
        assert exc.type is None
        assert isinstance(exc.body, str)
        assert "<html>" in exc.body
        assert "502" in exc.message
        assert "Bad Gateway" in exc.message
        assert len(exc.message) < 400  # a bounded preview, not the whole page
        assert exc.request_id is not None
        assert exc.request_id.startswith("req_fake")
        assert_no_key(exc)


MID_STREAM_CASES: list[tuple[str, type[tms.APIStatusError], int]] = [
    ("overloaded_error", tms.OverloadedError, 529),
    ("rate_limit_error", tms.RateLimitError, 429),
    ("api_error", tms.InternalServerError, 500),
]


@pytest.mark.parametrize("entry", ["manager", "open_message_stream"])
@pytest.mark.parametrize(("error_type", "cls", "status"), MID_STREAM_CASES)
async def test_mid_stream_error_event(
    entry: str, error_type: str, cls: type[tms.APIStatusError], status: int
) -> None:
    # message_start, content_block_start, ping, "The", " quick" -> error
    script = ScriptedResponse.error_event_after(
        5, text_response(TEXT), error_type, "boom", headers=[("request-id", "req_mid")]
    )
    async with fake_client(max_retries=2) as (server, client):
        server.enqueue(script)
        seen: list[str] = []
        stream_ref: list[tms.MessageStream] = []

        async def run() -> None:
            if entry == "manager":
                async with client.messages.stream(**PARAMS, event_handler=Recorder) as s:
                    stream_ref.append(s)
                    async for text in s.text_stream:
                        seen.append(text)
            else:
                error: BaseException | None = None
                async with trio.open_nursery() as nursery:
                    try:
                        async with tms.open_message_stream(
                            nursery, client, event_handler=Recorder, **PARAMS
                        ) as s:
                            stream_ref.append(s)
                            async for text in s.text_stream:
                                seen.append(text)
                    except Exception as exc:
                        error = exc
                if error is not None:
                    raise error

        exc = await raises_exactly(cls, run)
        assert exc.mid_stream is True
        assert exc.status_code == status
        assert exc.type == error_type
        assert exc.message == "boom"
        assert exc.request_id == "req_mid"
        assert exc.body == {"type": "error", "error": {"type": error_type, "message": "boom"}}
        assert seen == ["The", " quick"]
        assert message_text(exc.partial_message) == "The quick"
        stream = stream_ref[0]
        assert isinstance(stream, Recorder)
        assert message_text(stream.current_message_snapshot) == "The quick"
        assert stream.calls == [f"on_exception:{cls.__name__}", "on_end"]
        assert stream.exceptions[0] is exc
        # Content had reached the consumer: never retried.
        assert len(server.requests) == 1
        assert_no_key(exc)


@pytest.mark.parametrize(("error_type", "cls", "status"), MID_STREAM_CASES)
async def test_mid_stream_error_event_raw(
    error_type: str, cls: type[tms.APIStatusError], status: int
) -> None:
    script = ScriptedResponse.error_event_after(5, text_response(TEXT), error_type, "boom")
    async with fake_client(max_retries=2) as (server, client):
        server.enqueue(script)
        seen: list[str] = []

        async def run() -> None:
            seen.extend(await via_raw(client))

        exc = await raises_exactly(cls, run)
        assert exc.mid_stream is True
        assert exc.status_code == status
        assert len(server.requests) == 1


async def test_error_is_raised_again_after_failure_and_snapshot_stays_readable() -> None:
    script = ScriptedResponse.error_event_after(6, text_response(TEXT), "overloaded_error")
    async with fake_client() as (server, client):
        server.enqueue(script)
        async with client.messages.stream(**PARAMS) as stream:
            with pytest.raises(tms.OverloadedError) as first:
                await stream.until_done()
            with pytest.raises(tms.OverloadedError) as second:
                await stream.get_final_message()
            assert second.value is first.value
        snapshot = stream.current_message_snapshot
        assert message_text(snapshot) == "The quick brown"
        assert first.value.partial_message == snapshot


async def test_failing_stream_does_not_cancel_siblings() -> None:
    script = ScriptedResponse.error_event_after(5, text_response(TEXT), "overloaded_error")
    async with fake_client() as (server, client):
        server.enqueue(script, error_response(400, "invalid_request_error"))
        sibling_done = trio.Event()
        ticks = 0

        async def sibling() -> None:
            nonlocal ticks
            for _ in range(20):
                await trio.sleep(0.005)
                ticks += 1
            sibling_done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sibling)
            # A mid-stream failure, raised to the consumer only.
            with pytest.raises(tms.OverloadedError):
                async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
                    await stream.until_done()
            # A failure at open, also raised to the caller only.
            with pytest.raises(tms.BadRequestError):
                async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
                    await stream.until_done()
            # A stream whose consumer never reads before it fails.
            server.enqueue(ScriptedResponse.error_event_after(3, text_response(TEXT)))
            stream = await tms.start_message_stream(nursery, client, **PARAMS)
            # The producer finishes by itself (a fixed 20 ms sleep was too short under load).
            with trio.fail_after(5):
                while not stream.statistics().finished:  # noqa: ASYNC110 - a snapshot
                    await trio.sleep(0.005)
            with pytest.raises(tms.OverloadedError):
                await stream.until_done()
            await stream.aclose()
        assert sibling_done.is_set()
        assert ticks == 20
        assert not nursery.cancel_scope.cancel_called


# -- truncation


@pytest.mark.parametrize("reset", [False, True])
@pytest.mark.parametrize("entry", ["manager", "open_message_stream"])
async def test_connection_drop_before_message_stop(entry: str, reset: bool) -> None:
    full = text_response(TEXT)
    body = full.body
    cut = body.index(b'"text":" brown"')  # inside the third delta event
    async with fake_client() as (server, client):
        server.enqueue(text_response(TEXT, drop_after_bytes=cut, drop_with_reset=reset))
        exc = await raises_exactly(tms.IncompleteStreamError, ENTRY_POINTS[entry], client)
        assert message_text(exc.partial_message) == "The quick"
        assert isinstance(exc, tms.APIConnectionError)
        assert exc.__cause__ is not None  # the transport error, chained


async def test_clean_eof_before_message_stop() -> None:
    events = text_response(TEXT).body.split(b"\n\n")
    # A well-framed body (Content-Length, clean end) that stops after 5 events.
    body = b"\n\n".join(events[:5]) + b"\n\n"
    async with fake_client() as (server, client):
        server.enqueue(ScriptedResponse(body=body, chunked_encoding=False))
        exc = await raises_exactly(tms.IncompleteStreamError, via_manager, client)
        assert message_text(exc.partial_message) == "The quick"
        server.enqueue(ScriptedResponse(body=body, chunked_encoding=False))
        exc = await raises_exactly(tms.IncompleteStreamError, via_raw, client)
        assert "message_stop" in exc.message


async def test_cut_tool_json_kept_as_raw_text() -> None:
    tool_input = {"location": "San Francisco, CA", "unit": "fahrenheit"}
    full = tool_use_response("get_weather", tool_input, json_chunk_size=8)
    cut = full.body.index(b'"partial_json":"', full.body.index(b'"partial_json":"') + 20)
    cut = full.body.index(b"event: content_block_delta", cut)  # after 2 JSON pieces
    async with fake_client() as (server, client):
        server.enqueue(
            tool_use_response("get_weather", tool_input, json_chunk_size=8, drop_after_bytes=cut)
        )
        async with client.messages.stream(**PARAMS) as stream:
            with pytest.raises(tms.IncompleteStreamError) as info:
                await stream.until_done()
        partial = info.value.partial_message
        assert partial is not None
        block = partial.content[-1]
        assert isinstance(block, tms.ToolUseBlock)
        raw = json.dumps(tool_input, sort_keys=True)
        assert block.partial_json is not None
        assert block.partial_json != ""
        assert raw.startswith(block.partial_json)
        assert block.partial_json == raw[: len(block.partial_json)]
        assert stream.current_message_snapshot == partial


async def test_unfinished_tool_block_keeps_raw_json_on_success() -> None:
    # The SDK fixture stops at max_tokens inside a tool input: block 1 never gets its
    # content_block_stop, yet the message ends. Its raw JSON is kept, never `{}` alone.
    body = (FIXTURES / "sdk_incomplete_partial_json_response.sse").read_bytes() + b"\n\n"
    raw = "".join(
        json.loads(line[len("data: ") :])["delta"]["partial_json"]
        for line in body.decode().splitlines()
        if '"input_json_delta"' in line
    )
    async with fake_client() as (server, client):
        server.enqueue(ScriptedResponse(body=body))
        async with client.messages.stream(**PARAMS) as stream:
            message = await stream.get_final_message()
        assert message.stop_reason == "max_tokens"
        tool = [b for b in message.content if isinstance(b, tms.ToolUseBlock)]
        assert len(tool) == 1
        assert tool[0].partial_json == raw
        assert raw.startswith("{")


# -- protocol errors


def _bad_events() -> dict[str, ScriptedResponse]:
    start = text_response("Hi").body.split(b"\n\n")
    head = b"\n\n".join(start[:2]) + b"\n\n"  # message_start, content_block_start
    delta_for_missing_block = (
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":3,'
        b'"delta":{"type":"text_delta","text":"x"}}\n\n'
    )
    bad_json = b'event: content_block_delta\ndata: {"type":"content_block_delta",\n\n'
    return {
        "garbage": ScriptedResponse.garbage(4096, seed=7),
        "html_200": ScriptedResponse(
            status=200, headers=[("content-type", "text/html")], body=b"<html>hi</html>"
        ),
        "json_200": ScriptedResponse(status=200, body=b'{"type":"message"}'),
        "out_of_order_index": ScriptedResponse(body=head + delta_for_missing_block),
        "malformed_json": ScriptedResponse(body=head + bad_json),
    }


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("case", list(_bad_events()))
async def test_stream_protocol_errors(entry: str, case: str) -> None:
    async with fake_client(max_retries=2) as (server, client):
        server.enqueue(_bad_events()[case])
        exc = await raises_exactly(tms.StreamProtocolError, ENTRY_POINTS[entry], client)
        assert_no_key(exc)
        assert len(server.requests) == 1  # a protocol error is not retried
        if case in ("out_of_order_index", "malformed_json") and entry != "raw":
            assert exc.partial_message is not None


async def test_oversize_event_is_a_protocol_error() -> None:
    from trio_msgstream._core.stream.sse import DEFAULT_MAX_EVENT_SIZE

    head = b"\n\n".join(text_response("Hi").body.split(b"\n\n")[:2]) + b"\n\n"
    huge = b"event: content_block_delta\ndata: " + b"x" * (DEFAULT_MAX_EVENT_SIZE + 10)
    async with fake_client() as (server, client):
        server.enqueue(ScriptedResponse(body=head + huge, chunks=[head, huge]))
        exc = await raises_exactly(tms.StreamProtocolError, via_manager, client)
        assert exc.partial_message is not None
