"""Building Message Batches from keyed params, within the API's limits. Pure (sans-IO).

Theory of operation: a batch is a list of ``{"custom_id": ..., "params": {...}}``
requests. Fan-out takes the same work as keys and params
(``fan.submit(key, **params)``), so :func:`batch_requests` accepts that shape too:
a mapping ``{key: params}``, pairs ``(key, params)``, or requests already in the
API's shape. Each request is checked (``custom_id`` 1 to 64 characters of letters,
digits, ``_`` and ``-``, unique; ``params`` a mapping without ``stream``) and measured
once, in the compact JSON the client sends.

The API takes at most :data:`MAX_BATCH_REQUESTS` requests and :data:`MAX_BATCH_BYTES`
bytes per batch (https://docs.claude.com/en/docs/build-with-claude/batch-processing,
"Batch limitations"). :func:`check_batch_limits` says, before anything is uploaded,
which limit a batch breaks and by how much; :func:`split_batches` cuts a larger job
into consecutive batches that each fit, keeping the order of the requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..exceptions import MsgStreamError

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_REQUESTS",
    "BatchLimitError",
    "BatchRequest",
    "BatchRequestsInput",
    "batch_requests",
    "check_batch_limits",
    "split_batches",
]

MAX_BATCH_REQUESTS: Final = 100_000
"""Requests one batch may hold."""
MAX_BATCH_BYTES: Final = 256_000_000
"""Bytes one batch's request body may take: the documented "256 MB", read as the
smaller of its two meanings (10**6, not 2**20, bytes per MB) to stay on the safe side."""

_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# {"requests":[ ... ]}
_ENVELOPE = len(b'{"requests":[]}')

BatchRequestsInput = (
    Mapping[str, Mapping[str, Any]]
    | Iterable[tuple[str, Mapping[str, Any]]]
    | Iterable[Mapping[str, Any]]
)
"""What :func:`batch_requests` accepts: ``{key: params}``, ``(key, params)`` pairs, or
``{"custom_id": ..., "params": ...}`` requests."""


class BatchLimitError(MsgStreamError, ValueError):
    """A batch breaks one of the API's limits, or a request in it is malformed.

    Raised before anything is uploaded. Use ``split_batches`` (or
    ``batches.create_many``) for a job larger than one batch.

    Attributes:
        custom_id: The offending request's ``custom_id``, when one request is at fault.
    """

    def __init__(self, message: str, *, custom_id: str | None = None) -> None:
        super().__init__(message)
        self.custom_id = custom_id


@dataclass(frozen=True)
class BatchRequest:
    """One checked request of a batch and its encoded size.

    Attributes:
        custom_id: The request's id (its key in the results).
        params: The Messages API parameters.
        size: Bytes of the request's compact JSON.
    """

    custom_id: str
    params: Mapping[str, Any]
    size: int

    def to_api(self) -> dict[str, Any]:
        """The request as the API takes it."""
        return {"custom_id": self.custom_id, "params": dict(self.params)}


def _encoded_size(custom_id: str, params: Mapping[str, Any]) -> int:
    try:
        text = json.dumps(
            {"custom_id": custom_id, "params": params}, separators=(",", ":"), ensure_ascii=False
        )
    except (TypeError, ValueError) as exc:
        raise BatchLimitError(
            f"request {custom_id!r}: params are not JSON-serialisable: {exc}",
            custom_id=custom_id,
        ) from None
    return len(text.encode("utf-8"))


def _pairs(items: BatchRequestsInput) -> Iterable[tuple[Any, Any]]:
    if isinstance(items, Mapping):
        yield from items.items()
        return
    for item in items:
        if isinstance(item, Mapping):
            if set(item) - {"custom_id", "params"}:
                extra = sorted(set(item) - {"custom_id", "params"})
                raise BatchLimitError(
                    f"a batch request has custom_id and params only, not {extra}",
                    custom_id=item.get("custom_id"),
                )
            yield item.get("custom_id"), item.get("params")
        elif isinstance(item, tuple) and len(item) == 2:
            yield item
        else:
            raise BatchLimitError(
                "a batch request is a (key, params) pair or a "
                f"{{'custom_id': ..., 'params': ...}} mapping, not {type(item).__name__}"
            )


def _checked(custom_id: Any, params: Any) -> BatchRequest:
    if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
        raise BatchLimitError(
            f"custom_id {custom_id!r} is not 1 to 64 letters, digits, '_' or '-'",
            custom_id=custom_id if isinstance(custom_id, str) else None,
        )
    if not isinstance(params, Mapping):
        raise BatchLimitError(
            f"request {custom_id!r}: params must be a mapping of Messages API parameters",
            custom_id=custom_id,
        )
    if params.get("stream"):
        raise BatchLimitError(
            f"request {custom_id!r}: a batch request cannot stream (remove 'stream')",
            custom_id=custom_id,
        )
    return BatchRequest(custom_id, params, _encoded_size(custom_id, params))


def batch_requests(items: BatchRequestsInput) -> list[BatchRequest]:
    """Check and measure every request of a job, in order.

    Args:
        items: ``{key: params}``, ``(key, params)`` pairs, or API-shaped requests.
            Keys are the requests' ``custom_id``: strings of 1 to 64 letters, digits,
            ``_`` or ``-``, unique within the job.

    Returns:
        The requests, with their encoded sizes.

    Raises:
        BatchLimitError: A malformed or duplicate ``custom_id``, params that are not a
            mapping, not JSON-serialisable, or ask to stream.
    """
    seen: set[str] = set()
    checked: list[BatchRequest] = []
    for custom_id, params in _pairs(items):
        request = _checked(custom_id, params)
        if request.custom_id in seen:
            raise BatchLimitError(
                f"custom_id {request.custom_id!r} appears twice; each must be unique",
                custom_id=request.custom_id,
            )
        seen.add(request.custom_id)
        checked.append(request)
    return checked


def _body_size(sizes: Iterable[int]) -> int:
    count = 0
    total = _ENVELOPE
    for size in sizes:
        total += size
        count += 1
    return total + max(count - 1, 0)  # the commas


def check_batch_limits(
    requests: list[BatchRequest],
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> int:
    """Check one batch against the API's limits before it is uploaded.

    Returns:
        The size of the request body in bytes.

    Raises:
        BatchLimitError: No requests, too many, or too many bytes.
    """
    if not requests:
        raise BatchLimitError("a batch needs at least one request")
    if len(requests) > max_requests:
        raise BatchLimitError(
            f"a batch holds at most {max_requests:,} requests, this one has "
            f"{len(requests):,}: split it (split_batches() or batches.create_many())"
        )
    size = _body_size(r.size for r in requests)
    if size > max_bytes:
        raise BatchLimitError(
            f"a batch may take at most {max_bytes:,} bytes, this one takes {size:,}: "
            "split it (split_batches() or batches.create_many())"
        )
    return size


def split_batches(
    items: BatchRequestsInput | list[BatchRequest],
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[list[BatchRequest]]:
    """Cut a job into consecutive batches that each fit the limits.

    Every batch is filled as far as both limits allow, in the requests' order, so
    the result is the fewest batches that keep that order.

    Returns:
        The batches (at least one request each); empty for an empty job.

    Raises:
        BatchLimitError: A malformed request (see :func:`batch_requests`), or one
            request alone larger than ``max_bytes``.
    """
    if max_requests < 1:
        raise ValueError("max_requests must be >= 1")
    requests = (
        items
        if isinstance(items, list) and all(isinstance(r, BatchRequest) for r in items)
        else batch_requests(items)  # type: ignore[arg-type]
    )
    batches: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    size = _ENVELOPE
    for request in requests:
        alone = _ENVELOPE + request.size
        if alone > max_bytes:
            raise BatchLimitError(
                f"request {request.custom_id!r} alone takes {alone:,} bytes, more than "
                f"the {max_bytes:,} a batch may take",
                custom_id=request.custom_id,
            )
        added = request.size + (1 if current else 0)
        if current and (len(current) >= max_requests or size + added > max_bytes):
            batches.append(current)
            current, size = [], _ENVELOPE
            added = request.size
        current.append(request)
        size += added
    if current:
        batches.append(current)
    return batches
