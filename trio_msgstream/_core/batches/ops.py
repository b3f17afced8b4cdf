"""The batch operations that take more than one request, as sans-IO steps.

Theory of operation: ``create_many`` (upload batch after batch) and ``wait`` (poll,
sleep, poll again) are written here once, as generators of *steps*: each step is a
:class:`Call` to send, a :class:`Sleep`, or :data:`NOW` (read the driver's clock).
A driver performs each step with its own I/O and hands the answer back (or the
:class:`APIError` of a failed call, which the operation may handle), through a
:class:`StepRunner`, until the operation returns its result::

    run = StepRunner(steps)
    while (step := run.next_step()) is not None:
        try:
            run.answer(perform(step))
        except APIError as exc:
            run.fail(exc)
    return run.result

``results`` is a download read as it arrives, so it is a state object instead:
:class:`ResultsReader` holds the retrieve call, the decoder and the rules of when the
download ends or is closed; the driver only moves chunks from the body into it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from ..exceptions import APIError
from ..request.calls import Call
from ..stream.sse import NEED_DATA, NeedData
from .build import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS, BatchRequestsInput, split_batches
from .calls import RequestBuilder, results_spec, retrieve_call, upload_call
from .models import BatchUploadError, MessageBatch, MessageBatchIndividualResponse
from .results import BatchResultsDecoder, BatchResultsError
from .wait import (
    DEFAULT_MAX_POLL_FAILURES,
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    POLL_BACKOFF,
    BatchWaiter,
    WaitPolicy,
)

if TYPE_CHECKING:
    from ..request.spec import RequestSpec

__all__ = [
    "NEED_DATA",
    "NOW",
    "MessageBatchIndividualResponse",
    "ResultsReader",
    "Sleep",
    "Step",
    "StepRunner",
    "Steps",
    "create_many_steps",
    "start_wait",
]


@dataclass(frozen=True)
class Sleep:
    """A step: sleep this many seconds (the answer is the time after it)."""

    seconds: float


class _Now:
    def __repr__(self) -> str:
        return "NOW"


NOW: Final = _Now()
"""A step: read the driver's clock (the answer is the time, in seconds)."""

Step = Call[Any] | Sleep | _Now
"""What an operation asks its driver to do."""
Steps = Generator[Step, Any, Any]
"""A running operation: the steps it yields, the answers sent back."""

T = TypeVar("T")


class StepRunner(Generic[T]):
    """Runs an operation's steps for a driver: the next step, given the last answer.

    Args:
        steps: The operation (a generator of steps returning ``T``).
    """

    def __init__(self, steps: Generator[Step, Any, T]) -> None:
        self._steps = steps
        self._answer: Any = None
        self._error: APIError | None = None
        self.result: T
        """The operation's result, once :meth:`next_step` has returned ``None``."""

    def answer(self, value: Any) -> None:
        """The answer to the last step (a call's parsed answer, the clock)."""
        self._answer, self._error = value, None

    def fail(self, error: APIError) -> None:
        """The last step (a call) failed with ``error``."""
        self._answer, self._error = None, error

    def next_step(self) -> Step | None:
        """The next step, or ``None`` when the operation is over (see :attr:`result`).

        Raises:
            Exception: What the operation raises (a failure it does not handle).
        """
        try:
            if self._error is not None:
                return self._steps.throw(self._error)
            return self._steps.send(self._answer)
        except StopIteration as done:
            self.result = done.value
            return None


def create_many_steps(
    config: RequestBuilder, requests: BatchRequestsInput, kwargs: Mapping[str, Any]
) -> Generator[Step, Any, list[MessageBatch]]:
    """``create_many``: split a job of any size into batches within the limits
    (``max_requests``, ``max_bytes``) and upload them, one after the other, in order.

    Raises:
        BatchLimitError: A malformed request (nothing is uploaded).
        BatchUploadError: An upload failed; ``.created`` holds the batches created
            before it and ``.remaining`` the requests not uploaded (the error that
            stopped it is the ``__cause__``).
    """
    params = dict(kwargs)
    max_requests = params.pop("max_requests", MAX_BATCH_REQUESTS)
    max_bytes = params.pop("max_bytes", MAX_BATCH_BYTES)
    parts = split_batches(requests, max_requests=max_requests, max_bytes=max_bytes)
    created: list[MessageBatch] = []
    for index, part in enumerate(parts):
        call = upload_call(config, part, params)
        try:
            created.append((yield call))
        except APIError as exc:
            raise BatchUploadError(
                f"batch {index + 1} of {len(parts)} failed to upload ({exc}); "
                f"{len(created)} were created",
                created=created,
                remaining=[[r.to_api() for r in rest] for rest in parts[index:]],
            ) from exc
    return created


