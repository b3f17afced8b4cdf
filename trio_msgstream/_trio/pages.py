"""Paginated lists under trio: ``async for item in client.models.list()``.

The pages and how to get the next one are the core's :class:`PageCall`; this driver
only awaits them. Nothing is fetched until the iteration asks for it, or until the
paginator is awaited (``page = await client.models.list(limit=20)``, the official SDK's
spelling of the first page).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any, Generic, TypeVar

from .._core.request.calls import PageCall
from .request import execute
from .wire import WireClient

__all__ = ["AsyncPaginator"]

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class AsyncPaginator(Generic[PageT, ItemT]):
    """Every item of a paginated list (``async for``), or its pages (:meth:`pages`)."""

    def __init__(self, client: WireClient, first: PageCall[PageT, ItemT]) -> None:
        self._client = client
        self._first = first

    async def pages(self) -> AsyncIterator[PageT]:
        """The pages, one request each, fetched as the iteration asks."""
        current: PageCall[PageT, ItemT] | None = self._first
        while current is not None:
            page = await execute(self._client, current.call)
            yield page
            current = current.next_page(page)

    async def first_page(self) -> PageT:
        """The first page alone."""
        return await execute(self._client, self._first.call)

    def __await__(self) -> Generator[Any, None, PageT]:
        """``await client.models.list()``: the first page alone (:meth:`first_page`)."""
        return self.first_page().__await__()

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._items()

    async def _items(self) -> AsyncIterator[ItemT]:
        current: PageCall[PageT, ItemT] | None = self._first
        while current is not None:
            page = await execute(self._client, current.call)
            for item in current.items(page):
                yield item
            current = current.next_page(page)
