"""Request ids on Amazon Bedrock: its answers name themselves by ``x-amzn-RequestId``.

The fake Bedrock sends that header (a UUID) and no first-party ``request-id``, as
Bedrock does; the request id on an error status, on a mid-stream exception frame, on a
stream, a raw stream and the response middleware sees is Bedrock's, on both clients.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from _shared import PARAMS

import trio_msgstream as tms
from trio_msgstream._core.request.status import REQUEST_ID_HEADERS, request_id_of
from trio_msgstream.testing import (
    FakeAnthropicServer,
    FakeBedrock,
    ScriptedResponse,
    eventstream_bytes,
    fake_anthropic_in_thread,
    text_response,
)

BEDROCK = {**PARAMS, "model": "anthropic.claude-sonnet-5-5-v1:0"}
EVENTSTREAM = "application/vnd.amazon.eventstream"


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "AWS_")):
            monkeypatch.delenv(key)


def _is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def test_the_headers_are_read_in_one_place() -> None:
    assert REQUEST_ID_HEADERS == ("request-id", "x-amzn-requestid")
    assert request_id_of(httpx.Headers({"X-Amzn-RequestId": "aws-1"})) == "aws-1"
    assert request_id_of({"X-Amzn-RequestId": "aws-2"}) == "aws-2"  # a plain dict
    assert request_id_of({"request-id": "req_1", "x-amzn-requestid": "aws-3"}) == "req_1"
    assert request_id_of({"content-type": "application/json"}) is None


async def test_the_fake_names_its_answers_as_bedrock_does(server: FakeAnthropicServer) -> None:
    fake = FakeBedrock(server)
    server.enqueue(text_response("hi"))
    seen: list[httpx.Response] = []

    async def keep(request: tms.APIRequest, call_next: tms.AsyncCallNext) -> Any:
        response = await call_next(request)
        seen.append(response.http_response)
        return response

    async with tms.AsyncAnthropicBedrock(**fake.client_kwargs(), middleware=[keep]) as client:
        async with client.messages.stream(**BEDROCK) as stream:
            await stream.get_final_message()
    [headers] = [r.headers for r in seen]
    assert "request-id" not in headers
    assert _is_uuid(headers["x-amzn-requestid"])
    assert fake.request_ids == [headers["x-amzn-requestid"]]


async def test_bedrock_request_ids_async(server: FakeAnthropicServer) -> None:
    fake = FakeBedrock(server)
    seen: list[str | None] = []

    async def watch(request: tms.APIRequest, call_next: tms.AsyncCallNext) -> Any:
        response = await call_next(request)
        seen.append(response.request_id)
        return response

    kwargs = {**fake.client_kwargs(), "max_retries": 0, "middleware": [watch]}
    async with tms.AsyncAnthropicBedrock(**kwargs) as client:
        # An error status.
        server.enqueue(ScriptedResponse.error(429, "rate_limit_error", "slow down"))
        with pytest.raises(tms.RateLimitError) as status_info:
            await client.messages.create(**BEDROCK)
        assert _is_uuid(status_info.value.request_id)
        assert status_info.value.request_id == fake.request_ids[-1]

        # An exception frame mid-stream, after content.
        server.enqueue(
            ScriptedResponse.error_event_after(5, text_response("one two three"), "api_error")
        )
        with pytest.raises(tms.InternalServerError) as frame_info:
            async with client.messages.stream(**BEDROCK) as stream:
                await stream.get_final_message()
        assert frame_info.value.mid_stream
        assert frame_info.value.request_id == fake.request_ids[-1]
        assert frame_info.value.request_id != status_info.value.request_id

        # Successes: a stream and a raw stream.
        server.enqueue(text_response("fine"), text_response("raw"))
        async with client.messages.stream(**BEDROCK) as stream:
            await stream.get_final_message()
            assert stream.request_id == fake.request_ids[-1]
        async with await client.messages.create(**BEDROCK, stream=True) as events:
            _ = [event async for event in events]
            assert events.request_id == fake.request_ids[-1]
    assert seen == fake.request_ids
    assert len(set(fake.request_ids)) == 4


def test_bedrock_request_ids_sync() -> None:
    seen: list[str | None] = []

    def watch(request: tms.APIRequest, call_next: tms.CallNext) -> Any:
        response = call_next(request)
        seen.append(response.request_id)
        return response

    with fake_anthropic_in_thread() as server:
        fake = FakeBedrock(server)
        kwargs = {**fake.client_kwargs(), "max_retries": 0, "middleware": [watch]}
        with tms.AnthropicBedrock(**kwargs) as client:
            server.enqueue(ScriptedResponse.error(503, "api_error", "unavailable"))
            with pytest.raises(tms.ServiceUnavailableError) as status_info:
                client.messages.create(**BEDROCK)
            assert _is_uuid(status_info.value.request_id)
            assert status_info.value.request_id == fake.request_ids[-1]

            server.enqueue(
                ScriptedResponse.error_event_after(
                    5, text_response("one two three"), "rate_limit_error"
                )
            )
            with pytest.raises(tms.RateLimitError) as frame_info:
                with client.messages.stream(**BEDROCK) as stream:
                    stream.get_final_message()
            assert frame_info.value.mid_stream
            assert frame_info.value.request_id == fake.request_ids[-1]

            server.enqueue(text_response("fine"), text_response("raw"))
            with client.messages.stream(**BEDROCK) as stream:
                stream.get_final_message()
                assert stream.request_id == fake.request_ids[-1]
            with client.messages.create(**BEDROCK, stream=True) as events:
                _ = list(events)
                assert events.request_id == fake.request_ids[-1]
        assert seen == fake.request_ids
        assert len(set(fake.request_ids)) == 4


@pytest.mark.parametrize("in_memory", [True, False])
async def test_bedrock_request_id_over_a_mock_transport(in_memory: bool) -> None:
    # As SDK users test: the exception frame's error carries the header's id.
    body = eventstream_bytes(
        [
            {"type": "message_start", "message": {**_MESSAGE}},
            ("error", {"type": "error", "error": {"type": "throttlingException"}}),
        ]
    )

    def chunks() -> Any:
        async def gen() -> Any:
            yield body

        return gen()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": EVENTSTREAM, "x-amzn-RequestId": "aws-req-7"}
        return httpx.Response(200, headers=headers, content=body if in_memory else chunks())

    async with tms.AsyncAnthropicBedrock(
        api_key="k", aws_region="us-east-1", max_retries=0, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(tms.RateLimitError) as info:
            async with client.messages.stream(**BEDROCK) as stream:
                await stream.get_final_message()
    assert info.value.request_id == "aws-req-7"


_MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5-5",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
