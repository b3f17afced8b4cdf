"""The async client's namespaces: ``messages``, ``models`` and ``beta``.

Thin trio drivers: each method builds its request with the sans-IO core
(``ClientConfig.build_spec``, ``_core.endpoints``) and runs it through the trio
runtime (a stream producer, a raw stream, or :func:`execute`). The sync client's
namespaces are the same methods without ``await``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from .._core.config import DEFAULT_MAX_BUFFER_SIZE
from .._core.request.client_config import BETA_MARK
from .._core.request.endpoints import (
    MessageTokensCount,
    ModelInfo,
    ModelListParams,
    ModelPage,
    ModelRetrieveParams,
    count_tokens_call,
    message_create,
    models_list_call,
    models_retrieve_call,
    parsed_reply,
)
from .._core.schema.models import Message
from .._core.typed_json.structured import ParsedMessage
from .api import MessageStreamManager
from .files import AsyncFiles
from .pages import AsyncPaginator
from .raw import RawMessageStream, open_raw_stream
from .request import execute
from .stream import MessageStream

if TYPE_CHECKING:
    from .._core.request.kwargs import CountTokensKwargs, MessageKwargs, StreamKwargs
    from .batches import AsyncBatches
    from .tool_runner import AsyncToolRunner, AsyncToolRunnerKwargs

__all__ = ["AsyncBeta", "AsyncMessages", "AsyncModels"]

_S = TypeVar("_S", bound=MessageStream)
_T = TypeVar("_T")


class AsyncMessages:
    """``client.messages`` (and ``client.beta.messages``): streams, create, tokens.

    Every method takes the API's parameters as keyword arguments (``betas=[...]``
    goes to the ``anthropic-beta`` header) and the request options ``timeout``,
    ``max_retries``, ``extra_headers``, ``extra_query``, ``extra_body``.
    """

    def __init__(self, client: Any, *, beta: bool = False) -> None:
        self._client = client
        self._beta = beta
        self._batches: AsyncBatches | None = None

    @property
    def batches(self) -> AsyncBatches:
        """``client.messages.batches``: the Message Batches API (made, and its module
        imported, on first use)."""
        if self._batches is None:
            from .batches import AsyncBatches

            self._batches = AsyncBatches(self._client, beta=self._beta)
        return self._batches

    @batches.setter
    def batches(self, value: AsyncBatches) -> None:
        self._batches = value

    def _marked(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # Requests made through ``client.beta`` are marked for the middleware.
        return {**kwargs, BETA_MARK: True} if self._beta else kwargs

    @overload
    def stream(
        self, *, event_handler: type[_S], max_buffer_size: int = ..., **kwargs: Unpack[StreamKwargs]
    ) -> MessageStreamManager[_S]: ...

    @overload
    def stream(
        self, *, max_buffer_size: int = ..., **kwargs: Unpack[StreamKwargs]
    ) -> MessageStreamManager[MessageStream]: ...

    def stream(
        self,
        *,
        event_handler: type[MessageStream] = MessageStream,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        **kwargs: Any,
    ) -> MessageStreamManager[Any]:
        """A stream with a nursery of its own: ``async with client.messages.stream(...)``.

        Takes the same arguments as :func:`~trio_msgstream.open_message_stream`.
        """
        return MessageStreamManager(
            self._client,
            dict(
                event_handler=event_handler, max_buffer_size=max_buffer_size, **self._marked(kwargs)
            ),
        )

    @overload
    async def create(
        self, *, stream: Literal[True], **kwargs: Unpack[MessageKwargs]
    ) -> RawMessageStream: ...

    @overload
    async def create(
        self,
        *,
        output_format: type[_T],
        stream: Literal[False] = ...,
        **kwargs: Unpack[MessageKwargs],
    ) -> ParsedMessage[_T]: ...

    @overload
    async def create(
        self, *, stream: Literal[False] = ..., **kwargs: Unpack[MessageKwargs]
    ) -> Message: ...

    async def create(
        self, *, stream: bool = False, output_format: Any = None, **kwargs: Any
    ) -> RawMessageStream | Message:
        """Send a request. With ``stream=True``, return the raw event stream
        (``async with await client.messages.create(..., stream=True) as events``);
        otherwise wait for and return the whole message."""
        request = message_create(
            self._client, self._marked(kwargs), stream=stream, output_format=output_format
        )
        if stream:
            return await open_raw_stream(self._client, request.spec, params=request.params)
        message = await execute(self._client, request.call(), params=request.params)
        return request.reply(message)

    async def parse(
        self, *, output_format: type[_T], **kwargs: Unpack[MessageKwargs]
    ) -> ParsedMessage[_T]:
        """``create()`` for a reply of type ``output_format``: a
        :class:`~trio_msgstream.ParsedMessage` whose ``parsed_output`` is the object.

        Raises:
            OutputValidationError: The reply does not validate as ``output_format``.
            OutputRefusedError: The model refused (``stop_reason == "refusal"``).
            OutputTruncatedError: The reply was cut by ``max_tokens``.
        """
        return parsed_reply(await self.create(output_format=output_format, **kwargs), output_format)

    @overload
    def tool_runner(
        self, *, stream: Literal[True], **kwargs: Unpack[AsyncToolRunnerKwargs]
    ) -> AsyncToolRunner[MessageStream]: ...

    @overload
    def tool_runner(
        self, *, stream: Literal[False] = ..., **kwargs: Unpack[AsyncToolRunnerKwargs]
    ) -> AsyncToolRunner[ParsedMessage[Any]]: ...

    def tool_runner(
        self, *, stream: bool = False, **kwargs: Unpack[AsyncToolRunnerKwargs]
    ) -> AsyncToolRunner[Any]:
        """An agent loop that runs the model's tool calls until it stops asking
        (see :class:`~trio_msgstream._trio.tool_runner.AsyncToolRunner` and the
        tool runner docs): ``tools=[...]``, ``max_iterations``, ``stream``,
        ``run_tools_eagerly``, ``max_concurrency``, ``tool_timeout``, ``fan_out``, and
        the API's parameters."""
        from .tool_runner import AsyncToolRunner

        return AsyncToolRunner(self._client, stream=stream, **self._marked(dict(kwargs)))

    async def count_tokens(self, **kwargs: Unpack[CountTokensKwargs]) -> MessageTokensCount:
        """Count the input tokens of a request (``model``, ``messages``, ``system``,
        ``tools``, ...) without sending it to the model."""
        return await execute(self._client, count_tokens_call(self._client, kwargs))


class AsyncModels:
    """``client.models``: the models the API offers."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def list(self, **kwargs: Unpack[ModelListParams]) -> AsyncPaginator[ModelPage, ModelInfo]:
        """Every model, newest first (``async for model in client.models.list()``;
        ``.pages()`` for the pages). Requests are sent as the iteration goes."""
        return AsyncPaginator(self._client, models_list_call(self._client, kwargs))

    async def retrieve(self, model_id: str, **kwargs: Unpack[ModelRetrieveParams]) -> ModelInfo:
        """One model by id or alias."""
        return await execute(self._client, models_retrieve_call(self._client, model_id, kwargs))


class AsyncBeta:
    """``client.beta``: the same surfaces, for requests that name ``betas=[...]``."""

    def __init__(self, client: Any) -> None:
        self.messages: AsyncMessages = AsyncMessages(client, beta=True)
        self.models: AsyncModels = AsyncModels(client)
        self.files: AsyncFiles = AsyncFiles(client)
        """``client.beta.files``: the Files API."""
