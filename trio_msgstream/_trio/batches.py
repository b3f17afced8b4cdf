"""``client.messages.batches`` for Trio: a thin driver of the sans-IO batch core.

Theory of operation: every method builds its request with ``_core.batch_calls`` and
sends it with the client's ``_execute`` (retries, timeouts, typed errors, parsing);
nothing about the API's shapes lives here. Three methods do more than one request:

- ``results(id)`` retrieves the batch (its results exist only once it has ended),
  then streams the JSONL file through the client's ``_open_body`` into a
  ``BatchResultsDecoder``: one network chunk and one line in memory at a time;
- ``wait(id)`` polls under ``BatchWaiter``'s rules, sleeping with ``trio.sleep``, the
  whole wait inside one cancel scope at the deadline (so a poll in flight at the
  deadline is cut too);
- ``list()`` follows the page cursors.

No task is spawned: everything runs in the caller's task, so cancelling the
caller's scope stops a wait, an upload or a results download at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import trio

from .._core.batch_build import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    BatchRequestsInput,
    batch_requests,
    check_batch_limits,
    split_batches,
)
from .._core.batch_calls import (
    RequestBuilder,
    cancel_call,
    create_call,
    delete_call,
    list_call,
    results_spec,
    retrieve_call,
)
from .._core.batch_results import BatchResultsDecoder, BatchResultsError
from .._core.batch_wait import (
    DEFAULT_MAX_POLL_FAILURES,
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    POLL_BACKOFF,
    BatchWaiter,
    WaitPolicy,
)
from .._core.batches import (
    BatchUploadError,
    DeletedMessageBatch,
    MessageBatch,
    MessageBatchIndividualResponse,
    MessageBatchPage,
)
from .._core.calls import Call
from .._core.exceptions import APIError
from .._core.options import split_options
from .._core.sse import NEED_DATA
from .pages import AsyncPaginator
from .wire import WireClient

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._core.options import RequestOptions
    from .._core.request import RequestSpec

__all__ = ["AsyncBatchClient", "AsyncBatchResults", "AsyncBatches"]

_T = TypeVar("_T")


class AsyncBatchClient(WireClient, RequestBuilder, Protocol):
    """What the driver needs of a client (``AsyncClient`` has it)."""

    async def _execute(self, call: Call[_T]) -> _T: ...

    def _open_body(
        self, spec: RequestSpec, *, operation: str = ...
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]: ...


def _options(kwargs: dict[str, Any]) -> RequestOptions:
    rest, options = split_options(kwargs)
    if rest:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(rest))}")
    return options


class AsyncBatches:
    """The Message Batches API: ``client.messages.batches`` (and, with ``beta=True``,
    ``client.beta.messages.batches``, which adds ``?beta=true`` and takes ``betas=``).

    Every method takes the per-request options ``timeout``, ``max_retries``,
    ``extra_headers``, ``extra_query`` and ``extra_body``.
    """

    def __init__(self, client: AsyncBatchClient, *, beta: bool = False) -> None:
        self._client = client
        self._beta = beta

    async def create(
        self,
        *,
        requests: BatchRequestsInput,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> MessageBatch:
        """Upload one batch.

        Args:
            requests: ``[{"custom_id": ..., "params": {...}}, ...]`` as the API takes
                them, or, as for fan-out, ``{key: params}`` or ``(key, params)`` pairs.

        Raises:
            BatchLimitError: Before anything is sent, when a request is malformed or
                the batch is over the API's limits (see :meth:`create_many`).
        """
        checked = batch_requests(requests)
        check_batch_limits(checked)
        call = create_call(
            self._client,
            [r.to_api() for r in checked],
            options=_options(options),
            beta=self._beta,
            betas=betas,
        )
        return await self._client._execute(call)

    async def create_many(
        self,
        requests: BatchRequestsInput,
        *,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = MAX_BATCH_BYTES,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> list[MessageBatch]:
        """Split a job of any size into batches within the limits and upload them,
        one after the other, in order.

        Raises:
            BatchLimitError: A malformed request (nothing is uploaded).
            BatchUploadError: An upload failed; ``.created`` holds the batches
                created before it and ``.remaining`` the requests not uploaded (the
                error that stopped it is the ``__cause__``).
        """
        parts = split_batches(requests, max_requests=max_requests, max_bytes=max_bytes)
        request_options = _options(options)
        created: list[MessageBatch] = []
        for index, part in enumerate(parts):
            call = create_call(
                self._client,
                [r.to_api() for r in part],
                options=request_options,
                beta=self._beta,
                betas=betas,
            )
            try:
                created.append(await self._client._execute(call))
            except APIError as exc:
                raise BatchUploadError(
                    f"batch {index + 1} of {len(parts)} failed to upload ({exc}); "
                    f"{len(created)} were created",
                    created=created,
                    remaining=[[r.to_api() for r in rest] for rest in parts[index:]],
                ) from exc
        return created

    async def retrieve(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> MessageBatch:
        """The batch's current state.

        Raises:
            NotFoundError: No batch has this id.
        """
        call = retrieve_call(
            self._client, message_batch_id, options=_options(options), beta=self._beta, betas=betas
        )
        return await self._client._execute(call)

    def list(
        self,
        *,
        limit: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> AsyncPaginator[MessageBatchPage, MessageBatch]:
        """Every batch, most recent first: ``async for batch in batches.list()``, or
        page by page with ``async for page in batches.list().pages()``.

        ``limit`` is the page size (1 to 1000); ``after_id``/``before_id`` start after
        (or before) a batch, and ``before_id`` pages backwards.
        """
        call = list_call(
            self._client,
            limit=limit,
            after_id=after_id,
            before_id=before_id,
            options=_options(options),
            beta=self._beta,
            betas=betas,
        )
        return AsyncPaginator(self._client, call)

    async def cancel(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> MessageBatch:
        """Ask the API to cancel the batch; it is ``canceling`` until it has ended.
        Requests already processed keep their results; the others end ``canceled``."""
        call = cancel_call(
            self._client, message_batch_id, options=_options(options), beta=self._beta, betas=betas
        )
        return await self._client._execute(call)

    async def delete(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> DeletedMessageBatch:
        """Delete an ended batch (cancel and wait for a running one first)."""
        call = delete_call(
            self._client, message_batch_id, options=_options(options), beta=self._beta, betas=betas
        )
        return await self._client._execute(call)

    def results(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> AsyncBatchResults:
        """The batch's results, one typed line at a time, in constant memory.

        Use ``async with batches.results(id) as results: async for r in results``
        (the download is closed when the block is left), or ``async for r in
        batches.results(id)`` (closed at the end or on an error). ``await
        batches.results(id)`` works too, as with the official SDK.

        Raises (while iterating):
            BatchNotEndedError: The batch has not ended yet.
            BatchResultsError: A line is not a result; the results before it were
                handed out already.
            NotFoundError: No batch has this id.
        """
        return AsyncBatchResults(self, message_batch_id, betas=betas, options=options)

    async def wait(
        self,
        message_batch_id: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        deadline: float | None = None,
        max_poll_failures: int = DEFAULT_MAX_POLL_FAILURES,
        on_poll: Callable[[MessageBatch], object] | None = None,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> MessageBatch:
        """Poll until the batch has ended, and return it.

        The first poll is immediate; the sleeps grow by half each time from
        ``poll_interval`` to ``max_poll_interval`` seconds. A poll that fails with a
        retryable error (429, 529, 5xx, a dropped connection) is tried again after
        the backoff or the server's ``retry-after``, whichever is longer.

        Args:
            deadline: Seconds the whole wait may take (``None``: no limit).
            max_poll_failures: Retryable poll failures in a row tolerated.
            on_poll: Called with the batch after every successful poll (progress).

        Raises:
            BatchWaitTimeout: The deadline passed (``.batch`` is the last state seen).
            NotFoundError: No batch has this id.

        Cancellation:
            Cancelling the caller's scope stops the wait at once; the batch itself
            keeps running on the API's side (see :meth:`cancel`).
        """
        policy = WaitPolicy(
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            backoff=POLL_BACKOFF,
            max_poll_failures=max_poll_failures,
            deadline=deadline,
        )
        waiter = BatchWaiter(message_batch_id, policy, now=trio.current_time())
        with trio.move_on_at(waiter.deadline_at):
            while True:
                try:
                    batch = await self.retrieve(message_batch_id, betas=betas, **options)
                except APIError as exc:
                    plan = waiter.failed(exc, now=trio.current_time())
                else:
                    if on_poll is not None:
                        on_poll(batch)
                    plan = waiter.polled(batch, now=trio.current_time())
                if plan.batch is not None:
                    return plan.batch
                await trio.sleep(plan.sleep)
        raise waiter.timeout_error()


class AsyncBatchResults:
    """The results of one batch, streamed: an async iterator of
    :class:`MessageBatchIndividualResponse`, and an async context manager that closes
    the download on exit.

    Resource handling:
        The response is closed when the results end, when iterating raises (outside
        an ``async with``), or when the ``async with`` block is left. Inside an
        ``async with`` block a malformed line (:class:`BatchResultsError`) leaves the
        download open, so iterating again goes on with the lines after it.
    """

    def __init__(
        self,
        batches: AsyncBatches,
        message_batch_id: str,
        *,
        betas: Sequence[str] | None,
        options: dict[str, Any],
    ) -> None:
        self._batches = batches
        self._id = message_batch_id
        self._betas = betas
        self._options = options
        self._stack: AsyncExitStack | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._decoder = BatchResultsDecoder()
        self._managed = False
        self._eof_seen = False
        self._done = False
        self.batch: MessageBatch | None = None
        """The batch, once retrieved (``None`` before the first result is asked for)."""

    def __await__(self) -> Generator[Any, None, Self]:
        # ``await batches.results(id)`` as with the official SDK: nothing to do yet.
        return self._itself().__await__()

    async def _itself(self) -> Self:
        await trio.lowlevel.checkpoint()
        return self

    async def __aenter__(self) -> Self:
        self._managed = True
        await self._open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> MessageBatchIndividualResponse:
        if self._done:
            raise StopAsyncIteration
        try:
            if self._chunks is None:
                await self._open()
            assert self._chunks is not None
            while True:
                result = self._decoder.next_result()
                if result is not NEED_DATA:
                    assert isinstance(result, MessageBatchIndividualResponse)
                    return result
                if self._eof_seen:
                    await self.aclose()
                    raise StopAsyncIteration
                try:
                    chunk = await self._chunks.__anext__()
                except StopAsyncIteration:
                    self._eof_seen = True
                    self._decoder.receive_data(b"")
                else:
                    if chunk:  # an empty chunk is not the end of the file
                        self._decoder.receive_data(chunk)
        except StopAsyncIteration:
            raise
        except BatchResultsError:
            if not self._managed:
                await self.aclose()
            raise
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Close the download. Idempotent."""
        self._done = True
        stack, self._stack = self._stack, None
        chunks, self._chunks = self._chunks, None
        aclose_chunks = getattr(chunks, "aclose", None)
        if aclose_chunks is not None:
            # Finish the body's reader now rather than at garbage collection.
            with trio.CancelScope(shield=True):
                await aclose_chunks()
        if stack is not None:
            # Not under a shield of ours: the body's own context exits its cancel scope
            # here, and releases the connection shielded itself.
            await stack.aclose()

    async def _open(self) -> None:
        if self._stack is not None or self._done:
            return
        client = self._batches._client
        self.batch = await self._batches.retrieve(self._id, betas=self._betas, **self._options)
        spec = results_spec(
            client,
            self.batch,
            options=_options(dict(self._options)),
            beta=self._batches._beta,
            betas=self._betas,
        )
        stack = AsyncExitStack()
        body = await stack.enter_async_context(client._open_body(spec, operation="batches.results"))
        self._stack = stack
        self._chunks = body.__aiter__()
