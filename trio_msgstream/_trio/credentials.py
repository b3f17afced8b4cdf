"""The trio driver of a cloud platform's credential step: never on the event loop.

A platform's :meth:`~trio_msgstream._core.platforms.base.Platform.credential` returns a
ready credential, or a step to get one: a :class:`~._core.platforms.base.Blocking`
lookup (AWS credential chain, Google token refresh, a plain token provider: files, a
metadata server, a token endpoint) runs in a worker thread, an
:class:`~._core.platforms.base.Awaiting` one (an async token provider) is awaited in
the request's own task.

Cancellation: a blocking lookup cannot be interrupted; a cancelled request stops
waiting for it at once (``abandon_on_cancel``) and the lookup finishes in its thread,
where its result still fills the platform's cache for the next request.
"""

from __future__ import annotations

import inspect
from typing import Any

import trio

from .._core.platforms.base import Awaiting, Blocking

__all__ = ["resolve_credential"]


async def resolve_credential(value: Any) -> Any:
    """The credential for ``value`` (as :meth:`Platform.credential` returned it)."""
    if isinstance(value, Blocking):
        value = await trio.to_thread.run_sync(value.call, abandon_on_cancel=True)
    elif isinstance(value, Awaiting):
        value = await value.call()
    if inspect.isawaitable(value):  # a plain callable that returned an awaitable
        value = await value
    return value
