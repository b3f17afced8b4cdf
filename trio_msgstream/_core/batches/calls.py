"""Message Batches requests: what each endpoint is sent, and how its answer is read.

Part of the sans-IO core. Every builder takes a method's keyword arguments as the
caller gave them (the ``*Params`` typed dicts below, so each parameter is declared and
documented once, here) and returns a :class:`Call` (a ready-to-send request plus the
parser of its 2xx body) or, for the results file, a request spec whose body the driver
streams into ``BatchResultsDecoder``. The async and sync drivers
(``_trio/batches.py``, ``_sync/batches.py``) only send them.

Endpoints (the beta namespace sends the same requests; ``betas=[...]`` goes to the
``anthropic-beta`` header, as the official SDK does)::

    POST   /v1/messages/batches                create
    GET    /v1/messages/batches/{id}           retrieve
    GET    /v1/messages/batches?limit&after_id list (one page per request)
    POST   /v1/messages/batches/{id}/cancel    cancel
    DELETE /v1/messages/batches/{id}           delete
    GET    /v1/messages/batches/{id}/results   results (JSONL)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Required
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import BaseModel

from ..request.calls import Call, PageCall, model_parser
from ..request.options import RequestOptions, split_options
from .build import BatchRequest, BatchRequestsInput, batch_requests, check_batch_limits
from .models import BatchNotEndedError, DeletedMessageBatch, MessageBatch, MessageBatchPage

if TYPE_CHECKING:
    from ..request.spec import RequestSpec

__all__ = [
    "BATCHES_PATH",
    "BatchCreateManyParams",
    "BatchCreateParams",
    "BatchListParams",
    "BatchOptions",
    "BatchWaitParams",
    "RequestBuilder",
    "cancel_call",
    "create_call",
    "delete_call",
    "list_call",
    "results_spec",
    "retrieve_call",
    "upload_call",
]

BATCHES_PATH = "/v1/messages/batches"

Kwargs = Mapping[str, Any]
"""A method's keyword arguments, as the caller gave them."""


class RequestBuilder(Protocol):
    """What the builders need of a client: ``ClientConfig.build_request``."""

    @property
    def build_request(self) -> Callable[..., RequestSpec]:
        """A ready-to-send request for one endpoint."""
        ...


class BatchOptions(RequestOptions, total=False):
    """The keyword arguments of ``retrieve``, ``cancel``, ``delete`` and ``results``,
    which every other batch method takes too: the request options and ``betas``."""

    betas: Sequence[str] | None
    """Beta features (the ``anthropic-beta`` header)."""


class BatchCreateParams(BatchOptions, total=False):
    """The keyword arguments of ``create``."""

    requests: Required[BatchRequestsInput]
    """``[{"custom_id": ..., "params": {...}}, ...]`` as the API takes them, or, as for
    fan-out, ``{key: params}`` or ``(key, params)`` pairs. Checked against the API's
    limits before anything is sent (``BatchLimitError``; ``create_many`` splits)."""


class BatchCreateManyParams(BatchOptions, total=False):
    """The keyword arguments of ``create_many`` (beside the requests)."""

    max_requests: int
    """Requests per batch (at most the API's ``MAX_BATCH_REQUESTS``)."""
    max_bytes: int
    """Bytes of request body per batch (at most the API's ``MAX_BATCH_BYTES``)."""


class BatchListParams(BatchOptions, total=False):
    """The keyword arguments of ``list``."""

    limit: int | None
    """The page size (1 to 1000)."""
    after_id: str | None
    """Start after this batch."""
    before_id: str | None
    """Start before this batch, and page backwards."""


class BatchWaitParams(BatchOptions, total=False):
    """The keyword arguments of ``wait``.

    The first poll is immediate; the sleeps grow by half each time from
    ``poll_interval`` to ``max_poll_interval`` seconds. A poll that fails with a
    retryable error (429, 529, 5xx, a dropped connection) is tried again after the
    backoff or the server's ``retry-after``, whichever is longer.
    """

    poll_interval: float
    """Seconds before the second poll."""
    max_poll_interval: float
    """The cap of the growing sleeps."""
    deadline: float | None
    """Seconds the whole wait may take (``None``: no limit); then ``BatchWaitTimeout``,
    whose ``.batch`` is the last state seen."""
    max_poll_failures: int
    """Retryable poll failures in a row tolerated (the next one is raised)."""
    on_poll: Callable[[MessageBatch], object] | None
    """Called with the batch after every successful poll (progress)."""


_BETAS_ONLY = frozenset({"betas"})


def _spec(
    config: RequestBuilder,
    method: str,
    path: str,
    kwargs: Kwargs,
    *,
    allowed: frozenset[str] = _BETAS_ONLY,
    **request: Any,
) -> RequestSpec:
    """The request for ``kwargs``: the options split off, ``betas`` to the header,
    any other keyword refused."""
    params, options = split_options(kwargs)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {', '.join(unknown)}")
    betas = params.get("betas")
    spec: RequestSpec = config.build_request(method, path, options=options, betas=betas, **request)
    return spec


