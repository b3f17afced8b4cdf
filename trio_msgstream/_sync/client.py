"""The synchronous client: the same interface as :class:`AsyncClient`, without async/await.

:class:`Client` sends requests with an ``httpx.Client``; its namespaces build them with
the sans-IO core and run them through the sync driver (``request``, ``stream``,
``raw``), which follows the same session rules as the trio runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from .._core.exceptions import CLIENT_CLOSED, ClientClosedError
from .._core.middleware.chain import validate_middleware
from .._core.middleware.request import APIRequest
from .._core.request.calls import Call
from .._core.request.client_config import BETA_MARK, ClientConfig, Namespace
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
from .._core.request.spec import RequestSpec
from .._core.schema.models import Message
from .._core.typed_json.structured import ParsedMessage, output_parser
from .._httpx.library import default_library, library_of
from .._httpx.transport import (
    TransportTimeouts,
    adopt_httpx_response,
    build_httpx_request,
    default_ssl_context,
    map_httpx_errors,
)
from . import fallback as _fallback_driver  # noqa: F401  (registers the sync driver)
from .files import Files
from .raw import SyncRawMessageStream
from .request import SyncPaginator, execute, new_session, open_body, open_checked, run_attempts
from .response import SyncHttpxWireResponse
from .stream import SyncMessageStream, SyncMessageStreamManager

if TYPE_CHECKING:
    from typing import Self, TypeAlias

    import httpx
    import httpx2

    SyncHttpClient: TypeAlias = httpx.Client | httpx2.Client
    SyncTransport: TypeAlias = httpx.BaseTransport | httpx2.BaseTransport

    from .._core.request.kwargs import CountTokensKwargs, MessageKwargs, StreamKwargs
    from .batches import Batches
    from .tool_runner import SyncToolRunnerKwargs, ToolRunner

__all__ = ["Client", "Messages", "Models", "SyncRawMessageStream"]

_S = TypeVar("_S", bound=SyncMessageStream)
_T = TypeVar("_T")
T = TypeVar("T")


class Messages:
    """``client.messages`` of the sync client: the async namespace's methods, sync."""

    def __init__(self, client: Client, *, beta: bool = False) -> None:
        self._client = client
        self._beta = beta
        self._batches: Batches | None = None

    @property
    def batches(self) -> Batches:
        """``client.messages.batches``: the Message Batches API (made, and its module
        imported, on first use)."""
        if self._batches is None:
            from .batches import Batches

            self._batches = Batches(self._client, beta=self._beta)
        return self._batches

    @batches.setter
    def batches(self, value: Batches) -> None:
        self._batches = value

    def _marked(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # Requests made through ``client.beta`` are marked for the middleware.
        return {**kwargs, BETA_MARK: True} if self._beta else kwargs

    @overload
    def stream(
        self, *, event_handler: type[_S], **kwargs: Unpack[StreamKwargs]
    ) -> SyncMessageStreamManager[_S]: ...

    @overload
    def stream(
        self, **kwargs: Unpack[StreamKwargs]
    ) -> SyncMessageStreamManager[SyncMessageStream]: ...

    def stream(
        self, *, event_handler: type[SyncMessageStream] = SyncMessageStream, **kwargs: Any
    ) -> SyncMessageStreamManager[Any]:
        """A stream: ``with client.messages.stream(...) as stream``.

        Takes the API's parameters and the request options, as the async client.
        Raises on entering, for an error status (after retries).
        """
        if not (isinstance(event_handler, type) and issubclass(event_handler, SyncMessageStream)):
            raise TypeError(
                f"event_handler must be a SyncMessageStream subclass, not {event_handler!r}"
            )
        spec = self._client.build_spec(self._marked(kwargs), stream=True)
        return SyncMessageStreamManager(self._client, event_handler, spec, output_parser(kwargs))

    @overload
    def create(
        self, *, stream: Literal[True], **kwargs: Unpack[MessageKwargs]
    ) -> SyncRawMessageStream: ...

    @overload
    def create(
        self,
        *,
        output_format: type[_T],
        stream: Literal[False] = ...,
        **kwargs: Unpack[MessageKwargs],
    ) -> ParsedMessage[_T]: ...

    @overload
    def create(
        self, *, stream: Literal[False] = ..., **kwargs: Unpack[MessageKwargs]
    ) -> Message: ...

    def create(
        self, *, stream: bool = False, output_format: Any = None, **kwargs: Any
    ) -> SyncRawMessageStream | Message:
        """Send a request. With ``stream=True``, return the raw event stream
        (``with client.messages.create(..., stream=True) as events``); otherwise wait
        for and return the whole message."""
        client = self._client
        request = message_create(
            client, self._marked(kwargs), stream=stream, output_format=output_format
        )
        if not stream:
            return request.reply(execute(client, request.call(), params=request.params))
        session = new_session(client, request.spec, "raw", params=request.params)
        response = run_attempts(session, lambda: open_checked(client, session))
        return SyncRawMessageStream(response, session)

    def parse(
        self, *, output_format: type[_T], **kwargs: Unpack[MessageKwargs]
    ) -> ParsedMessage[_T]:
        """``create()`` for a reply of type ``output_format``, as the async client's
        :meth:`~trio_msgstream._trio.messages.AsyncMessages.parse`."""
        return parsed_reply(self.create(output_format=output_format, **kwargs), output_format)

    @overload
    def tool_runner(
        self, *, stream: Literal[True], **kwargs: Unpack[SyncToolRunnerKwargs]
    ) -> ToolRunner[SyncMessageStream]: ...

    @overload
    def tool_runner(
        self, *, stream: Literal[False] = ..., **kwargs: Unpack[SyncToolRunnerKwargs]
    ) -> ToolRunner[ParsedMessage[Any]]: ...

    def tool_runner(
        self, *, stream: bool = False, **kwargs: Unpack[SyncToolRunnerKwargs]
    ) -> ToolRunner[Any]:
        """An agent loop that runs the model's (sync) tool calls until it stops
        asking: ``tools=[...]``, ``max_iterations``, ``stream``, ``run_tools_eagerly``,
        ``max_concurrency`` (threads), ``tool_timeout``, and the API's parameters."""
        from .tool_runner import ToolRunner

        return ToolRunner(self._client, stream=stream, **self._marked(dict(kwargs)))

    def count_tokens(self, **kwargs: Unpack[CountTokensKwargs]) -> MessageTokensCount:
        """Count the input tokens of a request without sending it to the model."""
        return execute(self._client, count_tokens_call(self._client, kwargs))


class Models:
    """``client.models`` of the sync client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, **kwargs: Unpack[ModelListParams]) -> SyncPaginator[ModelPage, ModelInfo]:
        """Every model, newest first (``for model in client.models.list()``;
        ``.pages()`` for the pages). Requests are sent as the iteration goes."""
        return SyncPaginator(self._client, models_list_call(self._client, kwargs))

    def retrieve(self, model_id: str, **kwargs: Unpack[ModelRetrieveParams]) -> ModelInfo:
        """One model by id or alias."""
        return execute(self._client, models_retrieve_call(self._client, model_id, kwargs))


class Beta:
    """``client.beta`` of the sync client."""

    def __init__(self, client: Client) -> None:
        self.messages: Messages = Messages(client, beta=True)
        self.models: Models = Models(client)
        self.files: Files = Files(client)
        """``client.beta.files``: the Files API."""


class Client(ClientConfig["SyncHttpClient", "SyncTransport"]):
    """The synchronous client of the Messages API (also exported as ``Anthropic``).

    The same interface as :class:`~trio_msgstream.AsyncClient` without async/await::

        client = Client()
        with client.messages.stream(model=..., max_tokens=..., messages=...) as stream:
            for text in stream.text_stream:
                print(text, end="", flush=True)
        message = stream.get_final_message()

    Takes the same arguments as :class:`~trio_msgstream.AsyncClient`, with an
    ``httpx.Client`` or ``httpx2.Client`` as ``http_client`` and an
    ``httpx.BaseTransport`` or ``httpx2.BaseTransport`` as ``transport``. See
    :mod:`trio_msgstream._sync.stream` for how ``content_idle`` and ``deadline`` are
    enforced without a cancel scope.

    Resource handling:
        ``with client:`` or ``client.close()`` closes the httpx client the client
        created (not one passed in as ``http_client``).
    """

    messages: Namespace[Messages] = Namespace(Messages)
    """``client.messages``: stream, create, count_tokens, batches, ..."""
    models: Namespace[Models] = Namespace(Models)
    """``client.models``: list and retrieve."""
    beta: Namespace[Beta] = Namespace(Beta)
    """``client.beta``: the same surfaces with ``betas=[...]``."""

    def _new_http_client(self, transport: SyncTransport | None) -> SyncHttpClient:
        lib = library_of(transport) if transport is not None else None
        http = (lib or default_library()).module
        client: SyncHttpClient = http.Client(
            transport=transport, verify=default_ssl_context(), timeout=None
        )
        return client

    def _accept_middleware(self, entries: Iterable[Any]) -> tuple[Any, ...]:
        return validate_middleware(entries, "sync")

    def _adopt_response(
        self, response: object, request: APIRequest
    ) -> SyncHttpxWireResponse | None:
        """A middleware's answer that is an ``httpx.Response``, as a wire response."""
        adopted = adopt_httpx_response(response, request, self.base_url)
        return SyncHttpxWireResponse(adopted) if adopted is not None else None

    def _send(self, spec: RequestSpec, limits: tuple[float | None, ...]) -> SyncHttpxWireResponse:
        if self._http.is_closed:
            raise ClientClosedError(CLIENT_CLOSED)
        connect, read, write, pool = limits
        request = self._wire_request(spec, (connect, read, write, pool))
        with map_httpx_errors(request=request):
            response = self._http.send(request, stream=True)
        return SyncHttpxWireResponse(response, held=self._held_secrets)

    def _wire_request(self, spec: RequestSpec, timeout: TransportTimeouts) -> Any:
        """The httpx request that goes on the wire for ``spec``: the last step before
        the send (the cloud platform clients rewrite and sign it here)."""
        return build_httpx_request(self._http, self.base_url, spec, timeout)

    def _execute(self, call: Call[T]) -> T:
        """Send a call (retries, timeouts, typed errors) and return its parsed answer."""
        return execute(self, call)

    def _open_body(
        self, spec: RequestSpec, *, operation: str = "body"
    ) -> AbstractContextManager[Iterator[bytes]]:
        """``with client._open_body(spec) as chunks``: a body read as it arrives."""
        return open_body(self, spec, operation=operation)

    def close(self) -> None:
        """Close the httpx client, if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
