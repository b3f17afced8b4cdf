"""``client.messages.batches`` without async/await: a thin driver of the batch core.

Theory of operation: the same requests (``_core.batch_calls``), the same results
decoder and the same wait rules (``BatchWaiter``) as the Trio driver, sent with the
sync client's ``_execute`` and ``_open_body``. The differences are the clock and the
sleep (``time.monotonic``, ``time.sleep``) and the deadline of ``wait()``: with no
cancel scope, it is checked between polls, and a poll in flight at the deadline
finishes (bounded by its own timeout) before the wait gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TypeVar

from .._core.batch_build import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    BatchRequestsInput,
    batch_requests,
    check_batch_limits,
    split_batches,
)
from .._core.batch_calls import (
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
from .._core.exceptions import APIError
from .._core.options import split_options
from .._core.sse import NEED_DATA
from .request import SyncPaginator

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._core.options import RequestOptions
    from .client import Client

__all__ = ["BatchResults", "Batches"]

_T = TypeVar("_T")

_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


def _options(kwargs: dict[str, Any]) -> RequestOptions:
    rest, options = split_options(kwargs)
    if rest:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(rest))}")
    return options


class Batches:
    """The Message Batches API, synchronously: ``client.messages.batches``.

    The same methods as :class:`~trio_msgstream.batches.AsyncBatches`, without
    ``await``; ``results()`` is an iterator and a context manager.
    """

    def __init__(self, client: Client, *, beta: bool = False) -> None:
        self._client = client
        self._beta = beta

    def create(
        self,
        *,
        requests: BatchRequestsInput,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> MessageBatch:
        """Upload one batch (limits checked first: :class:`BatchLimitError`)."""
        checked = batch_requests(requests)
        check_batch_limits(checked)
        call = create_call(
            self._client,
            [r.to_api() for r in checked],
            options=_options(options),
            beta=self._beta,
            betas=betas,
        )
        return self._client._execute(call)

    def create_many(
        self,
        requests: BatchRequestsInput,
        *,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = MAX_BATCH_BYTES,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> list[MessageBatch]:
        """Split a job into batches within the limits and upload them in order
        (a failed upload: :class:`BatchUploadError` with ``.created``)."""
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
                created.append(self._client._execute(call))
            except APIError as exc:
                raise BatchUploadError(
                    f"batch {index + 1} of {len(parts)} failed to upload ({exc}); "
                    f"{len(created)} were created",
                    created=created,
                    remaining=[[r.to_api() for r in rest] for rest in parts[index:]],
                ) from exc
        return created

    def retrieve(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> MessageBatch:
        """The batch's current state (an unknown id: ``NotFoundError``)."""
        call = retrieve_call(
            self._client, message_batch_id, options=_options(options), beta=self._beta, betas=betas
        )
        return self._client._execute(call)

    def list(
        self,
        *,
        limit: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
        betas: Sequence[str] | None = None,
        **options: Any,
    ) -> SyncPaginator[MessageBatchPage, MessageBatch]:
        """Every batch, most recent first (``for batch in ...``; ``.pages()``)."""
        call = list_call(
            self._client,
            limit=limit,
            after_id=after_id,
            before_id=before_id,
            options=_options(options),
            beta=self._beta,
            betas=betas,
        )
        return SyncPaginator(self._client, call)

    def cancel(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> MessageBatch:
        """Ask the API to cancel the batch."""
        call = cancel_call(
            self._client, message_batch_id, options=_options(options), beta=self._beta, betas=betas
        )
        return self._client._execute(call)

    def delete(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> DeletedMessageBatch:
        """Delete an ended batch."""
        call = delete_call(
            self._client, message_batch_id, options=_options(options), beta=self._beta, betas=betas
        )
        return self._client._execute(call)

    def results(
        self, message_batch_id: str, *, betas: Sequence[str] | None = None, **options: Any
    ) -> BatchResults:
        """The batch's results, one typed line at a time, in constant memory
        (``with batches.results(id) as results: for r in results``)."""
        return BatchResults(self, message_batch_id, betas=betas, options=options)

    def wait(
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
        """Poll until the batch has ended, and return it (see the async ``wait``).

        Raises:
            BatchWaitTimeout: The deadline passed, checked between polls.
        """
        policy = WaitPolicy(
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            backoff=POLL_BACKOFF,
            max_poll_failures=max_poll_failures,
            deadline=deadline,
        )
        waiter = BatchWaiter(message_batch_id, policy, now=_clock())
        while True:
            try:
                batch = self.retrieve(message_batch_id, betas=betas, **options)
            except APIError as exc:
                plan = waiter.failed(exc, now=_clock())
            else:
                if on_poll is not None:
                    on_poll(batch)
                plan = waiter.polled(batch, now=_clock())
            if plan.batch is not None:
                return plan.batch
            _sleep(plan.sleep)


class BatchResults:
    """The results of one batch, streamed: an iterator of
    :class:`MessageBatchIndividualResponse` and a context manager that closes the
    download on exit (same rules as the async one)."""

    def __init__(
        self,
        batches: Batches,
        message_batch_id: str,
        *,
        betas: Sequence[str] | None,
        options: dict[str, Any],
    ) -> None:
        self._batches = batches
        self._id = message_batch_id
        self._betas = betas
        self._options = options
        self._stack: ExitStack | None = None
        self._chunks: Iterator[bytes] | None = None
        self._decoder = BatchResultsDecoder()
        self._managed = False
        self._eof_seen = False
        self._done = False
        self.batch: MessageBatch | None = None
        """The batch, once retrieved."""

    def __enter__(self) -> Self:
        self._managed = True
        self._open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> MessageBatchIndividualResponse:
        if self._done:
            raise StopIteration
        try:
            if self._chunks is None:
                self._open()
            assert self._chunks is not None
            while True:
                result = self._decoder.next_result()
                if result is not NEED_DATA:
                    assert isinstance(result, MessageBatchIndividualResponse)
                    return result
                if self._eof_seen:
                    self.close()
                    raise StopIteration
                chunk = next(self._chunks, None)
                if chunk is None:
                    self._eof_seen = True
                    self._decoder.receive_data(b"")
                elif chunk:  # an empty chunk is not the end of the file
                    self._decoder.receive_data(chunk)
        except StopIteration:
            raise
        except BatchResultsError:
            if not self._managed:
                self.close()
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the download. Idempotent."""
        self._done = True
        stack, self._stack = self._stack, None
        chunks, self._chunks = self._chunks, None
        close_chunks = getattr(chunks, "close", None)
        if close_chunks is not None:
            close_chunks()
        if stack is not None:
            stack.close()

    def _open(self) -> None:
        if self._stack is not None or self._done:
            return
        client = self._batches._client
        self.batch = self._batches.retrieve(self._id, betas=self._betas, **self._options)
        spec = results_spec(
            client,
            self.batch,
            options=_options(dict(self._options)),
            beta=self._batches._beta,
            betas=self._betas,
        )
        stack = ExitStack()
        body = stack.enter_context(client._open_body(spec, operation="batches.results"))
        self._stack = stack
        self._chunks = iter(body)
