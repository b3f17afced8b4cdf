"""The synchronous client: the same interface as :class:`AsyncClient`, without async/await.

Theory of operation: there is no background task and no thread. The consumer's own
thread pulls the response body from an ``httpx.Client``, one network chunk at a time,
and feeds it to the same sans-IO :class:`~trio_msgstream.StreamEngine` the trio runtime
uses (one decoder, one accumulator, one set of typed errors). Retries follow the same
rules, asked of the same ``_retry`` functions: a failure is retried only while nothing
but pings and ``message_start`` has reached the consumer (``message_start`` is held
back until the first content event, as the trio producer does).

Timeouts. ``connect``, ``write`` and ``pool`` go to httpx. ``content_idle`` and
``deadline`` have no cancel scope to ride on in synchronous code, so they are checked
with :func:`time.monotonic` whenever a network chunk arrives, and when httpx's read
timeout fires. To make sure that happens in time, the httpx read timeout of each
request is clamped to the remaining ``deadline`` and to ``content_idle``. Consequences
(documented differences from the async client):

- a stream that keeps sending pings is noticed as idle at the first ping after the
  ``content_idle`` budget ran out, not at the exact instant;
- while waiting for the response headers, ``content_idle`` also bounds the wait (the
  clamped read timeout applies there too); such a timeout is reported as
  ``which="content_idle"``.

Ctrl-C: a :class:`KeyboardInterrupt` raised while reading closes the response (and so
the connection) on its way out; leaving the ``with`` block closes the stream too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import httpx

from .._core.client_config import ClientConfig
from .._core.config import (
    DEFAULT_MAX_RETRIES,
    NOT_GIVEN,
    NotGiven,
    Timeout,
    TimeoutTypes,
)
from .._core.engine import StreamEngine
from .._core.events import (
    MessageStopEvent,
    MessageStreamEvent,
    RawMessageStreamEvent,
    TextEvent,
)
from .._core.exceptions import (
    APIError,
    APITimeoutError,
    IncompleteStreamError,
    MsgStreamError,
    StreamProtocolError,
)
from .._core.handlers import handler_call, is_content, on_text_takes_snapshot, overridden_handlers
from .._core.models import ContentBlock, Message, TextBlock
from .._core.request import RequestSpec
from .._core.retry import error_headers, is_retryable, retry_delay
from .._core.status import MAX_ERROR_BODY, status_error
from .._httpx.transport import SyncHttpxWireResponse, build_httpx_request, map_httpx_errors

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "Client",
    "Messages",
    "SyncMessageStream",
    "SyncMessageStreamManager",
    "SyncRawMessageStream",
]

_S = TypeVar("_S", bound="SyncMessageStream")

_EPSILON = 0.001
"""Seconds of slack when deciding whether a clamped read timeout meant idle/deadline."""


# --------------------------------------------------------------------------- timing


class _Budget:
    """The ``content_idle`` and ``deadline`` bookkeeping of one request (monotonic)."""

    __slots__ = ("deadline_at", "timeout")

    def __init__(self, timeout: Timeout) -> None:
        self.timeout: Timeout = timeout
        self.deadline_at: float = (
            time.monotonic() + timeout.deadline if timeout.deadline is not None else math.inf
        )

    def remaining(self) -> float:
        return self.deadline_at - time.monotonic()

    def deadline_error(self) -> APITimeoutError:
        return APITimeoutError(
            f"the request's deadline of {self.timeout.deadline} s passed", which="deadline"
        )

    def check_deadline(self) -> None:
        if self.remaining() <= 0:
            raise self.deadline_error()

    def idle_error(self) -> APITimeoutError:
        return APITimeoutError(
            f"no event but pings for {self.timeout.content_idle} s (content_idle timeout)",
            which="content_idle",
        )

    def httpx_timeout(self, *, streaming: bool) -> httpx.Timeout:
        """The httpx limits of the next request: clamped to what is left of the budget."""
        timeout = self.timeout
        remaining = self.remaining() if timeout.deadline is not None else None

        def clamp(value: float | None, *others: float | None) -> float | None:
            candidates = [v for v in (value, *others) if v is not None]
            return max(min(candidates), 0.0) if candidates else None

        idle = timeout.content_idle if streaming else None
        return httpx.Timeout(
            connect=clamp(timeout.connect, remaining),
            read=clamp(timeout.read, remaining, idle),
            write=clamp(timeout.write, remaining),
            pool=clamp(timeout.pool, remaining),
        )

    def explain(self, exc: APIError, *, streaming: bool) -> APIError:
        """Re-label an httpx timeout that really was the deadline or the idle budget."""
        if not isinstance(exc, APITimeoutError) or exc.which == "deadline":
            return exc
        if self.remaining() <= _EPSILON:
            error = self.deadline_error()
        elif (
            streaming
            and exc.which == "read"
            and self.timeout.content_idle is not None
            and (self.timeout.read is None or self.timeout.content_idle <= self.timeout.read)
        ):
            error = self.idle_error()
        else:
            return exc
        error.request = exc.request
        error.__cause__ = exc.__cause__
        return error


# --------------------------------------------------------------------------- wire


def _check_status(response: SyncHttpxWireResponse) -> None:
    if not 200 <= response.status_code < 300:
        body = response.read_bounded(MAX_ERROR_BODY)
        raise status_error(
            response.status_code,
            body,
            request_id=response.request_id,
            response=response.raw,
            request=response.request,
        )


def _check_sse(response: SyncHttpxWireResponse) -> None:
    _check_status(response)
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("text/event-stream"):
        body = response.read_bounded(1024)
        raise StreamProtocolError(
            f"expected content-type text/event-stream, got {content_type!r}",
            request=response.request,
            body=body.decode("utf-8", "replace"),
        )


def _backoff(spec: RequestSpec, retries: int, error: APIError, budget: _Budget) -> None:
    """Sleep before retry ``retries + 1``, never past the deadline."""
    delay = retry_delay(retries, headers=error_headers(error))
    if delay >= budget.remaining():
        time.sleep(max(budget.remaining(), 0.0))
        raise budget.deadline_error() from error
    time.sleep(delay)


_T = TypeVar("_T")


def _run_with_retries(
    spec: RequestSpec,
    budget: _Budget,
    attempt: Callable[[], _T],
    *,
    fail: Callable[[APIError], APIError] = lambda exc: exc,
    may_retry: Callable[[], bool] = lambda: True,
    streaming: bool,
) -> _T:
    """Call ``attempt`` until it succeeds or the retry budget of ``spec`` is spent."""
    retries = 0
    while True:
        budget.check_deadline()
        try:
            return attempt()
        except APIError as exc:
            error = fail(budget.explain(exc, streaming=streaming))
            if retries >= spec.max_retries or not may_retry() or not is_retryable(error):
                raise error from exc.__cause__
            _backoff(spec, retries, error, budget)
            retries += 1


# --------------------------------------------------------------------------- streams


class SyncMessageStream:
    """A streaming Messages API response, read synchronously.

    Made by ``client.messages.stream(...)`` on a :class:`Client`; not constructed
    directly. The synchronous twin of :class:`~trio_msgstream.MessageStream`: iterate
    it for every event, use :attr:`text_stream` for the text, or call
    :meth:`get_final_message`. Subclass it and override the ``on_*`` methods (plain
    ``def``) to handle events; pass the class as ``event_handler=``. Handlers run in
    the thread that consumes the stream, in event order.

    The stream is meant to be read by one thread. :meth:`close` may be called from
    another thread to abort a read in progress.
    """

    _on_text_takes_snapshot = True
    _overridden: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._overridden = overridden_handlers(cls, SyncMessageStream)
        cls._on_text_takes_snapshot = on_text_takes_snapshot(cls.on_text)

    def __init__(self, client: Client, spec: RequestSpec) -> None:
        self._client = client
        self._spec = spec
        self._budget = _Budget(spec.timeout)
        self._engine: StreamEngine | None = None
        self._response: SyncHttpxWireResponse | None = None
        self._producer: Iterator[list[MessageStreamEvent] | None] | None = None
        self._batch: list[MessageStreamEvent] = []
        self._pos = 0
        self._started = False
        self._content_sent = False
        self._final_message: Message | None = None
        self._error: APIError | None = None
        self._finished = False
        self._closed = False
        self._end_fired = False
        self._attempts = 0

    # -- handlers (override these) ----------------------------------------------------

    def on_stream_event(self, event: MessageStreamEvent) -> None:
        """Every event, raw and derived, before the specific handler runs."""

    def on_text(self, text: str, snapshot: str) -> None:
        """A text delta and the block's whole text so far.

        An override that takes only ``(self, text)`` is called with the delta alone.
        """

    def on_input_json(self, partial_json: str, snapshot: Any) -> None:
        """A piece of a tool's JSON input and the partial parse of the input so far."""

    def on_thinking(self, thinking: str, snapshot: str) -> None:
        """A thinking delta and the block's thinking so far."""

    def on_signature(self, signature: str) -> None:
        """The signature of a thinking block."""

    def on_citation(self, citation: Any, snapshot: list[Any]) -> None:
        """A citation and the block's citations so far."""

    def on_content_block(self, content_block: ContentBlock) -> None:
        """A finished content block (``content_block_stop``)."""

    def on_message(self, message: Message) -> None:
        """The finished message (``message_stop``)."""

    def on_exception(self, exception: Exception) -> None:
        """The stream failed with ``exception`` (it is raised to the consumer next)."""

    def on_timeout(self) -> None:
        """A timeout fired (before :meth:`on_exception`)."""

    def on_end(self) -> None:
        """The last call for every stream: after success, failure or close. Exactly once."""

    # -- state -----------------------------------------------------------------------

    @property
    def current_message_snapshot(self) -> Message | None:
        """The message accumulated so far; ``None`` before ``message_start``."""
        if self._final_message is not None:
            return self._final_message
        return self._engine.snapshot() if self._engine is not None else None

    @property
    def response(self) -> httpx.Response | None:
        """The ``httpx.Response`` of the attempt that is streaming (headers only)."""
        return self._response.raw if self._response is not None else None

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` header of the response, when one arrived."""
        return self._response.request_id if self._response is not None else None

    @property
    def attempts(self) -> int:
        """Requests sent so far (1 + retries)."""
        return self._attempts

    # -- the producer: a generator run in the consumer's thread -------------------------

    def _start(self) -> None:
        """Send the request (with retries) until a 2xx event stream answers."""
        self._producer = self._produce()
        try:
            first = next(self._producer)
        except StopIteration:  # pragma: no cover - the generator always reports started
            return
        assert first is None

    def _fail(self, exc: APIError) -> APIError:
        return self._engine.fail(exc) if self._engine is not None else exc

    def _produce(self) -> Iterator[list[MessageStreamEvent] | None]:
        """Yields ``None`` once (started: status and content type checked), then one
        batch of events per network chunk. Retries as the policy allows."""
        spec, budget = self._spec, self._budget
        retries = 0
        while True:
            try:
                budget.check_deadline()
                yield from self._attempt()
                return
            except APIError as exc:
                if self._closed:
                    return  # closed from another thread: the broken read is expected
                error = self._fail(budget.explain(exc, streaming=True))
                if retries >= spec.max_retries or self._content_sent or not is_retryable(error):
                    raise error from exc.__cause__
                _backoff(spec, retries, error, budget)
                retries += 1

    def _attempt(self) -> Iterator[list[MessageStreamEvent] | None]:
        self._attempts += 1
        engine = self._engine = StreamEngine()
        response = self._client._send(self._spec, self._budget.httpx_timeout(streaming=True))
        self._response = response
        engine.request_id = response.request_id
        try:
            _check_sse(response)
            if not self._started:
                self._started = True
                yield None
            yield from self._pump(response, engine)
        finally:
            response.close()

    def _pump(
        self, response: SyncHttpxWireResponse, engine: StreamEngine
    ) -> Iterator[list[MessageStreamEvent]]:
        budget = self._budget
        idle = budget.timeout.content_idle
        idle_at = time.monotonic() + idle if idle is not None else math.inf
        held: list[MessageStreamEvent] = []
        for chunk in response.iter_chunks():
            now = time.monotonic()
            if now >= budget.deadline_at:
                raise budget.deadline_error()
            if now >= idle_at:
                raise budget.idle_error()
            events: list[MessageStreamEvent] = engine.receive_data(chunk)
            if not events:
                continue
            if idle is not None and any(e.type != "ping" for e in events):
                idle_at = now + idle
            if not self._content_sent:
                held.extend(events)
                if not any(is_content(e) for e in held):
                    continue
                events, held = held, []
            self._content_sent = True
            # Time spent in the consumer does not count as an idle stream.
            handed_over = time.monotonic()
            yield events
            idle_at += time.monotonic() - handed_over
        tail: list[MessageStreamEvent] = held + engine.receive_eof()
        if tail:
            self._content_sent = True
            yield tail

    # -- consuming ---------------------------------------------------------------------

    def _refill(self) -> bool:
        producer = self._producer
        if self._finished or producer is None:
            if self._error is not None:
                raise self._error
            return False
        try:
            batch = next(producer)
        except StopIteration:
            self._finish()
            return False
        except APIError as exc:
            if self._closed:
                self._finish()
                return False
            self._error = exc
            self._finished = True
            self._fire_failure(exc)
            raise
        assert batch is not None
        self._batch, self._pos = batch, 0
        return True

    def _finish(self) -> None:
        self._finished = True
        self._fire_end()

    def _fire_failure(self, exc: Exception) -> None:
        try:
            if isinstance(exc, APITimeoutError):
                self.on_timeout()
            self.on_exception(exc)
        finally:
            self._fire_end()

    def _fire_end(self) -> None:
        if not self._end_fired:
            self._end_fired = True
            self.on_end()

    def _next_event(self) -> MessageStreamEvent | None:
        try:
            while self._pos >= len(self._batch):
                if self._closed or not self._refill():
                    return None
            event = self._batch[self._pos]
            self._pos += 1
            if self._overridden:
                self._dispatch(event)
            elif isinstance(event, MessageStopEvent):
                self._final_message = event.message
            return event
        except (KeyboardInterrupt, SystemExit):
            # Ctrl-C: drop the connection now rather than when the object is collected.
            self.close()
            raise

    def _dispatch(self, event: MessageStreamEvent) -> None:
        if "on_stream_event" in self._overridden:
            self.on_stream_event(event)
        if isinstance(event, MessageStopEvent):
            self._final_message = event.message
        call = handler_call(event, self._overridden, self._on_text_takes_snapshot)
        if call is not None:
            name, args = call
            getattr(self, name)(*args)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> MessageStreamEvent:
        event = self._next_event()
        if event is None:
            raise StopIteration
        return event

    @property
    def text_stream(self) -> Iterator[str]:
        """The text deltas alone (handlers still run)."""
        while True:
            event = self._next_event()
            if event is None:
                return
            if isinstance(event, TextEvent):
                yield event.text

    def until_done(self) -> None:
        """Consume the stream to its end (running the handlers).

        Raises:
            APIError: The stream failed (the error itself, with ``partial_message``).
            MsgStreamError: The stream was closed before ``message_stop``.
        """
        while self._next_event() is not None:
            pass
        if self._final_message is None:
            if self._closed:
                raise MsgStreamError("the stream was closed before message_stop")
            raise self._fail(IncompleteStreamError("the stream ended before message_stop"))

    def get_final_message(self) -> Message:
        """Consume the stream to its end and return the accumulated message."""
        self.until_done()
        assert self._final_message is not None
        return self._final_message

    def get_final_text(self) -> str:
        """Consume the stream and return the text of all text blocks, concatenated."""
        message = self.get_final_message()
        return "".join(block.text for block in message.content if isinstance(block, TextBlock))

    def close(self) -> None:
        """Abort the request and release its connection; then run ``on_end`` once.

        Idempotent. From the consuming thread it closes the response at once; from
        another thread it closes the response under a read in progress, which then
        ends the iteration quietly.
        """
        self._closed = True
        producer = self._producer
        if producer is not None:
            try:
                producer.close()  # type: ignore[attr-defined]
            except ValueError:
                # The generator is running in another thread: cut its connection; that
                # thread ends the iteration, closes the response and runs on_end.
                response = self._response
                if response is not None:
                    response.abort()
                return
        elif self._response is not None:
            self._response.close()
        self._fire_end()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SyncMessageStreamManager(Generic[_S]):
    """What ``client.messages.stream(...)`` returns: ``with`` it for a stream.

    Entering sends the request (with retries) and checks the status, so an error
    status raises there. Leaving closes the stream and its connection.
    """

    def __init__(self, client: Client, event_handler: type[_S], spec: RequestSpec) -> None:
        self._client = client
        self._event_handler = event_handler
        self._spec = spec
        self._stream: _S | None = None

    def __enter__(self) -> _S:
        if self._stream is not None:
            raise RuntimeError("a SyncMessageStreamManager can be entered once")
        stream = self._event_handler(self._client, self._spec)
        self._stream = stream
        try:
            stream._start()
        except BaseException:
            # As with the async client: a stream that never started runs no handlers.
            stream._end_fired = True
            stream.close()
            raise
        return stream

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()


class SyncRawMessageStream:
    """The wire events of one response (``create(..., stream=True)``), synchronously.

    Use it as a context manager and iterate it for typed events (pings included).
    Nothing is accumulated and nothing retried once it is returned.
    """

    def __init__(self, response: SyncHttpxWireResponse, budget: _Budget) -> None:
        self._response = response
        self._budget = budget
        self._engine = StreamEngine(accumulate=False, request_id=response.request_id)
        self._chunks = response.iter_chunks()
        self._batch: list[RawMessageStreamEvent] = []
        self._pos = 0
        self._done = False
        idle = budget.timeout.content_idle
        self._idle_at = time.monotonic() + idle if idle is not None else math.inf

    @property
    def response(self) -> httpx.Response:
        """The ``httpx.Response`` (headers only; the body is this stream)."""
        return self._response.raw

    @property
    def request_id(self) -> str | None:
        return self._response.request_id

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> RawMessageStreamEvent:
        try:
            while self._pos >= len(self._batch):
                if self._done:
                    raise StopIteration
                self._batch, self._pos = self._read_batch(), 0
        except (KeyboardInterrupt, SystemExit):
            self.close()
            raise
        event = self._batch[self._pos]
        self._pos += 1
        return event

    def _read_batch(self) -> list[RawMessageStreamEvent]:
        budget, engine = self._budget, self._engine
        try:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.close()
                return engine.receive_eof()
            except APIError as exc:
                raise engine.fail(budget.explain(exc, streaming=True)) from exc.__cause__
            now = time.monotonic()
            if now >= budget.deadline_at:
                raise engine.fail(budget.deadline_error())
            if now >= self._idle_at:
                raise engine.fail(budget.idle_error())
            events = engine.receive_raw(chunk)
        except BaseException:
            self.close()
            raise
        idle = budget.timeout.content_idle
        if idle is not None and any(e.type != "ping" for e in events):
            self._idle_at = now + idle
        return events

    def close(self) -> None:
        """Release the connection. Idempotent."""
        if self._done:
            return
        self._done = True
        try:
            self._chunks.close()
        except ValueError:  # being read in another thread: wake that read up
            self._response.abort()
            return
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --------------------------------------------------------------------------- client


class Client(ClientConfig):
    """The synchronous client of the Messages API (also exported as ``Anthropic``).

    The same interface as :class:`~trio_msgstream.AsyncClient` without async/await::

        client = Client()
        with client.messages.stream(model=..., max_tokens=..., messages=...) as stream:
            for text in stream.text_stream:
                print(text, end="", flush=True)
        message = stream.get_final_message()

    Args:
        api_key: Defaults to ``ANTHROPIC_API_KEY``.
        auth_token: A bearer token, instead of or beside the key.
        base_url: Defaults to ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``.
        timeout: A :class:`~trio_msgstream.Timeout`, or seconds for every phase. See
            the module notes for how ``content_idle`` and ``deadline`` are enforced
            without a cancel scope.
        max_retries: Retry budget of each request (default 2).
        default_headers: Sent with every request.
        http_client: An ``httpx.Client`` to use; you keep ownership and close it.
        transport: An ``httpx.BaseTransport`` for the client this one creates.

    Resource handling:
        ``with client:`` or ``client.close()`` closes the httpx client the client
        created (not one passed in as ``http_client``).
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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
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
        self._http = http_client or httpx.Client(transport=transport, timeout=None)
        self.messages: Messages = Messages(self)

    @property
    def http_client(self) -> httpx.Client:
        return self._http

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Client:
        """A client sharing this one's connections, with other defaults."""
        return Client(**self._settings(timeout, max_retries), http_client=self._http)

    def _send(self, spec: RequestSpec, timeout: httpx.Timeout) -> SyncHttpxWireResponse:
        request = build_httpx_request(self._http, self.base_url, spec, timeout)
        with map_httpx_errors(request=request):
            response = self._http.send(request, stream=True)
        return SyncHttpxWireResponse(response)

    def close(self) -> None:
        """Close the httpx client, if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Messages:
    """``client.messages`` of the sync client: ``stream()`` and ``create()``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def stream(
        self,
        *,
        event_handler: type[_S] = SyncMessageStream,  # type: ignore[assignment]
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> SyncMessageStreamManager[_S]:
        """A stream: ``with client.messages.stream(...) as stream``.

        Args:
            event_handler: A :class:`SyncMessageStream` subclass whose ``on_*``
                methods handle events.
            timeout: Per-request :class:`~trio_msgstream.Timeout` (or seconds).
            max_retries: Per-request retry budget.
            extra_headers: Added to the request headers.
            extra_query: Added to the URL query.
            extra_body: Merged into the JSON body.
            **params: Messages API parameters, passed through as given.

        Raises:
            APIStatusError: On entering, for an error status (after retries).
        """
        if not (isinstance(event_handler, type) and issubclass(event_handler, SyncMessageStream)):
            raise TypeError(
                f"event_handler must be a SyncMessageStream subclass, not {event_handler!r}"
            )
        spec = self._client.build_spec(
            params,
            stream=True,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
        return SyncMessageStreamManager(self._client, event_handler, spec)

    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        timeout: TimeoutTypes | NotGiven = ...,
        max_retries: int | NotGiven = ...,
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, str] | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
        **params: Any,
    ) -> SyncRawMessageStream: ...

    @overload
    def create(
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

    def create(
        self,
        *,
        stream: bool = False,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> SyncRawMessageStream | Message:
        """Send a request.

        With ``stream=True``, return the raw event stream
        (``with client.messages.create(..., stream=True) as events``); otherwise wait
        for and return the whole message.

        Raises:
            APIStatusError: An error status (after retries).
            APIConnectionError: The request failed (after retries).
        """
        spec = self._client.build_spec(
            params,
            stream=stream,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
        budget = _Budget(spec.timeout)
        client = self._client
        if stream:

            def open_stream() -> SyncHttpxWireResponse:
                response = client._send(spec, budget.httpx_timeout(streaming=True))
                try:
                    _check_sse(response)
                except BaseException:
                    response.close()
                    raise
                return response

            response = _run_with_retries(spec, budget, open_stream, streaming=True)
            return SyncRawMessageStream(response, budget)

        def attempt() -> Message:
            response = client._send(spec, budget.httpx_timeout(streaming=False))
            try:
                _check_status(response)
                body = response.read_bounded(1 << 30)
            finally:
                response.close()
            try:
                return Message.model_validate_json(body)
            except ValueError as exc:
                raise StreamProtocolError(
                    f"the response is not a message: {exc}",
                    body=body[:200].decode("utf-8", "replace"),
                ) from None

        return _run_with_retries(spec, budget, attempt, streaming=False)
