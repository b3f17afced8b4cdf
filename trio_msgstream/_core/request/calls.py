"""Calls: one request and how to read its answer, for the endpoints that are not streams.

Part of the sans-IO core. An endpoint (count tokens, models, batches, ...) is written
once as a function returning a :class:`Call`; the async and the sync client execute it
with the same rules (retries, timeouts, typed errors, bounded body) through their
``_execute`` driver. A paginated endpoint returns a :class:`PageCall`, which also says
how to get the next page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..exceptions import StreamProtocolError
from .spec import RequestSpec

__all__ = ["Call", "PageCall", "model_parser"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request ready to send and the function that reads its 2xx body."""

    spec: RequestSpec
    parse: Callable[[bytes], T]
    operation: str
    """Its name in logs and telemetry (``count_tokens``, ``models.list``, ...)."""


@dataclass(frozen=True)
class PageCall(Generic[T, ItemT]):
    """A call for one page of a list, with the items of a page and the next page."""

    call: Call[T]
    items: Callable[[T], Sequence[ItemT]]
    next_page: Callable[[T], PageCall[T, ItemT] | None]


def model_parser(model: type[ModelT]) -> Callable[[bytes], ModelT]:
    """A body parser validating JSON into ``model``; anything else is a protocol error."""

    def parse(body: bytes) -> ModelT:
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise StreamProtocolError(
                f"the response is not a {model.__name__}: {exc.error_count()} validation "
                f"error(s), first: {exc.errors()[0]['msg']}",
                body=body[:200].decode("utf-8", "replace"),
            ) from None

    return parse
