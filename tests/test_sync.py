"""The synchronous client against the fake server running in a thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    fake_anthropic_in_thread,
    split_events,
    text_response,
    thinking_response,
    tool_use_response,
)

TEXT = "The quick brown fox jumps over the lazy dog"
FAST_RETRY = [("retry-after-ms", "0")]


def test_aliases() -> None:
    assert tms.Anthropic is tms.Client


def test_text_stream_and_final_message(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    sync_server.enqueue(text_response(TEXT))
    with sync_client.messages.stream(**PARAMS) as stream:
        pieces = list(stream.text_stream)
        assert stream.request_id is not None
        assert stream.response is not None
        assert stream.response.status_code == 200
    assert "".join(pieces) == TEXT
    assert len(pieces) > 1
    message = stream.get_final_message()
    assert message.content[0].type == "text"
    assert stream.get_final_text() == TEXT
    assert stream.current_message_snapshot == message
    request = sync_server.requests[0]
    assert request.json["stream"] is True
    assert request.header("authorization") == f"Bearer {API_KEY}"


def test_iterating_events(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(text_response(TEXT))
    with sync_client.messages.stream(**PARAMS) as stream:
        kinds = [event.type for event in stream]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "text" in kinds
    assert "content_block_delta" in kinds


class Recorder(tms.SyncMessageStream):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, Any]] = []

    def on_text(self, text: str, snapshot: str) -> None:
        self.calls.append(("text", (text, snapshot)))

    def on_stream_event(self, event: tms.MessageStreamEvent) -> None:
        self.calls.append(("event", event.type))

    def on_content_block(self, content_block: tms.ContentBlock) -> None:
        self.calls.append(("block", content_block.type))

    def on_message(self, message: tms.Message) -> None:
        self.calls.append(("message", message.stop_reason))

    def on_input_json(self, partial_json: str, snapshot: Any) -> None:
        self.calls.append(("input_json", snapshot))

    def on_thinking(self, thinking: str, snapshot: str) -> None:
        self.calls.append(("thinking", snapshot))

    def on_signature(self, signature: str) -> None:
        self.calls.append(("signature", signature))

    def on_exception(self, exception: Exception) -> None:
        self.calls.append(("exception", type(exception)))

    def on_timeout(self) -> None:
        self.calls.append(("timeout", None))

    def on_end(self) -> None:
        self.calls.append(("end", None))


def test_handlers(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(text_response("Hello there friend"))
    with sync_client.messages.stream(**PARAMS, event_handler=Recorder) as stream:
        message = stream.get_final_message()
    texts = [args for name, args in stream.calls if name == "text"]
    assert texts[0] == ("Hello", "Hello")
    assert texts[-1][1] == "Hello there friend"
    names = [name for name, _ in stream.calls]
    assert names.count("end") == 1
    assert names[-1] == "end"
    assert ("block", "text") in stream.calls
    assert ("message", "end_turn") in stream.calls
    assert message.stop_reason == "end_turn"


def test_handlers_tool_use_and_thinking(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    sync_server.enqueue(tool_use_response("get_weather", {"city": "Paris", "days": 3}))
    with sync_client.messages.stream(**PARAMS, event_handler=Recorder) as stream:
        message = stream.get_final_message()
    snapshots = [args for name, args in stream.calls if name == "input_json"]
    assert snapshots[-1] == {"city": "Paris", "days": 3}
    tool = [block for block in message.content if block.type == "tool_use"]
    assert tool[0].input == {"city": "Paris", "days": 3}  # type: ignore[union-attr]

    sync_server.enqueue(thinking_response("Let me think about it.", "Done."))
    with sync_client.messages.stream(**PARAMS, event_handler=Recorder) as stream:
        stream.until_done()
    thinking = [args for name, args in stream.calls if name == "thinking"]
    assert thinking[-1] == "Let me think about it."
    assert any(name == "signature" for name, _ in stream.calls)


def test_one_argument_on_text(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    seen: list[str] = []

    class OneArg(tms.SyncMessageStream):
        def on_text(self, delta: str) -> None:
            seen.append(delta)

    sync_server.enqueue(text_response(TEXT))
    with sync_client.messages.stream(**PARAMS, event_handler=OneArg) as stream:
        stream.until_done()
    assert "".join(seen) == TEXT


def test_event_handler_must_be_a_sync_stream(sync_client: tms.Client) -> None:
    with pytest.raises(TypeError):
        sync_client.messages.stream(**PARAMS, event_handler=tms.MessageStream)  # type: ignore[type-var]


def test_raw_create_stream(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(text_response(TEXT))
    with sync_client.messages.create(**PARAMS, stream=True) as events:
        collected = list(events)
        assert events.request_id is not None
    kinds = [event.type for event in collected]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "text" not in kinds  # raw events only
    text = "".join(
        e.delta.text  # type: ignore[union-attr]
        for e in collected
        if e.type == "content_block_delta" and e.delta.type == "text_delta"  # type: ignore[union-attr]
    )
    assert text == TEXT


def test_create_non_streaming(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    message = sync_client.messages.create(**PARAMS)
    assert isinstance(message, tms.Message)
    assert message.content[0].text.startswith("Hello there!")  # type: ignore[union-attr]
    assert "stream" not in sync_server.requests[-1].json  # as the official SDK sends it


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", tms.BadRequestError),
        (401, "authentication_error", tms.AuthenticationError),
        (404, "not_found_error", tms.NotFoundError),
    ],
)
def test_status_errors(
    sync_client: tms.Client,
    sync_server: FakeAnthropicServer,
    status: int,
    error_type: str,
    cls: type[tms.APIStatusError],
) -> None:
    sync_server.enqueue(error_response(status, error_type, "nope"))
    with pytest.raises(cls) as info:
        with sync_client.messages.stream(**PARAMS, event_handler=Recorder):
            pytest.fail("entered a failed stream")
    assert info.value.status_code == status
    assert "nope" in info.value.message
    assert info.value.request_id is not None
    sync_server.enqueue(error_response(status, error_type, "nope"))
    with pytest.raises(cls):
        sync_client.messages.create(**PARAMS)
    sync_server.enqueue(error_response(status, error_type, "nope"))
    with pytest.raises(cls):
        sync_client.messages.create(**PARAMS, stream=True)
    assert len(sync_server.requests) == 3  # not retried


def test_mid_stream_error_event(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(ScriptedResponse.error_event_after(5, text_response(TEXT)))
    texts: list[str] = []
    with sync_client.messages.stream(**PARAMS, event_handler=Recorder) as stream:
        with pytest.raises(tms.OverloadedError) as info:
            texts.extend(stream.text_stream)
    assert info.value.mid_stream
    assert info.value.partial_message is not None
    assert texts
    assert ("exception", tms.OverloadedError) in stream.calls
    assert [name for name, _ in stream.calls].count("end") == 1
    assert len(sync_server.requests) == 1  # content was delivered: not retried


def test_truncated_stream(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    response = text_response(TEXT)
    cut = sum(len(e) for e in split_events(response.body)[:6]) + 3
    sync_server.enqueue(
        ScriptedResponse(body=response.body, headers=response.headers, drop_after_bytes=cut)
    )
    with sync_client.messages.stream(**PARAMS, max_retries=0) as stream:
        with pytest.raises(tms.IncompleteStreamError) as info:
            stream.until_done()
    assert info.value.partial_message is not None


def test_truncated_raw_stream(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    response = text_response(TEXT)
    sync_server.enqueue(
        ScriptedResponse(body=response.body, headers=response.headers, drop_after_bytes=200)
    )
    with sync_client.messages.create(**PARAMS, stream=True) as events:
        with pytest.raises(tms.IncompleteStreamError):
            list(events)


def test_retries_error_statuses(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.fail_first(2, error_response(529, "overloaded_error", headers=FAST_RETRY))
    sync_server.enqueue(text_response(TEXT))
    with sync_client.messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == TEXT
    assert stream.attempts == 3
    assert len(sync_server.requests) == 3


def test_retry_budget_spent(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.fail_first(5, error_response(529, "overloaded_error", headers=FAST_RETRY))
    with pytest.raises(tms.OverloadedError):
        with sync_client.messages.stream(**PARAMS, max_retries=1):
            pass
    assert len(sync_server.requests) == 2
    sync_server.reset()
    sync_server.fail_first(5, error_response(500, "api_error", headers=FAST_RETRY))
    with pytest.raises(tms.InternalServerError):
        sync_client.messages.create(**PARAMS, max_retries=2)
    assert len(sync_server.requests) == 3


def test_retries_create(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.fail_first(1, error_response(429, "rate_limit_error", headers=FAST_RETRY))
    message = sync_client.messages.create(**PARAMS)
    assert message.stop_reason == "end_turn"
    sync_server.fail_first(1, error_response(429, "rate_limit_error", headers=FAST_RETRY))
    with sync_client.messages.create(**PARAMS, stream=True) as events:
        assert list(events)[-1].type == "message_stop"
    assert len(sync_server.requests) == 4


def test_retries_error_event_before_content(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    # message_start and a ping reach the client, then an error: nothing but those was
    # delivered (message_start is held back), so the stream is retried transparently.
    sync_server.enqueue(
        ScriptedResponse.error_event_after(1, text_response(TEXT), headers=FAST_RETRY),
        text_response(TEXT),
    )
    with sync_client.messages.stream(**PARAMS, event_handler=Recorder) as stream:
        kinds = [event.type for event in stream]
    assert kinds.count("message_start") == 1
    assert stream.get_final_text() == TEXT
    assert len(sync_server.requests) == 2


def test_close_early(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(text_response(TEXT, chunk_delay=0.05))
    with sync_client.messages.stream(**PARAMS, event_handler=Recorder) as stream:
        first = next(iter(stream.text_stream))
        stream.close()
        stream.close()  # idempotent
        assert list(stream) == []
        with pytest.raises(tms.MsgStreamError):
            stream.get_final_message()
    assert first == "The"
    assert [name for name, _ in stream.calls].count("end") == 1
    # The connection is released: the next request works.
    assert sync_client.messages.create(**PARAMS).stop_reason == "end_turn"


@pytest.mark.parametrize("handler", [tms.SyncMessageStream, Recorder])
def test_a_stream_left_unread_releases_its_connection(
    sync_server: FakeAnthropicServer, handler: type[tms.SyncMessageStream]
) -> None:
    """Issue 19 item 2: ``with client.messages.stream(...): pass`` closes its response.

    With one connection in the pool, the next request gets it back; while it is held,
    that request would wait for it until its pool timeout.
    """
    http = httpx.Client(limits=httpx.Limits(max_connections=1))
    timeout = tms.Timeout(pool=2.0, connect=5.0, read=10.0)
    with (
        http,
        tms.Client(
            base_url=sync_server.base_url, api_key=API_KEY, http_client=http, timeout=timeout
        ) as client,
    ):
        for _ in range(2):
            sync_server.enqueue(text_response(TEXT, chunk_delay=0.05))
            with client.messages.stream(**PARAMS, event_handler=handler) as stream:
                pass
            assert client.messages.create(**PARAMS).stop_reason == "end_turn"
    if isinstance(stream, Recorder):
        assert [name for name, _ in stream.calls].count("end") == 1


def test_close_from_another_thread(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    response = text_response(TEXT)
    head = sum(len(e) for e in split_events(response.body)[:4])
    sync_server.enqueue(
        ScriptedResponse(
            body=response.body,
            headers=response.headers,
            stall_after_bytes=head,
            stall_seconds=float("inf"),
        )
    )
    with sync_client.messages.stream(**PARAMS) as stream:
        timer = threading.Timer(0.2, stream.close)
        timer.start()
        started = time.monotonic()
        list(stream.text_stream)
        timer.join()
    assert time.monotonic() - started < 5


def _stalled_pinging(after_events: int) -> ScriptedResponse:
    response = text_response(TEXT)
    head = sum(len(e) for e in split_events(response.body)[:after_events])
    return ScriptedResponse(
        body=response.body,
        headers=response.headers,
        stall_after_bytes=head,
        stall_seconds=float("inf"),
        stall_pings_every=0.05,
    )


def test_content_idle_timeout_with_pinging_server(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    sync_server.enqueue(_stalled_pinging(5))
    timeout = tms.Timeout(content_idle=0.3)
    started = time.monotonic()
    texts: list[str] = []
    with sync_client.messages.stream(**PARAMS, timeout=timeout, event_handler=Recorder) as stream:
        with pytest.raises(tms.APITimeoutError) as info:
            texts.extend(stream.text_stream)
    elapsed = time.monotonic() - started
    assert info.value.which == "content_idle"
    assert info.value.partial_message is not None
    assert texts
    assert 0.3 <= elapsed < 3
    names = [name for name, _ in stream.calls]
    assert names.index("timeout") < names.index("exception") < names.index("end")
    assert len(sync_server.requests) == 1  # content was delivered: not retried


def test_content_idle_before_content_is_retried(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    sync_server.enqueue(_stalled_pinging(1), text_response(TEXT))
    timeout = tms.Timeout(content_idle=0.3)
    with sync_client.messages.stream(**PARAMS, timeout=timeout) as stream:
        assert stream.get_final_text() == TEXT
    assert len(sync_server.requests) == 2


def test_content_idle_silent_server(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    # No bytes at all: the clamped read timeout fires and is reported as content_idle.
    response = text_response(TEXT)
    head = sum(len(e) for e in split_events(response.body)[:5])
    sync_server.enqueue(
        ScriptedResponse(
            body=response.body,
            headers=response.headers,
            stall_after_bytes=head,
            stall_seconds=float("inf"),
        )
    )
    with sync_client.messages.stream(**PARAMS, timeout=tms.Timeout(content_idle=0.3)) as stream:
        with pytest.raises(tms.APITimeoutError) as info:
            stream.until_done()
    assert info.value.which == "content_idle"


def test_deadline(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(_stalled_pinging(5))
    started = time.monotonic()
    with sync_client.messages.stream(**PARAMS, timeout=tms.Timeout(deadline=0.4)) as stream:
        with pytest.raises(tms.APITimeoutError) as info:
            stream.until_done()
    assert info.value.which == "deadline"
    assert time.monotonic() - started < 3


def test_raw_content_idle(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(_stalled_pinging(5))
    with sync_client.messages.create(
        **PARAMS, stream=True, timeout=tms.Timeout(content_idle=0.3)
    ) as events:
        with pytest.raises(tms.APITimeoutError) as info:
            list(events)
    assert info.value.which == "content_idle"


def test_connection_refused_is_retried_then_raised() -> None:
    with fake_anthropic_in_thread() as sync_server:
        base_url = sync_server.base_url
    with tms.Client(base_url=base_url, api_key="k", max_retries=1) as sync_client:
        started = time.monotonic()
        with pytest.raises(tms.APIConnectionError):
            sync_client.messages.create(**PARAMS)
        assert time.monotonic() - started >= 0.3  # one backoff


def test_api_key_not_in_repr(sync_client: tms.Client) -> None:
    assert API_KEY not in repr(sync_client)


def test_ctrl_c_closes_the_connection(
    sync_client: tms.Client, sync_server: FakeAnthropicServer
) -> None:
    class Interrupted(tms.SyncMessageStream):
        def on_text(self, text: str, snapshot: str) -> None:
            raise KeyboardInterrupt

    sync_server.enqueue(text_response(TEXT, chunk_delay=0.05))
    manager = sync_client.messages.stream(**PARAMS, event_handler=Interrupted)
    stream = manager.__enter__()  # no ``with``: the interrupt alone must close it
    with pytest.raises(KeyboardInterrupt):
        stream.until_done()
    assert stream.response is not None
    assert stream.response.is_closed
    deadline = time.monotonic() + 5
    while sync_server.active_requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sync_server.active_requests == 0  # the server saw the connection go


def test_create_deadline(sync_client: tms.Client, sync_server: FakeAnthropicServer) -> None:
    sync_server.enqueue(
        ScriptedResponse(
            headers=[("content-type", "application/json")],
            body=b'{"id": "msg"}',
            stall_after_bytes=0,
            stall_seconds=float("inf"),
        )
    )
    started = time.monotonic()
    with pytest.raises(tms.APITimeoutError) as info:
        sync_client.messages.create(**PARAMS, timeout=tms.Timeout(deadline=0.3))
    assert info.value.which == "deadline"
    assert time.monotonic() - started < 3
