"""Message Batches: the API's objects and the errors of this surface.

Part of the sans-IO core (no trio, no httpx). The models mirror the API's batch
objects field for field (the official SDK's ``anthropic.types.messages`` batch types
have the same shape), and, like every model here, keep fields they do not know. The
requests live in ``batch_calls``, the results decoder in ``batch_results``, the wait
policy in ``batch_wait`` and the building and splitting of batches in ``batch_build``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from ..exceptions import APITimeoutError, MsgStreamError
from ..schema.models import APIModel, Message

__all__ = [
    "BatchNotEndedError",
    "BatchUploadError",
    "BatchWaitTimeout",
    "DeletedMessageBatch",
    "ErrorObject",
    "ErrorResponse",
    "MessageBatch",
    "MessageBatchCanceledResult",
    "MessageBatchErroredResult",
    "MessageBatchExpiredResult",
    "MessageBatchIndividualResponse",
    "MessageBatchPage",
    "MessageBatchRequestCounts",
    "MessageBatchResult",
    "MessageBatchSucceededResult",
    "MessageBatchUnknownResult",
]

ProcessingStatus = Literal["in_progress", "canceling", "ended"]


# --------------------------------------------------------------------------- objects


class MessageBatchRequestCounts(APIModel):
    """How many of a batch's requests are in each state.

    Requests count as ``processing`` until the whole batch ends; the other counts stay
    zero until then. The counts always add up to the number of requests.
    """

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        """The number of requests in the batch."""
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired


class MessageBatch(APIModel):
    """A Message Batch: its id, processing status, counts and (once ended) results URL.

    ``processing_status`` is ``"in_progress"``, ``"canceling"`` or ``"ended"`` (kept as
    a plain string, so a status added to the API later still validates).
    """

    id: str
    type: Literal["message_batch"] = "message_batch"
    processing_status: str
    request_counts: MessageBatchRequestCounts = Field(default_factory=MessageBatchRequestCounts)
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    archived_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    results_url: str | None = None

    @property
    def ended(self) -> bool:
        """Whether processing has ended (every request succeeded, errored, was
        canceled or expired), so that the results can be read."""
        return self.processing_status == "ended"


class DeletedMessageBatch(APIModel):
    """The answer to a delete: the id of the batch that is gone."""

    id: str
    type: Literal["message_batch_deleted"] = "message_batch_deleted"


class MessageBatchPage(APIModel):
    """One page of :meth:`list`: batches, most recent first, and the cursors."""

    data: list[MessageBatch] = Field(default_factory=list)
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class ErrorObject(APIModel):
    """The API's error object: ``type`` (``"invalid_request_error"``, ...) and message."""

    type: str
    message: str = ""


class ErrorResponse(APIModel):
    """An error as the API returns it: ``{"type": "error", "error": {...}}``."""

    type: Literal["error"] = "error"
    error: ErrorObject
    request_id: str | None = None


class MessageBatchSucceededResult(APIModel):
    """The request succeeded: ``message`` is the whole answer."""

    type: Literal["succeeded"] = "succeeded"
    message: Message


class MessageBatchErroredResult(APIModel):
    """The request failed: ``error`` says why (an invalid request, a server error)."""

    type: Literal["errored"] = "errored"
    error: ErrorResponse


class MessageBatchCanceledResult(APIModel):
    """The batch was canceled before this request was processed."""

    type: Literal["canceled"] = "canceled"


class MessageBatchExpiredResult(APIModel):
    """The batch reached its 24 hour limit before this request was processed."""

    type: Literal["expired"] = "expired"


class MessageBatchUnknownResult(APIModel):
    """A result type this version does not know; all fields are kept."""

    type: str


_RESULT_TYPES = frozenset({"succeeded", "errored", "canceled", "expired"})


def _result_tag(value: Any) -> str:
    tag = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return tag if tag in _RESULT_TYPES else "unknown"


MessageBatchResult = Annotated[
    Annotated[MessageBatchSucceededResult, Tag("succeeded")]
    | Annotated[MessageBatchErroredResult, Tag("errored")]
    | Annotated[MessageBatchCanceledResult, Tag("canceled")]
    | Annotated[MessageBatchExpiredResult, Tag("expired")]
    | Annotated[MessageBatchUnknownResult, Tag("unknown")],
    Discriminator(_result_tag),
]
"""One request's outcome; an unknown ``type`` validates as :class:`MessageBatchUnknownResult`."""


class MessageBatchIndividualResponse(APIModel):
    """One line of a batch's results: the request's ``custom_id`` and its ``result``."""

    custom_id: str
    result: MessageBatchResult


# --------------------------------------------------------------------------- errors


class BatchNotEndedError(MsgStreamError):
    """The results of a batch were asked for before its processing ended.

    Attributes:
        batch: The batch as last retrieved (its ``processing_status`` is not ``"ended"``).
    """

    def __init__(self, batch: MessageBatch) -> None:
        super().__init__(
            f"batch {batch.id} is {batch.processing_status}: its results can be read once "
            "processing has ended (wait for it with batches.wait())"
        )
        self.batch = batch


class BatchWaitTimeout(APITimeoutError):
    """``batches.wait()`` reached its deadline before the batch ended.

    ``which`` is ``"deadline"``. The batch keeps running on the API's side.

    Attributes:
        batch: The batch as last retrieved, or ``None`` when no poll succeeded.
    """

    def __init__(self, message: str, *, batch: MessageBatch | None) -> None:
        super().__init__(message, which="deadline")
        self.batch = batch


class BatchUploadError(MsgStreamError):
    """Creating one of several batches failed, after some were created.

    Raised by ``create_many`` from the underlying error, so that the batches already
    created (which run, and cost, on the API's side) are not lost.

    Attributes:
        created: The batches created before the failure, in order.
        remaining: The request lists not uploaded, the failed one first.
    """

    def __init__(
        self,
        message: str,
        *,
        created: list[MessageBatch],
        remaining: list[list[dict[str, Any]]],
    ) -> None:
        super().__init__(message)
        self.created = created
        self.remaining = remaining
