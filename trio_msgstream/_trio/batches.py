"""``client.messages.batches`` for Trio: a thin driver of the sans-IO batch core.

Theory of operation: every method builds its request from its keyword arguments with
``_core.batch_calls`` (where the parameters are declared and documented) and sends it
with the client's ``_execute`` (retries, timeouts, typed errors, parsing). The
operations of several requests are core step generators (``_core.batch_ops``) that
:func:`_drive` performs: calls with ``_execute``, sleeps with ``trio.sleep``, the clock
with ``trio.current_time``. ``wait()`` runs inside one cancel scope at its deadline, so
a poll in flight at the deadline is cut too. ``results()`` moves the body's chunks
into the core's ``ResultsReader``.

No task is spawned: everything runs in the caller's task, so cancelling the
caller's scope stops a wait, an upload or a results download at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import trio
from typing_extensions import Unpack

from .._core.batches import calls, ops
from .._core.exceptions import APIError
from .._core.request.calls import Call
from .pages import AsyncPaginator
from .wire import WireClient

if TYPE_CHECKING:
    from typing import Self

    from .._core.batches.build import BatchRequestsInput
    from .._core.batches.models import DeletedMessageBatch, MessageBatch, MessageBatchPage
    from .._core.request.spec import RequestSpec

__all__ = ["AsyncBatchClient", "AsyncBatchResults", "AsyncBatches"]

_T = TypeVar("_T")


class AsyncBatchClient(WireClient, calls.RequestBuilder, Protocol):
    """What the driver needs of a client (``AsyncClient`` has it)."""

    async def _execute(self, call: Call[_T]) -> _T: ...

    def _open_body(
        self, spec: RequestSpec, *, operation: str = ...
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]: ...


async def _perform(client: AsyncBatchClient, step: ops.Step) -> Any:
    if isinstance(step, Call):
        return await client._execute(step)
    if isinstance(step, ops.Sleep):
        await trio.sleep(step.seconds)
    return trio.current_time()


async def _drive(client: AsyncBatchClient, steps: Generator[ops.Step, Any, _T]) -> _T:
    run = ops.StepRunner(steps)
    while (step := run.next_step()) is not None:
        try:
            run.answer(await _perform(client, step))
        except APIError as exc:
            run.fail(exc)
    return run.result


class AsyncBatches:
    """The Message Batches API: ``client.messages.batches`` (and
    ``client.beta.messages.batches``, which sends the same requests).

    Every method takes ``betas=[...]`` (the ``anthropic-beta`` header) and the
    per-request options ``timeout``, ``max_retries``, ``extra_headers``,
    ``extra_query`` and ``extra_body``; see the ``*Params`` types of
    ``trio_msgstream._core.batches.calls`` for the rest.
    """

    def __init__(self, client: AsyncBatchClient, *, beta: bool = False) -> None:
        self._client = client
        self._beta = beta  # the beta namespace sends the same requests

    async def create(self, **kwargs: Unpack[calls.BatchCreateParams]) -> MessageBatch:
        """Upload one batch (``BatchLimitError`` first when it is over the limits)."""
        return await self._client._execute(calls.create_call(self._client, kwargs))

    async def retrieve(
        self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]
    ) -> MessageBatch:
        """The batch's current state (``NotFoundError``: no batch has this id)."""
        call = calls.retrieve_call(self._client, message_batch_id, kwargs)
        return await self._client._execute(call)

    async def wait(
        self, message_batch_id: str, **kwargs: Unpack[calls.BatchWaitParams]
    ) -> MessageBatch:
        """Poll until the batch has ended, and return it.

        Cancellation:
            Cancelling the caller's scope stops the wait at once; the batch itself
            keeps running on the API's side (see :meth:`cancel`).
        """
        waiter, steps = ops.start_wait(
            self._client, message_batch_id, kwargs, now=trio.current_time()
        )
        with trio.move_on_at(waiter.deadline_at):
            return await _drive(self._client, steps)
        raise waiter.timeout_error()

    async def create_many(
        self, requests: BatchRequestsInput, **kwargs: Unpack[calls.BatchCreateManyParams]
    ) -> list[MessageBatch]:
        """Split a job of any size into batches within the limits and upload them in
        order (a failed upload: ``BatchUploadError`` with ``.created``)."""
        return await _drive(self._client, ops.create_many_steps(self._client, requests, kwargs))

    def list(
        self, **kwargs: Unpack[calls.BatchListParams]
    ) -> AsyncPaginator[MessageBatchPage, MessageBatch]:
        """Every batch, most recent first: ``async for batch in batches.list()``, or
        page by page with ``async for page in batches.list().pages()``."""
        return AsyncPaginator(self._client, calls.list_call(self._client, kwargs))

    async def cancel(
        self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]
    ) -> MessageBatch:
        """Ask the API to cancel the batch; it is ``canceling`` until it has ended.
        Requests already processed keep their results; the others end ``canceled``."""
        call = calls.cancel_call(self._client, message_batch_id, kwargs)
        return await self._client._execute(call)

    def results(
        self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]
    ) -> AsyncBatchResults:
        """The batch's results, one typed line at a time, in constant memory:
        ``async with batches.results(id) as results: async for r in results``, or
        ``async for r in batches.results(id)``; ``await batches.results(id)`` works too.

        Raises (while iterating):
            BatchNotEndedError: The batch has not ended yet.
            BatchResultsError: A line is not a result.
        """
        return AsyncBatchResults(
            self._client, ops.ResultsReader(self._client, message_batch_id, kwargs)
        )

    async def delete(
        self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]
    ) -> DeletedMessageBatch:
        """Delete an ended batch (cancel and wait for a running one first)."""
        call = calls.delete_call(self._client, message_batch_id, kwargs)
        return await self._client._execute(call)


class AsyncBatchResults:
    """The results of one batch, streamed: an async iterator of
    ``MessageBatchIndividualResponse``, and an async context manager that closes the
    download on exit (the rules: ``_core.batch_ops.ResultsReader``)."""

    def __init__(self, client: AsyncBatchClient, reader: ops.ResultsReader) -> None:
        self._client = client
        self._reader = reader
        self._stack: AsyncExitStack | None = None
        self._chunks: AsyncIterator[bytes] | None = None

    @property
    def batch(self) -> MessageBatch | None:
        """The batch, once retrieved (``None`` before the first result is asked for)."""
        return self._reader.batch

    def __await__(self) -> Generator[Any, None, Self]:
        # ``await batches.results(id)`` as with the official SDK: nothing to do yet.
        return self._itself().__await__()

    async def _itself(self) -> Self:
        await trio.lowlevel.checkpoint()
        return self

    async def __aenter__(self) -> Self:
        self._reader.managed = True
        await self._open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ops.MessageBatchIndividualResponse:
        try:
            await self._open()
            while (result := self._reader.next_result()) is ops.NEED_DATA:
                assert self._chunks is not None
                self._reader.receive(await anext(self._chunks, None))
        except BaseException as exc:
            if self._reader.closes_on(exc):
                await self.aclose()
            raise
        if not isinstance(result, ops.MessageBatchIndividualResponse):
            await self.aclose()
            raise StopAsyncIteration
        return result

    async def aclose(self) -> None:
        """Close the download. Idempotent."""
        self._reader.done = True
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
        if self._stack is not None or self._reader.done:
            return
        batch = await self._client._execute(self._reader.retrieve)
        body = self._client._open_body(self._reader.body_spec(batch), operation="batches.results")
        stack = AsyncExitStack()
        self._chunks = aiter(await stack.enter_async_context(body))
        self._stack = stack
