"""``client.messages.batches`` without async/await: a thin driver of the batch core.

Theory of operation: the same requests (``_core.batch_calls``), the same operations
(``_core.batch_ops``) and the same results rules (``ResultsReader``) as the Trio
driver, sent with the sync client's ``_execute`` and ``_open_body``. The differences
are the clock and the sleep (``time.monotonic``, ``time.sleep``) and the deadline of
``wait()``: with no cancel scope, the core checks it between polls, and a poll in
flight at the deadline finishes (bounded by its own timeout) before the wait gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Unpack

from .._core.batches import calls, ops
from .._core.exceptions import APIError
from .._core.request.calls import Call
from .request import SyncPaginator

if TYPE_CHECKING:
    from typing import Self

    from .._core.batches.build import BatchRequestsInput
    from .._core.batches.models import DeletedMessageBatch, MessageBatch, MessageBatchPage
    from .client import Client

__all__ = ["BatchResults", "Batches"]

_T = TypeVar("_T")

_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


def _perform(client: Client, step: ops.Step) -> Any:
    if isinstance(step, Call):
        return client._execute(step)
    if isinstance(step, ops.Sleep):
        _sleep(step.seconds)
    return _clock()


def _drive(client: Client, steps: Generator[ops.Step, Any, _T]) -> _T:
    run = ops.StepRunner(steps)
    while (step := run.next_step()) is not None:
        try:
            run.answer(_perform(client, step))
        except APIError as exc:
            run.fail(exc)
    return run.result


class Batches:
    """The Message Batches API, synchronously: ``client.messages.batches``.

    The same methods as :class:`~trio_msgstream.batches.AsyncBatches`, without
    ``await``; ``results()`` is an iterator and a context manager.
    """

    def __init__(self, client: Client, *, beta: bool = False) -> None:
        self._client = client
        self._beta = beta  # the beta namespace sends the same requests

    def create(self, **kwargs: Unpack[calls.BatchCreateParams]) -> MessageBatch:
        """Upload one batch (limits checked first: :class:`BatchLimitError`)."""
        return self._client._execute(calls.create_call(self._client, kwargs))

    def create_many(
        self, requests: BatchRequestsInput, **kwargs: Unpack[calls.BatchCreateManyParams]
    ) -> list[MessageBatch]:
        """Split a job into batches within the limits and upload them in order
        (a failed upload: :class:`BatchUploadError` with ``.created``)."""
        return _drive(self._client, ops.create_many_steps(self._client, requests, kwargs))

    def retrieve(self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]) -> MessageBatch:
        """The batch's current state (an unknown id: ``NotFoundError``)."""
        return self._client._execute(calls.retrieve_call(self._client, message_batch_id, kwargs))

    def list(
        self, **kwargs: Unpack[calls.BatchListParams]
    ) -> SyncPaginator[MessageBatchPage, MessageBatch]:
        """Every batch, most recent first (``for batch in ...``; ``.pages()``)."""
        return SyncPaginator(self._client, calls.list_call(self._client, kwargs))

    def wait(self, message_batch_id: str, **kwargs: Unpack[calls.BatchWaitParams]) -> MessageBatch:
        """Poll until the batch has ended, and return it (``BatchWaitTimeout`` at the
        deadline, checked between polls)."""
        _, steps = ops.start_wait(self._client, message_batch_id, kwargs, now=_clock())
        return _drive(self._client, steps)

    def cancel(self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]) -> MessageBatch:
        """Ask the API to cancel the batch."""
        return self._client._execute(calls.cancel_call(self._client, message_batch_id, kwargs))

    def delete(
        self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]
    ) -> DeletedMessageBatch:
        """Delete an ended batch."""
        return self._client._execute(calls.delete_call(self._client, message_batch_id, kwargs))

    def results(self, message_batch_id: str, **kwargs: Unpack[calls.BatchOptions]) -> BatchResults:
        """The batch's results, one typed line at a time, in constant memory
        (``with batches.results(id) as results: for r in results``)."""
        return BatchResults(self._client, ops.ResultsReader(self._client, message_batch_id, kwargs))


class BatchResults:
    """The results of one batch, streamed: an iterator of
    ``MessageBatchIndividualResponse`` and a context manager that closes the download
    on exit (same rules as the async one)."""

    def __init__(self, client: Client, reader: ops.ResultsReader) -> None:
        self._client = client
        self._reader = reader
        self._stack = ExitStack()
        self._chunks: Iterator[bytes] | None = None

    @property
    def batch(self) -> MessageBatch | None:
        """The batch, once retrieved."""
        return self._reader.batch

    def __enter__(self) -> Self:
        self._reader.managed = True
        self._open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ops.MessageBatchIndividualResponse:
        try:
            self._open()
            while (result := self._reader.next_result()) is ops.NEED_DATA:
                assert self._chunks is not None
                self._reader.receive(next(self._chunks, None))
        except BaseException as exc:
            if self._reader.closes_on(exc):
                self.close()
            raise
        if isinstance(result, ops.MessageBatchIndividualResponse):
            return result
        self.close()
        raise StopIteration

    def close(self) -> None:
        """Close the download. Idempotent."""
        self._reader.done = True
        chunks, self._chunks = self._chunks, None
        getattr(chunks, "close", lambda: None)()
        self._stack.close()

    def _open(self) -> None:
        if self._chunks is None and not self._reader.done:
            batch = self._client._execute(self._reader.retrieve)
            body = self._client._open_body(
                self._reader.body_spec(batch), operation="batches.results"
            )
            self._chunks = iter(self._stack.enter_context(body))
