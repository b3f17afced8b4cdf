"""Message Batches: the API's own engine for jobs larger than one event loop.

``client.messages.batches`` (and ``client.beta.messages.batches``) is an
:class:`AsyncBatches` on the Trio client and a :class:`Batches` on the sync one. This
module holds their types, the errors of this surface, and the sans-IO pieces for
driving batches with your own I/O: :func:`split_batches` and :func:`batch_requests`
(build batches from fan-out's ``{key: params}`` shape within the API's limits),
:class:`BatchResultsDecoder` (the JSONL results file, fed bytes) and
:class:`WaitPolicy` (when to poll). See ``docs/batches.md``.
"""

from ._core.batches.build import MAX_BATCH_BYTES as MAX_BATCH_BYTES
from ._core.batches.build import MAX_BATCH_REQUESTS as MAX_BATCH_REQUESTS
from ._core.batches.build import BatchLimitError as BatchLimitError
from ._core.batches.build import BatchRequest as BatchRequest
from ._core.batches.build import batch_requests as batch_requests
from ._core.batches.build import check_batch_limits as check_batch_limits
from ._core.batches.build import split_batches as split_batches
from ._core.batches.models import BatchNotEndedError as BatchNotEndedError
from ._core.batches.models import BatchUploadError as BatchUploadError
from ._core.batches.models import BatchWaitTimeout as BatchWaitTimeout
from ._core.batches.models import DeletedMessageBatch as DeletedMessageBatch
from ._core.batches.models import ErrorObject as ErrorObject
from ._core.batches.models import ErrorResponse as ErrorResponse
from ._core.batches.models import MessageBatch as MessageBatch
from ._core.batches.models import MessageBatchCanceledResult as MessageBatchCanceledResult
from ._core.batches.models import MessageBatchErroredResult as MessageBatchErroredResult
from ._core.batches.models import MessageBatchExpiredResult as MessageBatchExpiredResult
from ._core.batches.models import MessageBatchIndividualResponse as MessageBatchIndividualResponse
from ._core.batches.models import MessageBatchPage as MessageBatchPage
from ._core.batches.models import MessageBatchRequestCounts as MessageBatchRequestCounts
from ._core.batches.models import MessageBatchResult as MessageBatchResult
from ._core.batches.models import MessageBatchSucceededResult as MessageBatchSucceededResult
from ._core.batches.models import MessageBatchUnknownResult as MessageBatchUnknownResult
from ._core.batches.results import BatchResultsDecoder as BatchResultsDecoder
from ._core.batches.results import BatchResultsError as BatchResultsError
from ._core.batches.wait import WaitPolicy as WaitPolicy
from ._sync.batches import Batches as Batches
from ._sync.batches import BatchResults as BatchResults
from ._trio.batches import AsyncBatches as AsyncBatches
from ._trio.batches import AsyncBatchResults as AsyncBatchResults

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_REQUESTS",
    "AsyncBatchResults",
    "AsyncBatches",
    "BatchLimitError",
    "BatchNotEndedError",
    "BatchRequest",
    "BatchResults",
    "BatchResultsDecoder",
    "BatchResultsError",
    "BatchUploadError",
    "BatchWaitTimeout",
    "Batches",
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
    "WaitPolicy",
    "batch_requests",
    "check_batch_limits",
    "split_batches",
]
