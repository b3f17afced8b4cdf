"""The async client: configuration, the httpx client it owns or borrows, ``messages``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx
import trio

from .._core.client_config import ClientConfig
from .._core.config import (
    DEFAULT_MAX_BUFFER_SIZE,
    DEFAULT_MAX_RETRIES,
    NOT_GIVEN,
    NotGiven,
    TimeoutTypes,
)
from .._core.exceptions import APIError, APITimeoutError, StreamProtocolError
from .._core.models import Message
from .._core.request import RequestSpec
from .._trio.api import MessageStreamManager
from .._trio.raw import RawMessageStream, open_raw_stream
from .._trio.stream import MessageStream, close_response, raise_for_status, run_with_retries
from .._trio.wire import WireResponse
from .transport import (
    HttpxResponseView,
    build_httpx_request,
    decoded_pieces,
    httpx_timeout,
    map_httpx_errors,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncClient", "AsyncMessages"]

_S = TypeVar("_S", bound=MessageStream)


class AsyncClient(ClientConfig):
    """The Trio client of the Messages API (also exported as ``AsyncAnthropic``).

    Args:
        api_key: Defaults to ``ANTHROPIC_API_KEY``.
        auth_token: A bearer token, instead of or beside the key.
        base_url: Defaults to ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``.
        timeout: A :class:`Timeout`, or seconds for every phase.
        max_retries: Retry budget of each request (default 2).
        default_headers: Sent with every request.
        http_client: An ``httpx.AsyncClient`` to use (its transport, proxies, limits);
            you keep ownership and close it yourself.
        transport: An ``httpx.AsyncBaseTransport`` for the client this one creates
            (ignored with ``http_client``).

    Resource handling:
        ``async with client:`` or ``await client.aclose()`` closes the httpx client
        the client created (not one passed in as ``http_client``).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            auth_token=auth_token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=None)
        self.messages: AsyncMessages = AsyncMessages(self)

    @property
    def http_client(self) -> httpx.AsyncClient:
        return self._http

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncClient:
        """A client sharing this one's connections, with other defaults."""
        return AsyncClient(**self._settings(timeout, max_retries), http_client=self._http)

    async def open_response(self, spec: RequestSpec) -> WireResponse:
        """Send ``spec``; return once the status line and headers are in."""
        request = build_httpx_request(self._http, self.base_url, spec, httpx_timeout(spec.timeout))
        with map_httpx_errors(request=request):
            response = await self._http.send(request, stream=True)
        return HttpxWireResponse(response)

    async def aclose(self) -> None:
        """Close the httpx client, if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class AsyncMessages:
    """``client.messages``: ``stream()`` and ``create()``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def stream(
        self,
        *,
        event_handler: type[_S] = MessageStream,  # type: ignore[assignment]
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> MessageStreamManager[_S]:
        """A stream with a nursery of its own: ``async with client.messages.stream(...)``.

        Takes the same arguments as :func:`~trio_msgstream.open_message_stream`.
        """
        return MessageStreamManager(
            self._client,
            dict(
                event_handler=event_handler,
                max_buffer_size=max_buffer_size,
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                **params,
            ),
        )

    @overload
    async def create(
        self,
        *,
        stream: Literal[True],
        timeout: TimeoutTypes | NotGiven = ...,
        max_retries: int | NotGiven = ...,
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, str] | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
        **params: Any,
    ) -> RawMessageStream: ...

    @overload
    async def create(
        self,
        *,
        stream: Literal[False] = ...,
        timeout: TimeoutTypes | NotGiven = ...,
        max_retries: int | NotGiven = ...,
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, str] | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
        **params: Any,
    ) -> Message: ...

    async def create(
        self,
        *,
        stream: bool = False,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> RawMessageStream | Message:
        """Send a request. With ``stream=True``, return the raw event stream
        (``async with await client.messages.create(..., stream=True) as events``);
        otherwise wait for and return the whole message."""
        spec = self._client.build_spec(
            params,
            stream=stream,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
        if stream:
            return await open_raw_stream(self._client, spec)
        return await _create_message(self._client, spec)


async def _create_message(client: AsyncClient, spec: RequestSpec) -> Message:
    deadline = spec.timeout.deadline

    async def attempt() -> Message:
        response = await client.open_response(spec)
        try:
            await raise_for_status(response)
            body = await response.read_bounded(1 << 30)
        finally:
            await close_response(response)
        try:
            return Message.model_validate_json(body)
        except ValueError as exc:
            raise StreamProtocolError(
                f"the response is not a message: {exc}", body=body[:200].decode("utf-8", "replace")
            ) from None

    def keep(exc: APIError) -> APIError:
        return exc

    if deadline is None:
        return await run_with_retries(
            spec, attempt, before_attempt=lambda: None, may_retry=lambda: True, fail=keep
        )
    with trio.move_on_after(deadline):
        return await run_with_retries(
            spec, attempt, before_attempt=lambda: None, may_retry=lambda: True, fail=keep
        )
    raise APITimeoutError(f"deadline timeout of {deadline} s", which="deadline")


_FINISH_TIMEOUT = 5.0
"""Seconds allowed to release a response's connection and finish its body reader."""


class HttpxWireResponse(HttpxResponseView):
    """An ``httpx.Response`` opened with ``stream=True``, seen through ``WireResponse``.

    Every read and close is inside :func:`map_httpx_errors`; the body is decoded in
    bounded steps (see the ``transport`` module).
    """

    __slots__ = ()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        decoder = self._decoder()
        chunks = self._response.aiter_raw()
        try:
            with map_httpx_errors(request=self._response.request, in_body=True):
                if decoder is None:  # the usual case: no per-chunk work at all
                    async for raw in chunks:
                        yield raw
                    return
                async for raw in chunks:
                    for piece in decoded_pieces(decoder, raw):
                        yield piece
                decoder.finish()
        finally:
            await self._finish(chunks)

    async def read_bounded(self, limit: int) -> bytes:
        """Up to ``limit`` decoded bytes of the body, secrets redacted (error previews)."""
        collector = self._preview_collector(limit)
        chunks = self.iter_chunks()
        try:
            async for piece in chunks:
                if collector.add(piece):
                    break
        except StreamProtocolError:
            pass  # a preview keeps what decodes
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        return collector.result()

    async def read_body(self, limit: int) -> bytes:
        """The whole decoded body (non-streaming responses), joined once.

        Raises:
            StreamProtocolError: The body is longer than ``limit`` bytes, or does not
                decode.
            APIConnectionError: The connection failed while reading.
        """
        collector = self._body_collector(limit)
        chunks = self.iter_chunks()
        try:
            async for piece in chunks:
                collector.add(piece)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        return collector.result()

    async def _finish(self, chunks: AsyncIterator[bytes]) -> None:
        # httpx reads the body through a chain of nested async generators (httpx,
        # then httpcore). Closing the outermost one does not close the inner ones, and
        # trio warns (ResourceWarning) when an unfinished one is garbage collected. So
        # close the response first (that closes or releases the connection), then
        # drive the chain until it ends: every generator in it then finishes now,
        # deterministically, instead of at garbage collection.
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + _FINISH_TIMEOUT
            try:
                await self._response.aclose()
            except Exception:  # the connection is discarded either way
                pass
            try:
                while True:
                    await chunks.__anext__()
            except StopAsyncIteration:
                pass
            except Exception:  # the closed connection's error: expected here
                pass
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        try:
            with map_httpx_errors(request=self._response.request):
                await self._response.aclose()
        except APIError:
            pass  # closing discards the connection anyway; there is nothing to report
