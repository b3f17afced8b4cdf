"""Contract: the same typed error from both clients, from every entry point.

Each test runs against the async and the sync client (``driver``); see ``_drivers``.
"""

from __future__ import annotations

from typing import Any

import pytest
from _drivers import Driver

import trio_msgstream as tms
from trio_msgstream.testing import ScriptedResponse, error_response, split_events, text_response

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
ENTRIES = ["stream", "raw", "create"]
TEXT = "one two three four five six seven eight"


async def run_entry(driver: Driver, entry: str, **kw: Any) -> Any:
    if entry == "stream":
        return await driver.final(**kw)
    if entry == "raw":
        return await driver.raw(**kw)
    return await driver.create(**kw)


def first_events(script: ScriptedResponse, n: int) -> bytes:
    """The first ``n`` SSE events of a script, as bytes."""
    return b"".join(split_events(script.body)[:n])


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(("status", "error_type", "cls"), STATUS_CASES)
async def test_status_code_gives_its_class(
    driver: Driver, clock: Any, entry: str, status: int, error_type: str, cls: type
) -> None:
    driver.server.enqueue(error_response(status, error_type, "scripted failure"))
    with pytest.raises(cls) as info:
        await run_entry(driver, entry)
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert "scripted failure" in info.value.message
    assert info.value.request_id is not None
    assert info.value.partial_message is None
    assert len(driver.server.requests) == 1  # max_retries=0


async def test_html_error_page_gives_its_status_class(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(ScriptedResponse.html(502))
    with pytest.raises(tms.InternalServerError) as info:
        await driver.final()
    assert info.value.status_code == 502


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_error_event_mid_stream(driver: Driver, clock: Any, entry: str) -> None:
    # message_start, content_block_start, ping, "one", " two", then an error event.
    driver.server.enqueue(ScriptedResponse.error_event_after(5, text_response(TEXT)))
    with pytest.raises(tms.OverloadedError) as info:
        await run_entry(driver, entry, max_retries=3)
    assert info.value.status_code == 529
    assert len(driver.server.requests) == 1  # content was delivered: never retried
    if entry == "stream":
        partial = info.value.partial_message
        assert partial is not None
        assert partial.content[0].text == "one two"  # type: ignore[union-attr]
        assert driver.log == ["on_exception:OverloadedError", "on_end"]


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_truncated_body_is_incomplete(driver: Driver, clock: Any, entry: str) -> None:
    full = text_response(TEXT)
    driver.server.enqueue(ScriptedResponse(body=first_events(full, 6)))  # then a clean EOF
    with pytest.raises(tms.IncompleteStreamError) as info:
        await run_entry(driver, entry)
    if entry == "stream":
        assert info.value.partial_message is not None
        assert driver.log == ["on_exception:IncompleteStreamError", "on_end"]


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_dropped_connection_is_incomplete(driver: Driver, clock: Any, entry: str) -> None:
    full = text_response(TEXT)
    cut = len(first_events(full, 6)) + 7  # inside the seventh event
    driver.server.enqueue(text_response(TEXT, drop_after_bytes=cut))
    with pytest.raises((tms.IncompleteStreamError, tms.APIConnectionError)):
        await run_entry(driver, entry)
    assert len(driver.server.requests) == 1


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_garbage_is_a_protocol_error(driver: Driver, clock: Any, entry: str) -> None:
    driver.server.enqueue(ScriptedResponse.garbage(4096))
    with pytest.raises(tms.StreamProtocolError):
        await run_entry(driver, entry)


@pytest.mark.parametrize("entry", ["stream", "raw"])
async def test_wrong_content_type_is_a_protocol_error(
    driver: Driver, clock: Any, entry: str
) -> None:
    driver.server.enqueue(
        ScriptedResponse(headers=[("content-type", "application/json")], body=b'{"id": "x"}')
    )
    with pytest.raises(tms.StreamProtocolError) as info:
        await run_entry(driver, entry, max_retries=2)
    assert "content-type" in info.value.message
    assert len(driver.server.requests) == 1  # a protocol error is not retried


async def test_create_rejects_a_body_that_is_not_a_message(driver: Driver, clock: Any) -> None:
    driver.server.enqueue(
        ScriptedResponse(headers=[("content-type", "application/json")], body=b"not json")
    )
    with pytest.raises(tms.APIError):
        await driver.create()
