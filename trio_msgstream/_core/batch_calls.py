"""Message Batches requests: what each endpoint is sent, and how its answer is read.

Part of the sans-IO core. Every builder returns a :class:`Call` (a ready-to-send
request plus the parser of its 2xx body) or, for the results file, a request spec
whose body the driver streams into ``BatchResultsDecoder``. The async and sync drivers
(``_trio/batches.py``, ``_sync/batches.py``) only send them.

Endpoints (``?beta=true`` added for the beta namespace)::

    POST   /v1/messages/batches                create
    GET    /v1/messages/batches/{id}           retrieve
    GET    /v1/messages/batches?limit&after_id list (one page per request)
    POST   /v1/messages/batches/{id}/cancel    cancel
    DELETE /v1/messages/batches/{id}           delete
    GET    /v1/messages/batches/{id}/results   results (JSONL)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

from .batches import BatchNotEndedError, DeletedMessageBatch, MessageBatch, MessageBatchPage
from .calls import Call, PageCall, model_parser

if TYPE_CHECKING:
    from .options import RequestOptions
    from .request import RequestSpec

__all__ = [
    "BATCHES_PATH",
    "RequestBuilder",
    "cancel_call",
    "create_call",
    "delete_call",
    "list_call",
    "results_spec",
    "retrieve_call",
]

BATCHES_PATH = "/v1/messages/batches"


class RequestBuilder(Protocol):
    """What the builders need of a client: ``ClientConfig.build_request``."""

    def build_request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        options: RequestOptions | None = None,
        stream: bool = False,
        betas: Sequence[str] | None = None,
        accept: str | None = None,
    ) -> RequestSpec:
        """A ready-to-send request for one endpoint."""
        ...


def _batch_path(batch_id: str, suffix: str = "") -> str:
    if not isinstance(batch_id, str) or not batch_id:
        raise ValueError(f"expected a non-empty batch id, got {batch_id!r}")
    return f"{BATCHES_PATH}/{quote(batch_id, safe='')}{suffix}"


def _beta_query(beta: bool, query: Mapping[str, str] | None = None) -> dict[str, str]:
    merged = dict(query or {})
    if beta:
        merged["beta"] = "true"
    return merged


def create_call(
    config: RequestBuilder,
    requests: Sequence[Mapping[str, Any]],
    *,
    options: RequestOptions | None = None,
    beta: bool = False,
    betas: Sequence[str] | None = None,
) -> Call[MessageBatch]:
    """``POST /v1/messages/batches`` with ``{"requests": [...]}``."""
    spec = config.build_request(
        "POST",
        BATCHES_PATH,
        body={"requests": list(requests)},
        query=_beta_query(beta),
        options=options,
        betas=betas,
    )
    return Call(spec=spec, parse=model_parser(MessageBatch), operation="batches.create")


def retrieve_call(
    config: RequestBuilder,
    batch_id: str,
    *,
    options: RequestOptions | None = None,
    beta: bool = False,
    betas: Sequence[str] | None = None,
) -> Call[MessageBatch]:
    """``GET /v1/messages/batches/{id}``."""
    spec = config.build_request(
        "GET", _batch_path(batch_id), query=_beta_query(beta), options=options, betas=betas
    )
    return Call(spec=spec, parse=model_parser(MessageBatch), operation="batches.retrieve")


def list_call(
    config: RequestBuilder,
    *,
    limit: int | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    options: RequestOptions | None = None,
    beta: bool = False,
    betas: Sequence[str] | None = None,
) -> PageCall[MessageBatchPage, MessageBatch]:
    """``GET /v1/messages/batches``: the first page asked for, and how to get the next.

    Pages go most recent first; with ``before_id`` they go backwards from it.
    """
    query: dict[str, str] = {}
    if limit is not None:
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        query["limit"] = str(limit)
    if after_id is not None:
        query["after_id"] = after_id
    if before_id is not None:
        query["before_id"] = before_id
    spec = config.build_request(
        "GET", BATCHES_PATH, query=_beta_query(beta, query), options=options, betas=betas
    )
    backwards = before_id is not None

    def next_page(page: MessageBatchPage) -> PageCall[MessageBatchPage, MessageBatch] | None:
        if not page.has_more or not page.data:
            return None
        cursor = (
            (page.first_id or page.data[0].id) if backwards else (page.last_id or page.data[-1].id)
        )
        return list_call(
            config,
            limit=limit,
            after_id=None if backwards else cursor,
            before_id=cursor if backwards else None,
            options=options,
            beta=beta,
            betas=betas,
        )

    return PageCall(
        Call(spec, model_parser(MessageBatchPage), "batches.list"),
        lambda page: page.data,
        next_page,
    )


def cancel_call(
    config: RequestBuilder,
    batch_id: str,
    *,
    options: RequestOptions | None = None,
    beta: bool = False,
    betas: Sequence[str] | None = None,
) -> Call[MessageBatch]:
    """``POST /v1/messages/batches/{id}/cancel``."""
    spec = config.build_request(
        "POST",
        _batch_path(batch_id, "/cancel"),
        query=_beta_query(beta),
        options=options,
        betas=betas,
    )
    return Call(spec=spec, parse=model_parser(MessageBatch), operation="batches.cancel")


def delete_call(
    config: RequestBuilder,
    batch_id: str,
    *,
    options: RequestOptions | None = None,
    beta: bool = False,
    betas: Sequence[str] | None = None,
) -> Call[DeletedMessageBatch]:
    """``DELETE /v1/messages/batches/{id}`` (only once the batch has ended)."""
    spec = config.build_request(
        "DELETE", _batch_path(batch_id), query=_beta_query(beta), options=options, betas=betas
    )
    return Call(spec=spec, parse=model_parser(DeletedMessageBatch), operation="batches.delete")


def results_spec(
    config: RequestBuilder,
    batch: MessageBatch,
    *,
    options: RequestOptions | None = None,
    beta: bool = False,
    betas: Sequence[str] | None = None,
) -> RequestSpec:
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
    return config.build_request(
        "GET",
        path,
        query=_beta_query(beta, query),
        options=options,
        betas=betas,
        accept="application/binary",
    )
