"""Run a service task for the duration of a block; the block's errors come out as themselves.

A context manager that runs a server in a nursery around its ``yield`` would, under
trio's strict exception groups, hand the body's exception back as an
``ExceptionGroup`` of one, so ``except BadRequestError:`` around the block would miss
it. :func:`open_service` unwraps exactly that case (and a group of nothing but
``trio.Cancelled``); a group that also holds the service's own failure is left whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

__all__ = ["open_service"]


@asynccontextmanager
async def open_service(start: Callable[..., Awaitable[object]]) -> AsyncIterator[Any]:
    """Start ``start`` with ``nursery.start``, yield what it reported, cancel it on exit.

    Raises:
        BaseException: The body's exception as itself (``trio.Cancelled`` too).
    """
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            value = await nursery.start(start)
            try:
                yield value
            except BaseException as exc:
                body_error = exc
                raise
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        sole = _sole_error(group, body_error)
        if sole is None:
            raise
        context = sole.__context__
        try:
            raise sole
        finally:
            sole.__context__ = context
            del sole, group


def _sole_error(
    group: BaseExceptionGroup[BaseException], body_error: BaseException | None
) -> BaseException | None:
    """The body's exception if the group holds nothing else (but ``Cancelled``s)."""
    leaves = list(_leaves(group))
    if body_error is not None and body_error in leaves:
        others = [e for e in leaves if e is not body_error]
        if all(isinstance(e, trio.Cancelled) for e in others):
            return body_error
        return None
    if leaves and all(isinstance(e, trio.Cancelled) for e in leaves):
        return leaves[0]
    return None


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in _leaves(sub)]
    return [error]
