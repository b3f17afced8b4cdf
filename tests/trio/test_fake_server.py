"""Tests of the fake Anthropic server shipped as ``trio_msgstream.testing``."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    chunked,
    error_response,
    events_response,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    replay_sse_file,
    serve_fake_anthropic,
    split_events,
    sse_bytes,
    text_response,
    thinking_response,
    tool_use_response,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"

REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 256,
    "stream": True,
    "messages": [{"role": "user", "content": "Say hello there!"}],
}


def parse_sse(body: bytes) -> list[tuple[str, Any]]:
    """Decode an SSE body into (event name, parsed data) pairs (test-side, deliberately simple)."""
    events: list[tuple[str, Any]] = []
    for block in body.split(b"\n\n"):
        if not block.strip():
            continue
        name = "message"
        data_lines: list[str] = []
        for line in block.decode("utf-8").split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data_lines.append(value)
        data = "\n".join(data_lines)
        try:
            events.append((name, json.loads(data)))
        except ValueError:
            events.append((name, data))
    return events


def streamed_text(events: list[tuple[str, Any]], index: int | None = None) -> str:
    return "".join(
        data["delta"]["text"]
        for name, data in events
        if name == "content_block_delta"
        and data["delta"]["type"] == "text_delta"
        and (index is None or data["index"] == index)
    )


def stop_reason(events: list[tuple[str, Any]]) -> str:
    deltas = [data for name, data in events if name == "message_delta"]
    assert len(deltas) == 1
    reason: str = deltas[0]["delta"]["stop_reason"]
    return reason


async def post(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post("/v1/messages", json=REQUEST if body is None else body)


async def until_idle(server: FakeAnthropicServer) -> None:
    """Poll until the server has finished every request (e.g. noticed a disconnect)."""
    while server.active_requests:  # noqa: ASYNC110 - a plain counter, nothing to wait on
        await trio.sleep(0.01)


async def read_raw(client: httpx.AsyncClient, into: bytearray) -> None:
    """Stream a response body into ``into`` (kept even if reading fails midway)."""
    async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
        async for piece in response.aiter_raw():
            into += piece


def with_(**changes: Any) -> dict[str, Any]:
    return {**REQUEST, **changes}


# --------------------------------------------------------------------------- basics


async def test_text_response_is_streamed_and_parses_back() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            assert server.base_url == f"http://127.0.0.1:{server.port}"
            server.enqueue(text_response("Hello there, how are you?", model="claude-x"))
            response = await post(client)
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            assert response.headers["request-id"].startswith("req_")

            events = parse_sse(response.content)
            names = [name for name, _ in events]
            assert names[:3] == ["message_start", "content_block_start", "ping"]
            assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
            assert all(name == data["type"] for name, data in events)
            start = events[0][1]["message"]
            assert start["model"] == "claude-x"
            assert start["id"].startswith("msg_")
            assert start["usage"]["output_tokens"] == 1
            assert streamed_text(events) == "Hello there, how are you?"
            deltas = [d["delta"]["text"] for n, d in events if n == "content_block_delta"]
            assert deltas == ["Hello", " there,", " how", " are", " you?"]
            assert stop_reason(events) == "end_turn"


async def test_request_ids_unique_and_message_ids_deterministic() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(text_response("same"), text_response("same"))
            first, second = await post(client), await post(client)
            assert first.headers["request-id"] != second.headers["request-id"]
            assert first.content == second.content
            assert text_response("same").body == text_response("same").body


async def test_requests_are_recorded() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            response = await client.post(
                "/v1/messages?beta=true",
                json=REQUEST,
                headers={"X-Api-Key": "sk-test", "anthropic-version": "2023-06-01"},
            )
            assert response.status_code == 200
            await server.wait_for_requests(1)
            (request,) = server.requests
            assert request.method == "POST"
            assert request.path == "/v1/messages"
            assert request.query == "beta=true"
            assert request.header("x-api-key") == "sk-test"
            assert request.header("X-API-KEY") == "sk-test"
            assert request.header("missing") is None
            assert ("anthropic-version", "2023-06-01") in request.headers
            assert all(name == name.lower() for name, _ in request.headers)
            assert request.json == REQUEST
            assert json.loads(request.body) == REQUEST
            assert request.connection_id == 1


async def test_other_paths_get_404_and_consume_no_script() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(text_response("queued"))
            for response in [
                await client.get("/v1/models"),
                await client.post("/v1/complete", json={}),
                await client.get("/v1/messages"),
            ]:
                assert response.status_code == 404
                assert response.headers["content-type"] == "application/json"
                assert int(response.headers["content-length"]) == len(response.content)
                assert response.json()["type"] == "error"
                assert response.json()["error"]["type"] == "not_found_error"
            assert len(server.requests) == 3
            assert streamed_text(parse_sse((await post(client)).content)) == "queued"


async def test_keep_alive_100_requests_one_connection() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            for i in range(100):
                if i % 2:
                    server.enqueue(error_response(429, "rate_limit_error"))
                response = await post(client)
                assert response.status_code == (429 if i % 2 else 200)
            assert len(server.requests) == 100
            assert server.connections_opened == 1
            assert {r.connection_id for r in server.requests} == {1}
            assert server.max_concurrent_requests == 1
            assert server.active_requests == 0


async def test_concurrency_high_water_mark_and_client_disconnects() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            for _ in range(10):
                server.enqueue(text_response("hi", stall_after_bytes=0, stall_seconds=math.inf))

            async def one_client() -> None:
                async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
                    assert response.status_code == 200
                    await response.aread()  # stalls forever

            async with trio.open_nursery() as nursery:
                for _ in range(10):
                    nursery.start_soon(one_client)
                await server.wait_for_requests(10)
                assert server.active_requests == 10
                assert server.max_concurrent_requests == 10
                assert server.connections_opened == 10
                nursery.cancel_scope.cancel()
            # The server notices the disconnects and finishes those requests.
            await until_idle(server)
            assert server.max_concurrent_requests == 10
            assert (await post(client)).status_code == 200


async def test_chunks_arrive_separately(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            scripted = text_response("one two three four", chunk_delay=1.0)
            expected = split_events(scripted.body)
            server.enqueue(scripted)
            pieces: list[bytes] = []
            times: list[float] = []
            async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
                start = trio.current_time()
                async for piece in response.aiter_raw():
                    pieces.append(piece)
                    times.append(trio.current_time() - start)
            assert pieces == expected
            assert times == [float(i) for i in range(len(expected))]


async def test_explicit_chunks_split_mid_event(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            body = sse_bytes([{"type": "ping"}, {"type": "ping"}])
            parts = chunked(body, [5, 30])
            server.enqueue(ScriptedResponse(body=body, chunks=parts, chunk_delay=0.5))
            async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                received = [piece async for piece in response.aiter_raw()]
            assert received == parts
            assert len(parts) == 3


# --------------------------------------------------------------------------- faults


async def test_drop_mid_body_then_server_keeps_serving() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            scripted = text_response("this stream will be cut short", drop_after_bytes=100)
            server.enqueue(scripted)
            received = bytearray()
            with pytest.raises(httpx.RemoteProtocolError):
                await read_raw(client, received)
            assert bytes(received) == scripted.body[:100]
            response = await post(client)
            assert response.status_code == 200
            assert server.connections_opened == 2


async def test_drop_with_reset() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(text_response("reset me", drop_after_bytes=0, drop_with_reset=True))
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
                    await response.aread()
            assert (await post(client)).status_code == 200


async def test_drop_after_whole_body_omits_terminating_chunk() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            scripted = text_response("complete but unterminated", drop_after_bytes=10**9)
            server.enqueue(scripted)
            received = bytearray()
            with pytest.raises(httpx.RemoteProtocolError):
                await read_raw(client, received)
            assert bytes(received) == scripted.body


async def test_stall_with_pings(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(1000):  # virtual seconds (autojump_clock)
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            scripted = text_response("after the stall", chunk_size_words=10)
            first_event = split_events(scripted.body)[0]
            scripted.stall_after_bytes = len(first_event)
            scripted.stall_seconds = 9.0
            scripted.stall_pings_every = 2.0
            server.enqueue(scripted)
            arrivals: list[tuple[float, bytes]] = []
            async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
                start = trio.current_time()
                async for piece in response.aiter_raw():
                    arrivals.append((trio.current_time() - start, piece))
            body = b"".join(piece for _, piece in arrivals)
            events = parse_sse(body)
            names = [name for name, _ in events]
            assert names[:5] == ["message_start", "ping", "ping", "ping", "ping"]
            assert names[5] == "content_block_start"
            assert streamed_text(events) == "after the stall"
            ping_times = [t for t, piece in arrivals if piece.startswith(b"event: ping")]
            assert ping_times[:4] == [2.0, 4.0, 6.0, 8.0]
            assert arrivals[0][0] == 0.0
            assert all(t == 9.0 for t, _ in arrivals[5:])


async def test_stall_without_pings_then_continue(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(1000):  # virtual seconds (autojump_clock)
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(text_response("slow", stall_after_bytes=0, stall_seconds=120))
            start = trio.current_time()
            response = await client.post("/v1/messages", json=REQUEST, timeout=None)
            assert trio.current_time() - start == 120
            assert streamed_text(parse_sse(response.content)) == "slow"


async def test_client_timeout_during_infinite_stall(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(1000):  # virtual seconds (autojump_clock)
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(text_response("never", stall_after_bytes=50, stall_seconds=math.inf))
            start = trio.current_time()
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/v1/messages", json=REQUEST, timeout=30)
            assert trio.current_time() - start == pytest.approx(30)
            # The server notices that the client gave up and closed the connection.
            await until_idle(server)
            assert (await post(client)).status_code == 200


async def test_pings_only(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(1000):  # virtual seconds (autojump_clock)
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(ScriptedResponse.pings_only(5, interval=3.0))
            start = trio.current_time()
            response = await post(client)
            assert trio.current_time() - start == 12.0
            assert response.status_code == 200
            assert parse_sse(response.content) == [("ping", {"type": "ping"})] * 5


async def test_garbage_body() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(ScriptedResponse.garbage(4096, seed=7))
            response = await post(client)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.content == random.Random(7).randbytes(4096)
            assert ScriptedResponse.garbage(64, 1).body == ScriptedResponse.garbage(64, 1).body


async def test_html_502() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(ScriptedResponse.html())
            response = await post(client)
            assert response.status_code == 502
            assert response.reason_phrase == "Bad Gateway"
            assert response.headers["content-type"] == "text/html"
            assert int(response.headers["content-length"]) == len(response.content)
            assert "502 Bad Gateway" in response.text


async def test_error_response_with_retry_headers() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(
                error_response(
                    429,
                    "rate_limit_error",
                    "Number of requests has exceeded your rate limit",
                    headers=[
                        ("retry-after", "2"),
                        ("retry-after-ms", "1500"),
                        ("x-should-retry", "true"),
                    ],
                ),
                ScriptedResponse.error(529, "overloaded_error"),
            )
            response = await post(client)
            assert response.status_code == 429
            assert response.headers["retry-after"] == "2"
            assert response.headers["retry-after-ms"] == "1500"
            assert response.headers["x-should-retry"] == "true"
            assert response.headers["content-type"] == "application/json"
            assert "transfer-encoding" not in response.headers
            assert int(response.headers["content-length"]) == len(response.content)
            assert response.json() == {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "Number of requests has exceeded your rate limit",
                },
            }
            response = await post(client)
            assert response.status_code == 529
            assert response.reason_phrase == "Overloaded"
            assert response.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}
            assert server.connections_opened == 1


async def test_fail_first_then_success() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(text_response("finally"))
            server.fail_first(2, error_response(529, "overloaded_error"))
            statuses = [(await post(client)).status_code for _ in range(3)]
            assert statuses == [529, 529, 200]
            response = await post(client)  # queue empty: default responder
            assert streamed_text(parse_sse(response.content)).startswith("Hello there!")


async def test_error_event_after_k_events() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            source = text_response("one two three")
            server.enqueue(
                ScriptedResponse.error_event_after(3, source),
                ScriptedResponse.error_event_after(
                    1, [{"type": "ping"}, {"type": "ping"}], error_type="api_error", message="boom"
                ),
            )
            response = await post(client)
            assert response.status_code == 200
            events = parse_sse(response.content)
            assert [name for name, _ in events] == [
                "message_start",
                "content_block_start",
                "ping",
                "error",
            ]
            assert response.content.startswith(b"".join(split_events(source.body)[:3]))
            assert events[-1][1] == {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            }
            events = parse_sse((await post(client)).content)
            assert events == [
                ("ping", {"type": "ping"}),
                ("error", {"type": "error", "error": {"type": "api_error", "message": "boom"}}),
            ]


async def test_exiting_server_context_never_hangs_clients() -> None:
    with trio.fail_after(10):
        async with httpx.AsyncClient() as client:
            errors: list[BaseException] = []

            async def stuck_client(url: str) -> None:
                try:
                    await client.post(url, json=REQUEST)
                except httpx.HTTPError as exc:
                    errors.append(exc)

            async with trio.open_nursery() as nursery:
                async with open_fake_anthropic() as server:
                    server.enqueue(text_response("x", stall_after_bytes=0, stall_seconds=math.inf))
                    nursery.start_soon(stuck_client, f"{server.base_url}/v1/messages")
                    await server.wait_for_requests(1)
            assert len(errors) == 1
            assert isinstance(errors[0], httpx.RemoteProtocolError)


async def test_malformed_http_gets_400_and_server_survives() -> None:
    with trio.fail_after(10):
        async with open_fake_anthropic() as server:
            async with await trio.open_tcp_stream("127.0.0.1", server.port) as stream:
                await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
                received = b""
                while chunk := await stream.receive_some():
                    received += chunk
            assert received.startswith(b"HTTP/1.1 400 ")
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                assert (await post(client)).status_code == 200


async def test_serve_fake_anthropic_with_nursery_start() -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            server: FakeAnthropicServer = await nursery.start(serve_fake_anthropic)
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                assert (await post(client)).status_code == 200
            nursery.cancel_scope.cancel()


async def test_custom_responder_reset_and_responder_errors() -> None:
    def responder(request: Any) -> ScriptedResponse:
        if request.json["messages"][0]["content"] == "explode":
            raise RuntimeError("bug in responder")
        return text_response(f"echo {request.json['messages'][0]['content']}")

    with trio.fail_after(10):
        async with (
            open_fake_anthropic(responder=responder) as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            response = await post(client, with_(messages=[{"role": "user", "content": "ping"}]))
            assert streamed_text(parse_sse(response.content)) == "echo ping"
            response = await post(client, with_(messages=[{"role": "user", "content": "explode"}]))
            assert response.status_code == 500
            assert response.json()["error"]["type"] == "api_error"

            server.enqueue(text_response("dropped by reset"))
            server.fail_first(5, error_response(500, "api_error"))
            server.reset()
            assert server.requests == []
            assert server.connections_opened == 0
            server.responder = None
            response = await post(client)
            assert response.status_code == 500
            assert len(server.requests) == 1


# --------------------------------------------------------------------------- default responder


async def test_default_responder_text() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            response = await post(client, with_(model="claude-haiku-4-5"))
            events = parse_sse(response.content)
            names = [name for name, _ in events]
            assert names[:3] == ["message_start", "content_block_start", "ping"]
            assert names[-1] == "message_stop"
            message = events[0][1]["message"]
            assert message["model"] == "claude-haiku-4-5"
            assert message["usage"]["input_tokens"] > 0
            text = streamed_text(events)
            assert text.startswith("Hello there! ")
            assert len(text.split(". ")) >= 2
            deltas = [d for n, d in events if n == "content_block_delta"]
            assert len(deltas) == len(text.split())
            assert stop_reason(events) == "end_turn"
            message_delta = next(d for n, d in events if n == "message_delta")
            assert message_delta["usage"]["output_tokens"] == len(deltas)

            # Deterministic: the same request gets the same bytes.
            again = await post(client, with_(model="claude-haiku-4-5"))
            assert again.content == response.content

            # Content given as a list of blocks.
            blocks = with_(
                messages=[
                    {"role": "user", "content": [{"type": "text", "text": "Say hello there!"}]}
                ]
            )
            assert streamed_text(parse_sse((await post(client, blocks)).content)) == text


async def test_default_responder_max_tokens_and_stop_sequences() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            events = parse_sse((await post(client, with_(max_tokens=4))).content)
            assert stop_reason(events) == "max_tokens"
            assert len(streamed_text(events).split()) == 4

            body = with_(
                messages=[{"role": "user", "content": "Count: one two STOP three"}],
                stop_sequences=["STOP"],
            )
            events = parse_sse((await post(client, body)).content)
            assert stop_reason(events) == "stop_sequence"
            delta = next(d for n, d in events if n == "message_delta")
            assert delta["delta"]["stop_sequence"] == "STOP"
            assert "STOP" not in streamed_text(events)


async def test_default_responder_tool_use() -> None:
    tools = [
        {
            "name": "get_weather",
            "description": "Get the weather",
            "input_schema": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                    "detailed": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["location"],
            },
        },
        {"name": "other", "input_schema": {"type": "object", "properties": {}}},
    ]
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            events = parse_sse((await post(client, with_(tools=tools))).content)
            assert stop_reason(events) == "tool_use"
            starts = [d["content_block"] for n, d in events if n == "content_block_start"]
            assert [b["type"] for b in starts] == ["text", "tool_use"]
            assert starts[1]["name"] == "get_weather"
            assert starts[1]["id"].startswith("toolu_")
            assert starts[1]["input"] == {}
            pieces = [
                d["delta"]["partial_json"]
                for n, d in events
                if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
            ]
            assert len(pieces) > 3
            assert all(d["index"] == 1 for n, d in events if n == "content_block_delta"
                       and d["delta"]["type"] == "input_json_delta")  # fmt: skip
            assert json.loads("".join(pieces)) == {
                "location": "example",
                "unit": "celsius",
                "days": 1,
                "detailed": True,
                "tags": ["example"],
            }
            assert streamed_text(events, index=0)

            # After a tool result, it answers with text so agent loops terminate.
            follow_up = with_(
                tools=tools,
                messages=[
                    REQUEST["messages"][0],
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "t", "name": "get_weather", "input": {}}
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "t", "content": "15 degrees"}
                        ],
                    },
                ],
            )
            events = parse_sse((await post(client, follow_up)).content)
            assert stop_reason(events) == "end_turn"
            assert "15 degrees" in streamed_text(events)


async def test_default_responder_thinking() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            body = with_(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024})
            events = parse_sse((await post(client, body)).content)
            starts = [d["content_block"] for n, d in events if n == "content_block_start"]
            assert starts[0] == {"type": "thinking", "thinking": "", "signature": ""}
            assert starts[1]["type"] == "text"
            kinds = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
            n_thinking = kinds.count("thinking_delta")
            assert n_thinking >= 2
            assert kinds[: n_thinking + 1] == ["thinking_delta"] * n_thinking + ["signature_delta"]
            assert streamed_text(events).startswith("Hello there!")
            assert stop_reason(events) == "end_turn"


async def test_default_responder_non_streaming_and_invalid_requests() -> None:
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            response = await post(client, with_(stream=False))
            assert response.headers["content-type"] == "application/json"
            message = response.json()
            assert message["type"] == "message"
            assert message["content"][0]["text"].startswith("Hello there!")
            assert message["stop_reason"] == "end_turn"

            for bad in [{"messages": []}, {**REQUEST, "max_tokens": None}, {"model": "m"}]:
                response = await post(client, bad)
                assert response.status_code == 400
                assert response.json()["error"]["type"] == "invalid_request_error"
            response = await client.post("/v1/messages", content=b"not json")
            assert response.status_code == 400


# --------------------------------------------------------------------------- scripts


def test_sse_helpers() -> None:
    body = sse_bytes([{"type": "ping"}, ("custom", {"a": "é"}), ("error", "not\njson")])
    assert body == (
        b'event: ping\ndata: {"type":"ping"}\n\n'
        b'event: custom\ndata: {"a":"\xc3\xa9"}\n\n'
        b"event: error\ndata: not\ndata: json\n\n"
    )
    assert split_events(body) == [
        b'event: ping\ndata: {"type":"ping"}\n\n',
        b'event: custom\ndata: {"a":"\xc3\xa9"}\n\n',
        b"event: error\ndata: not\ndata: json\n\n",
    ]
    assert split_events(b"a\r\n\r\nb\n\nrest") == [b"a\r\n\r\n", b"b\n\n", b"rest"]
    assert chunked(b"abcdef", [4, 2, 2, 0, 6]) == [b"ab", b"cd", b"ef"]
    with pytest.raises(ValueError, match="outside"):
        chunked(b"abc", [4])
    with pytest.raises(ValueError, match="concatenate"):
        ScriptedResponse(body=b"abc", chunks=[b"ab"])


def test_constructors_shapes() -> None:
    tool = tool_use_response("calc", {"x": 1}, text="Let me compute.")
    assert tool.is_sse
    assert tool.uses_chunked_encoding
    names = [n for n, _ in parse_sse(tool.body)]
    assert names.count("content_block_start") == 2
    thinking = thinking_response("hmm, let me think about it", "Answer.")
    kinds = [d["delta"]["type"] for n, d in parse_sse(thinking.body) if n == "content_block_delta"]
    assert kinds[-2:] == ["signature_delta", "text_delta"]
    custom = events_response([{"type": "message_stop"}], status=200, chunk_delay=0.1)
    assert custom.chunk_delay == 0.1
    error = error_response(400, "invalid_request_error")
    assert not error.uses_chunked_encoding
    assert json.loads(error.body)["error"]["message"]


async def test_replay_fixture_file_byte_for_byte() -> None:
    path = FIXTURES / "recorded_tool_runner_a_turn1_tool_use.sse"
    with trio.fail_after(10):
        async with (
            open_fake_anthropic() as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            server.enqueue(replay_sse_file(path))
            async with client.stream("POST", "/v1/messages", json=REQUEST) as response:
                pieces = [piece async for piece in response.aiter_raw()]
            assert b"".join(pieces) == path.read_bytes()
            assert pieces == split_events(path.read_bytes())


# --------------------------------------------------------------------------- thread


def test_fake_anthropic_in_thread_with_sync_client() -> None:
    with fake_anthropic_in_thread() as server, httpx.Client(base_url=server.base_url) as client:
        server.enqueue(text_response("from a thread"))
        server.fail_first(1, error_response(503, "api_error"))
        assert client.post("/v1/messages", json=REQUEST).status_code == 503
        response = client.post("/v1/messages", json=REQUEST)
        assert streamed_text(parse_sse(response.content)) == "from a thread"
        response = client.post("/v1/messages", json=REQUEST)
        assert streamed_text(parse_sse(response.content)).startswith("Hello there!")
        assert len(server.requests) == 3
        assert server.connections_opened == 1
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{server.base_url}/v1/messages", json=REQUEST)
