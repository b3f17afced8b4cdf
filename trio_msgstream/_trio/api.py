"""Entry points of the trio runtime: ``open_message_stream`` and friends."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

import trio
from typing_extensions import Unpack

from .._core.config import DEFAULT_MAX_BUFFER_SIZE
from .._core.exceptions import APIError
from .._core.typed_json.structured import OutputTracker, output_parser
from .stream import MessageStream
from .wire import WireClient

if TYPE_CHECKING:
    from .._core.request.kwargs import StreamKwargs

__all__ = ["MessageStreamManager", "open_message_stream", "start_message_stream"]

_S = TypeVar("_S", bound=MessageStream)


@overload
async def start_message_stream(
    nursery: trio.Nursery,
    client: WireClient,
    *,
    event_handler: type[_S],
    max_buffer_size: int = ...,
    **kwargs: Unpack[StreamKwargs],
) -> _S: ...


@overload
async def start_message_stream(
    nursery: trio.Nursery,
    client: WireClient,
    *,
    max_buffer_size: int = ...,
    **kwargs: Unpack[StreamKwargs],
) -> MessageStream: ...


async def start_message_stream(
    nursery: trio.Nursery,
    client: WireClient,
    *,
    event_handler: type[MessageStream] = MessageStream,
    max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    **kwargs: Any,
) -> MessageStream:
    """Start a stream's producer in ``nursery`` and return the stream.

    Returns once the response's status and content type have been checked, so an
    error status raises here. The caller must close the stream
    (``await stream.aclose()``); :func:`open_message_stream` does that for you.
    Takes the same arguments as :func:`open_message_stream`.

    Raises:
        APIStatusError: The API answered with an error status (after retries).
        APIConnectionError: The request could not be sent (after retries).
        StreamProtocolError: The response is not an event stream.
    """
    if not (isinstance(event_handler, type) and issubclass(event_handler, MessageStream)):
        raise TypeError(f"event_handler must be a MessageStream subclass, not {event_handler!r}")
    spec = client.build_spec(kwargs, stream=True)
    stream = event_handler(client, spec, max_buffer_size=max_buffer_size)
    parser = output_parser(kwargs)
    if parser is not None:
        stream._consumer.output = OutputTracker(parser)
    try:
        await nursery.start(stream._producer.run)
    except APIError as exc:
        # trio before 0.34 re-raises a start failure ``from None``, which drops the
        # error's cause (the last failed attempt, the httpx error): put it back.
        failed = stream._producer.start_failure
        if failed is not None and failed[0] is exc and exc.__cause__ is None:
            exc.__cause__ = failed[1]
        # The stream object exists, so its end hooks run (on_exception, on_end),
        # as for a stream that fails later; then the error comes out as itself.
        await stream._fail_before_start(exc)
        raise
    return stream


async def _start(nursery: trio.Nursery, client: WireClient, kwargs: dict[str, Any]) -> Any:
    # Arguments that were checked by the public signature that collected them.
    start: Any = start_message_stream
    return await start(nursery, client, **kwargs)


@overload
def open_message_stream(
    nursery: trio.Nursery,
    client: WireClient,
    *,
    event_handler: type[_S],
    max_buffer_size: int = ...,
    **kwargs: Unpack[StreamKwargs],
) -> AbstractAsyncContextManager[_S]: ...


@overload
def open_message_stream(
    nursery: trio.Nursery,
    client: WireClient,
    *,
    max_buffer_size: int = ...,
    **kwargs: Unpack[StreamKwargs],
) -> AbstractAsyncContextManager[MessageStream]: ...


def open_message_stream(
    nursery: trio.Nursery,
    client: WireClient,
    *,
    event_handler: type[MessageStream] = MessageStream,
    max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    **kwargs: Any,
) -> AbstractAsyncContextManager[Any]:
    """Stream a Messages API response; the producer task runs in ``nursery``.

    Example::

        async with trio.open_nursery() as nursery:
            async with open_message_stream(
                nursery, client, model="claude-sonnet-4-6", max_tokens=1024,
                messages=[{"role": "user", "content": "Say hello there!"}],
            ) as stream:
                async for text in stream.text_stream:
                    print(text, end="", flush=True)
            message = await stream.get_final_message()

    Args:
        nursery: Where the producer task runs. The producer never raises into it: a
            failing stream does not cancel the nursery's other tasks.
        client: An :class:`~trio_msgstream.AsyncClient`.
        event_handler: A :class:`MessageStream` subclass whose ``on_*`` methods handle
            events.
        max_buffer_size: Network chunks the producer may read ahead of the consumer.
        **kwargs: Messages API parameters (``model``, ``max_tokens``, ``messages``,
            ``system``, ``tools``, ``thinking``, ...), passed through as given, and the
            request options every entry point takes: ``timeout`` (a
            :class:`~trio_msgstream.Timeout` or seconds), ``max_retries``,
            ``extra_headers``, ``extra_query``, ``extra_body``.

    Raises:
        APIStatusError: On entering, for an error status (after retries).

    Resource handling:
        Leaving the ``async with`` closes the stream: the producer is cancelled and
        waited for, the connection released, ``on_end`` run once. A finished stream
        stays readable after the block (``get_final_message()``).
    """
    return _OpenedStream(nursery, client, event_handler, max_buffer_size, kwargs)


class _OpenedStream:
    """What :func:`open_message_stream` returns: starts the stream on entering and
    closes it on leaving. (A class rather than an ``@asynccontextmanager`` generator:
    a stream's ``async with`` then keeps no generator, frame and argument dict.)"""

    __slots__ = ("_args", "_stream")

    def __init__(
        self,
        nursery: trio.Nursery,
        client: WireClient,
        event_handler: type[MessageStream],
        max_buffer_size: int,
        kwargs: dict[str, Any],
    ) -> None:
        self._args: tuple[Any, ...] | None = (
            nursery,
            client,
            event_handler,
            max_buffer_size,
            kwargs,
        )
        self._stream: MessageStream | None = None

    async def __aenter__(self) -> Any:
        args, self._args = self._args, None
        if args is None:
            raise RuntimeError("open_message_stream(...) can be entered once")
        nursery, client, event_handler, max_buffer_size, kwargs = args
        del args
        self._stream = await start_message_stream(
            nursery,
            client,
            event_handler=event_handler,
            max_buffer_size=max_buffer_size,
            **kwargs,
        )
        return self._stream

    async def __aexit__(self, *exc_info: object) -> None:
        stream = self._stream
        if stream is not None:
            await stream.aclose()


class MessageStreamManager(Generic[_S]):
    """What ``client.messages.stream(...)`` returns: ``async with`` it for a stream.

    Like :func:`open_message_stream` but with a nursery of its own. An exception from
    the ``async with`` body, or from the stream, comes out as itself, never wrapped in
    an ExceptionGroup.
    """

    def __init__(self, client: WireClient, kwargs: dict[str, Any]) -> None:
        self._client = client
        self._kwargs = kwargs
        self._nursery_manager: Any = None
        self._stream: _S | None = None

    async def __aenter__(self) -> _S:
        if self._nursery_manager is not None:
            raise RuntimeError("a MessageStreamManager can be entered once")
        manager = trio.open_nursery()
        nursery = await manager.__aenter__()
        self._nursery_manager = manager
        try:
            stream = cast(_S, await _start(nursery, self._client, self._kwargs))
            self._stream = stream
        except BaseException:
            # The producer raised before starting, so the nursery is empty; leave it
            # cleanly and let the error out as itself.
            await manager.__aexit__(None, None, None)
            raise
        return stream

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the stream and leave the nursery. Idempotent."""
        manager, self._nursery_manager = self._nursery_manager, None
        if manager is None:
            return
        try:
            if self._stream is not None:
                await self._stream.aclose()
        finally:
            # The producer has finished and never raises, so this exits cleanly; the
            # body's exception (if any) propagates from __aexit__ unwrapped. The one
            # thing that can come out of the nursery is ``trio.Cancelled`` from an
            # enclosing scope (the producer task is cancelled too): let it out as
            # itself, not as a group of one.
            try:
                await manager.__aexit__(None, None, None)
            except BaseExceptionGroup as group:
                raise _sole_cancelled(group) or group from None


def _sole_cancelled(group: BaseExceptionGroup[BaseException]) -> trio.Cancelled | None:
    """The first ``trio.Cancelled`` of a group holding nothing else, else ``None``."""
    matched, rest = group.split(trio.Cancelled)
    if rest is not None or matched is None:
        return None
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, trio.Cancelled)
    return leaf