def start_wait(
    config: RequestBuilder, batch_id: str, kwargs: Mapping[str, Any], *, now: float
) -> tuple[BatchWaiter, Generator[Step, Any, MessageBatch]]:
    """``wait``: poll until the batch has ended, and return it (see ``BatchWaitParams``).

    Returns the waiter (its ``deadline_at`` on the driver's clock, and
    ``timeout_error()`` for a driver that enforces the deadline itself) and the steps.
    Every sleep is clamped to the deadline, and a poll answered after it raises.

    Raises (from the steps):
        BatchWaitTimeout: The deadline passed (``.batch`` is the last state seen).
        APIError: A poll failed with an error that is not retryable (an unknown id:
            ``NotFoundError``), or ``max_poll_failures`` times in a row.
    """
    params = dict(kwargs)
    on_poll: Callable[[MessageBatch], object] | None = params.pop("on_poll", None)
    policy = WaitPolicy(
        poll_interval=params.pop("poll_interval", DEFAULT_POLL_INTERVAL),
        max_poll_interval=params.pop("max_poll_interval", DEFAULT_MAX_POLL_INTERVAL),
        backoff=POLL_BACKOFF,
        max_poll_failures=params.pop("max_poll_failures", DEFAULT_MAX_POLL_FAILURES),
        deadline=params.pop("deadline", None),
    )
    retrieve_call(config, batch_id, params)  # refuse a bad keyword before the first poll
    waiter = BatchWaiter(batch_id, policy, now=now)
    return waiter, _polls(config, waiter, params, on_poll)


def _polls(
    config: RequestBuilder,
    waiter: BatchWaiter,
    params: Mapping[str, Any],
    on_poll: Callable[[MessageBatch], object] | None,
) -> Generator[Step, Any, MessageBatch]:
    while True:
        try:
            batch: MessageBatch = yield retrieve_call(config, waiter.batch_id, params)
        except APIError as exc:
            plan = waiter.failed(exc, now=(yield NOW))
        else:
            if on_poll is not None:
                on_poll(batch)
            plan = waiter.polled(batch, now=(yield NOW))
        if plan.batch is not None:
            return plan.batch
        yield Sleep(plan.sleep)


class ResultsReader:
    """The state of one ``results`` download, whatever the I/O.

    The driver sends :attr:`retrieve` (the results exist only once the batch has
    ended), opens :meth:`body_spec` as a stream, and then, for each result asked
    for, feeds chunks (:meth:`receive`) while :meth:`next_result` says
    :data:`NEED_DATA`. One network chunk and one line are in memory at a time.

    Resource handling (the driver's, by :meth:`closes_on`): the download is closed
    when the results end, when iterating raises, or when the ``with`` block is left;
    inside a ``with`` block a malformed line (:class:`BatchResultsError`) leaves it
    open, so iterating again goes on with the lines after it.
    """

    def __init__(self, config: RequestBuilder, batch_id: str, kwargs: Mapping[str, Any]) -> None:
        self._config = config
        self._kwargs = kwargs
        self.retrieve: Call[MessageBatch] = retrieve_call(config, batch_id, kwargs)
        """The first request: the batch."""
        self.batch: MessageBatch | None = None
        """The batch, once retrieved."""
        self.managed = False
        """Whether the download is used as a context manager (``with``)."""
        self.done = False
        """Whether the download has ended or was closed."""
        self._decoder = BatchResultsDecoder()
        self._eof = False

    def body_spec(self, batch: MessageBatch) -> RequestSpec:
        """The request for the results file of the retrieved ``batch``.

        Raises:
            BatchNotEndedError: The batch has not ended yet.
        """
        self.batch = batch
        return results_spec(self._config, batch, self._kwargs)

    def next_result(self) -> MessageBatchIndividualResponse | NeedData | None:
        """The next result; :data:`NEED_DATA` (feed a chunk); or ``None`` at the end.

        Raises:
            BatchResultsError: A line is not a result; the results before it were
                handed out already.
        """
        if self.done:
            return None
        result = self._decoder.next_result()
        return None if result is NEED_DATA and self._eof else result

    def receive(self, chunk: bytes | None) -> None:
        """A chunk of the body, or ``None`` at its end."""
        if chunk is None:
            self._eof = True
            self._decoder.receive_data(b"")
        elif chunk:  # an empty chunk is not the end of the file
            self._decoder.receive_data(chunk)

    def closes_on(self, error: BaseException) -> bool:
        """Whether ``error``, raised while iterating, closes the download."""
        return not (self.managed and isinstance(error, BatchResultsError))
