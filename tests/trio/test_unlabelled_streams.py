"""Issue 19 item 7: an event stream without a ``content-type`` is read as one.

SDK users' respx and MockTransport handlers often return the SSE body with no
``content-type`` header, or as ``Response(200, text=...)``, which says ``text/plain``.
Such a body is accepted when it reads as an event stream (its first line is an SSE
field or comment); anything else without a type or as ``text/plain`` (an HTML page, a
JSON body, a proxy's plain-text error) and another explicit type (an HTML page from a
proxy) are still refused with
:class:`StreamProtocolError`, before any event, on both clients and every stream entry
point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import trio
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream._core.stream.sse import sniff_event_stream
from trio_msgstream.testing import text_response

pytestmark = pytest.mark.filterwarnings("error")

BASE_URL = "https://api.anthropic.com"
SSE = text_response("Hello without a type").body
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
JSON = b'{"type": "message", "content": []}'


def _pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _handler(
    body: bytes, *, size: int | None, headers: dict[str, str], sync: bool
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        if size is None:
            return httpx.Response(200, content=body, headers=headers)
        pieces = _pieces(body, size)
        if sync:
            return httpx.Response(200, content=iter(pieces), headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        return httpx.Response(200, content=chunks(), headers=headers)

    return handle


async def _open(client: tms.AsyncClient) -> str:
    try:
        async with trio.open_nursery() as nursery:
            async with tms.open_message_stream(nursery, client, **PARAMS) as stream:
                return await stream.get_final_text()
    except BaseExceptionGroup as group:  # the caller's own nursery wraps what it raises
        [error] = group.exceptions
        raise error from None


async def _stream(client: tms.AsyncClient) -> str:
    async with client.messages.stream(**PARAMS) as stream:
        return await stream.get_final_text()


async def _raw(client: tms.AsyncClient) -> str:
    async with await client.messages.create(**PARAMS, stream=True) as events:
        return "".join(
            [e.delta.text async for e in events if e.type == "content_block_delta"]  # type: ignore[union-attr]
        )


ASYNC: dict[str, Callable[[tms.AsyncClient], Awaitable[str]]] = {
    "open_message_stream": _open,
    "messages.stream": _stream,
    "create(stream=True)": _raw,
}


def _s_stream(client: tms.Client) -> str:
    with client.messages.stream(**PARAMS) as stream:
        return stream.get_final_text()


def _s_raw(client: tms.Client) -> str:
    with client.messages.create(**PARAMS, stream=True) as events:
        return "".join(
            [e.delta.text for e in events if e.type == "content_block_delta"]  # type: ignore[union-attr]
        )


SYNC: dict[str, Callable[[tms.Client], str]] = {
    "messages.stream": _s_stream,
    "create(stream=True)": _s_raw,
}

SIZES = [None, 1, 7, 4096]
"""In memory, or as an iterator of pieces of this size."""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("entry", list(ASYNC))
async def test_async_stream_without_content_type(entry: str, size: int | None) -> None:
    transport = httpx.MockTransport(_handler(SSE, size=size, headers={}, sync=False))
    async with tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        with trio.fail_after(10):
            assert await ASYNC[entry](client) == "Hello without a type"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("entry", list(SYNC))
def test_sync_stream_without_content_type(entry: str, size: int | None) -> None:
    transport = httpx.MockTransport(_handler(SSE, size=size, headers={}, sync=True))
    with tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        assert SYNC[entry](client) == "Hello without a type"


TEXT_PLAIN = {"content-type": "text/plain; charset=utf-8"}
"""What ``httpx.Response(200, text=...)`` says when the handler sets no type."""


@pytest.mark.parametrize("size", [None, 1])
@pytest.mark.parametrize("entry", list(ASYNC))
async def test_async_stream_labelled_text_plain(entry: str, size: int | None) -> None:
    transport = httpx.MockTransport(_handler(SSE, size=size, headers=TEXT_PLAIN, sync=False))
    async with tms.AsyncClient(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        with trio.fail_after(10):
            assert await ASYNC[entry](client) == "Hello without a type"


@pytest.mark.parametrize("size", [None, 1])
@pytest.mark.parametrize("entry", list(SYNC))
def test_sync_stream_labelled_text_plain(entry: str, size: int | None) -> None:
    transport = httpx.MockTransport(_handler(SSE, size=size, headers=TEXT_PLAIN, sync=True))
    with tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=transport) as client:
        assert SYNC[entry](client) == "Hello without a type"


def test_a_text_mock_response_streams() -> None:
    """The mock as SDK users write it: ``text=`` and no headers."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=SSE.decode())

    with tms.Client(api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(handle)) as c:
        with c.messages.stream(**PARAMS) as stream:
            assert stream.get_final_text() == "Hello without a type"