def _batch_path(batch_id: str, suffix: str = "") -> str:
    if not isinstance(batch_id, str) or not batch_id:
        raise ValueError(f"expected a non-empty batch id, got {batch_id!r}")
    return f"{BATCHES_PATH}/{quote(batch_id, safe='')}{suffix}"


def upload_call(
    config: RequestBuilder, part: Sequence[BatchRequest], kwargs: Kwargs
) -> Call[MessageBatch]:
    """``POST /v1/messages/batches`` with ``{"requests": [...]}`` for checked requests."""
    body = {"requests": [request.to_api() for request in part]}
    spec = _spec(config, "POST", BATCHES_PATH, kwargs, body=body)
    return Call(spec=spec, parse=model_parser(MessageBatch), operation="batches.create")


def create_call(config: RequestBuilder, kwargs: Kwargs) -> Call[MessageBatch]:
    """``create(**kwargs)``: the requests checked against the limits, then uploaded."""
    params = dict(kwargs)
    if "requests" not in params:
        raise TypeError("create() needs requests=")
    checked = batch_requests(params.pop("requests"))
    check_batch_limits(checked)
    return upload_call(config, checked, params)


def _by_id(
    config: RequestBuilder,
    method: str,
    path: str,
    kwargs: Kwargs,
    model: type[BaseModel],
    operation: str,
) -> Call[Any]:
    spec = _spec(config, method, path, kwargs)
    return Call(spec=spec, parse=model_parser(model), operation=operation)


def retrieve_call(config: RequestBuilder, batch_id: str, kwargs: Kwargs) -> Call[MessageBatch]:
    """``GET /v1/messages/batches/{id}``."""
    return _by_id(config, "GET", _batch_path(batch_id), kwargs, MessageBatch, "batches.retrieve")


def cancel_call(config: RequestBuilder, batch_id: str, kwargs: Kwargs) -> Call[MessageBatch]:
    """``POST /v1/messages/batches/{id}/cancel``: the batch is ``canceling`` until it
    has ended; requests already processed keep their results, the others end
    ``canceled``."""
    path = _batch_path(batch_id, "/cancel")
    return _by_id(config, "POST", path, kwargs, MessageBatch, "batches.cancel")


def delete_call(config: RequestBuilder, batch_id: str, kwargs: Kwargs) -> Call[DeletedMessageBatch]:
    """``DELETE /v1/messages/batches/{id}`` (only once the batch has ended)."""
    path = _batch_path(batch_id)
    return _by_id(config, "DELETE", path, kwargs, DeletedMessageBatch, "batches.delete")


_LIST_PARAMS = frozenset({"limit", "after_id", "before_id", "betas"})


def list_call(config: RequestBuilder, kwargs: Kwargs) -> PageCall[MessageBatchPage, MessageBatch]:
    """``GET /v1/messages/batches``: the first page asked for, and how to get the next.

    Pages go most recent first; with ``before_id`` they go backwards from it.
    """
    limit = kwargs.get("limit")
    if limit is not None and not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    query = {
        key: str(kwargs[key])
        for key in ("limit", "after_id", "before_id")
        if kwargs.get(key) is not None
    }
    spec = _spec(config, "GET", BATCHES_PATH, kwargs, allowed=_LIST_PARAMS, query=query)
    backwards = kwargs.get("before_id") is not None

    def next_page(page: MessageBatchPage) -> PageCall[MessageBatchPage, MessageBatch] | None:
        if not page.has_more or not page.data:
            return None
        if backwards:
            following = {**kwargs, "after_id": None, "before_id": page.first_id or page.data[0].id}
        else:
            following = {**kwargs, "after_id": page.last_id or page.data[-1].id}
        return list_call(config, following)

    return PageCall(
        Call(spec, model_parser(MessageBatchPage), "batches.list"),
        lambda page: page.data,
        next_page,
    )


def results_spec(config: RequestBuilder, batch: MessageBatch, kwargs: Kwargs) -> RequestSpec:
    """The request for an ended batch's results file (JSONL, read as a stream).

    Raises:
        BatchNotEndedError: The batch has not ended (or has no results URL yet).

    Only the path and query of ``results_url`` are used: the request goes to the
    client's own base URL, so the credentials never go to another host.
    """
    if not batch.ended or not batch.results_url:
        raise BatchNotEndedError(batch)
    parts = urlsplit(batch.results_url)
    path = parts.path or _batch_path(batch.id, "/results")
    query = dict(parse_qsl(parts.query))
    return _spec(config, "GET", path, kwargs, query=query, accept="application/binary")