REFUSED = [
    ("html-without-type", HTML, {}),
    ("html-as-text-plain", HTML, TEXT_PLAIN),
    ("proxy-text-error", b"upstream connect error or disconnect", {"content-type": "text/plain"}),
    ("json-without-type", JSON, {}),
    ("short-text-without-type", b"oops", {}),
    ("html-with-its-type", HTML, {"content-type": "text/html"}),
    ("sse-labelled-html", SSE, {"content-type": "text/html; charset=utf-8"}),
]


def _check_refusal(error: tms.StreamProtocolError, body: bytes, size: int | None) -> None:
    """The error names the type expected and previews the start of the body (as much
    as had arrived when the first line gave it away)."""
    assert "expected content-type text/event-stream" in str(error)
    assert error.body
    assert body.decode().startswith(error.body)
    if size is None:
        assert len(error.body) >= min(len(body), 8)


@pytest.mark.parametrize(("case", "body", "headers"), REFUSED, ids=[c[0] for c in REFUSED])
@pytest.mark.parametrize("size", [None, 1])
@pytest.mark.parametrize("entry", list(ASYNC))
async def test_async_not_an_event_stream_is_refused(
    entry: str, size: int | None, case: str, body: bytes, headers: dict[str, str]
) -> None:
    calls: list[int] = []
    inner = _handler(body, size=size, headers=headers, sync=False)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return inner(request)

    transport = httpx.MockTransport(handle)
    async with tms.AsyncClient(
        api_key=API_KEY, base_url=BASE_URL, transport=transport, max_retries=0
    ) as client:
        with trio.fail_after(10), pytest.raises(tms.StreamProtocolError) as info:
            await ASYNC[entry](client)
    _check_refusal(info.value, body, size)
    assert calls == [1]


@pytest.mark.parametrize(("case", "body", "headers"), REFUSED, ids=[c[0] for c in REFUSED])
@pytest.mark.parametrize("size", [None, 1])
@pytest.mark.parametrize("entry", list(SYNC))
def test_sync_not_an_event_stream_is_refused(
    entry: str, size: int | None, case: str, body: bytes, headers: dict[str, str]
) -> None:
    transport = httpx.MockTransport(_handler(body, size=size, headers=headers, sync=True))
    with tms.Client(
        api_key=API_KEY, base_url=BASE_URL, transport=transport, max_retries=0
    ) as client:
        with pytest.raises(tms.StreamProtocolError) as info:
            SYNC[entry](client)
    _check_refusal(info.value, body, size)


@pytest.mark.parametrize(
    ("head", "verdict"),
    [
        (b"event: message_start\n", True),
        (b"data: {}\n\n", True),
        (b": keep-alive\n", True),
        (b"\xef\xbb\xbf\r\n\nid: 1\n", True),
        (b"retry: 10\n", True),
        (b"even", None),
        (b"", None),
        (b"<html>", False),
        (b'{"type": "message"}', False),
        (b"event\n", False),
        (b"x" * 80, False),
        (b" data: x\n", False),
    ],
)
def test_sniff_event_stream(head: bytes, verdict: bool | None) -> None:
    assert sniff_event_stream(head) is verdict


def test_sniff_event_stream_is_the_same_byte_by_byte() -> None:
    """The verdict on a body fed in pieces is the verdict on its start."""
    for body in (SSE, HTML, JSON):
        verdicts: Iterator[Any] = (sniff_event_stream(body[:n]) for n in range(1, 80))
        decided = next(v for v in verdicts if v is not None)
        assert decided is (body is SSE)
