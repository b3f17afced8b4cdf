"""The middleware chain's rules: what a middleware is, which kind each client takes,
how the chain is composed, and which middleware errors are retried.

Part of the sans-IO core. The drivers (``_trio.middleware``, ``_sync.middleware``)
compose the chain once per HTTP attempt with :func:`compose` around their own
innermost handler (which sends the request), and run it inside the request's retry
loop; they only call what is here.

Theory of operation::

    retry loop (one pass per attempt)
     └─ entry 0 (outermost) ──call_next──▶ entry 1 ──▶ ... ──▶ send (one HTTP attempt)
                            ◀──response──           ◀──      ◀── any status

A middleware is a :class:`Middleware` subclass (``handle`` for the sync client,
``handle_async`` for the async client) or a plain function ``(request, call_next)``:
``def`` for the sync client, ``async def`` for the async one. A wrong kind is a
``TypeError`` when the client is made (:func:`validate_middleware`), never a surprise
at the first request. Errors a middleware raises reach the caller as themselves;
:func:`retryable_cause` says which of them the retry rules still apply to
(:class:`~trio_msgstream.errors.RetryableError`, or an API error it was raised from).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeAlias

from ..exceptions import APIConnectionError, APIError, RetryableError
from ..request.session import RequestSession
from .request import APIRequest

__all__ = [
    "AsyncCallNext",
    "AsyncMiddlewareCallable",
    "CallNext",
    "Middleware",
    "MiddlewareCallable",
    "MiddlewareInput",
    "MiddlewareKind",
    "compose",
    "middleware_error_delay",
    "retryable_cause",
    "validate_middleware",
]

CallNext: TypeAlias = Callable[[APIRequest], Any]
"""The rest of the chain, ending in one HTTP attempt (sync client): returns an
:class:`~trio_msgstream.middleware.APIResponse` for every status, 4xx/5xx included;
connection failures raise (:class:`~trio_msgstream.APIConnectionError`)."""

AsyncCallNext: TypeAlias = Callable[[APIRequest], Awaitable[Any]]
"""The rest of the chain, ending in one HTTP attempt (async client): returns an
:class:`~trio_msgstream.middleware.AsyncAPIResponse` for every status."""

MiddlewareKind = Literal["sync", "async"]


class Middleware:
    """Base class of client middleware.

    Override :meth:`handle` (used by the sync :class:`~trio_msgstream.Client`) and/or
    :meth:`handle_async` (used by the :class:`~trio_msgstream.AsyncClient`). The
    defaults pass the request on unchanged. Each runs once per HTTP attempt, inside
    the retry loop, and returns the response (or, to answer a non-streaming request
    without the network, the parsed value the caller should get).
    """

    def handle(self, request: APIRequest, call_next: CallNext) -> Any:
        """Handle one attempt on the sync client: ``return call_next(request)``."""
        return call_next(request)

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
        """Handle one attempt on the async client: ``return await call_next(request)``."""
        return await call_next(request)


MiddlewareCallable: TypeAlias = Callable[[APIRequest, CallNext], Any]
AsyncMiddlewareCallable: TypeAlias = Callable[[APIRequest, AsyncCallNext], Awaitable[Any]]
MiddlewareInput: TypeAlias = Middleware | MiddlewareCallable | AsyncMiddlewareCallable
"""What ``middleware=[...]`` takes: a :class:`Middleware` or a plain function."""


def _name(entry: object) -> str:
    if isinstance(entry, Middleware):
        return type(entry).__name__
    name = getattr(entry, "__name__", None)
    return name if isinstance(name, str) else type(entry).__name__


def _is_async_callable(obj: object) -> bool:
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(obj, "__call__", None)  # noqa: B004  (an instance's async __call__)
    return call is not None and inspect.iscoroutinefunction(call)


def validate_middleware(
    entries: Iterable[MiddlewareInput], kind: MiddlewareKind
) -> tuple[MiddlewareInput, ...]:
    """The entries as a tuple, each checked to suit a client of ``kind``.

    Raises:
        TypeError: An entry the client cannot run (not callable, the wrong kind of
            function, or a :class:`Middleware` without the method this client calls).
    """
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        raise TypeError(f"middleware must be a list of middleware, not {type(entries).__name__}")
    checked = tuple(entries)
    method = "handle" if kind == "sync" else "handle_async"
    for entry in checked:
        name = _name(entry)
        if isinstance(entry, Middleware):
            implementation = getattr(type(entry), method)
            if implementation is getattr(Middleware, method):
                raise TypeError(
                    f"middleware {name} does not implement `{method}()`; the {kind} client "
                    f"calls `{method}()`"
                )
            if inspect.iscoroutinefunction(implementation) != (kind == "async"):
                form = "an async" if kind == "sync" else "a sync"
                raise TypeError(
                    f"middleware {name} defines `{method}()` as {form} function; the {kind} "
                    f"client needs {'a sync' if kind == 'sync' else 'an async'} one"
                )
        elif not callable(entry):
            raise TypeError(f"middleware {name} is not callable")
        elif kind == "sync" and _is_async_callable(entry):
            raise TypeError(
                f"middleware {name} is an async function; the sync client needs `def` "
                "middleware (use `async def` ones with AsyncClient)"
            )
        elif kind == "async" and not _is_async_callable(entry):
            raise TypeError(
                f"middleware {name} is not an async function; the async client needs "
                "`async def` middleware (use `def` ones with Client)"
            )
    return checked


def compose(
    entries: Sequence[MiddlewareInput],
    innermost: Callable[[APIRequest], Any],
    kind: MiddlewareKind,
    adapt: Callable[[Any, APIRequest], Any] | None = None,
) -> Callable[[APIRequest], Any]:
    """The chain as one callable: the first entry outermost, ``innermost`` last.

    The same composition serves both clients: for ``"async"`` every step returns an
    awaitable, which the step before awaits. ``adapt(result, request)`` turns what an
    entry returns into what the entry before it gets from ``call_next`` (the drivers
    make an ``httpx.Response`` a test double returned into their response type, so
    every middleware sees one kind of response).
    """
    method = "handle" if kind == "sync" else "handle_async"
    step = _Step if kind == "sync" or adapt is None else _AsyncStep
    chain = innermost
    for entry in reversed(entries):
        handler: Callable[[APIRequest, Any], Any] = (
            getattr(entry, method) if isinstance(entry, Middleware) else entry
        )
        chain = step(handler, chain, adapt)
    return chain


class _Step:
    """One entry bound to the rest of the chain (a callable ``call_next``)."""

    __slots__ = ("_adapt", "_handler", "_next")

    def __init__(
        self,
        handler: Callable[[APIRequest, Any], Any],
        call_next: Callable[[APIRequest], Any],
        adapt: Callable[[Any, APIRequest], Any] | None = None,
    ) -> None:
        self._handler = handler
        self._next = call_next
        self._adapt = adapt

    def _check(self, request: object) -> None:
        if not isinstance(request, APIRequest):
            raise TypeError(
                f"call_next takes an APIRequest (derive one with request.copy()), "
                f"not {type(request).__name__}"
            )

    def __call__(self, request: APIRequest) -> Any:
        self._check(request)
        result = self._handler(request, self._next)
        return result if self._adapt is None else self._adapt(result, request)

    def __repr__(self) -> str:
        return f"<call_next of {_name(self._handler)}>"


class _AsyncStep(_Step):
    """A step of an async chain whose results are adapted (awaited first)."""

    __slots__ = ()

    async def __call__(self, request: APIRequest) -> Any:
        self._check(request)
        result = await self._handler(request, self._next)
        assert self._adapt is not None
        return self._adapt(result, request)


def retryable_cause(error: BaseException) -> APIError | None:
    """For an error a middleware raised (not an :class:`APIError` itself): the API error
    the retry rules should judge, or ``None`` when it is not retried at all.

    Retried, as the official SDK: :class:`RetryableError` (judged as a connection
    error) and an error raised ``from`` an API error (judged as that error), found by
    walking the ``__cause__`` chain.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RetryableError):
            return APIConnectionError(f"a middleware asked for a retry: {current}")
        if isinstance(current, APIError):
            return current
        current = current.__cause__
    return None


def middleware_error_delay(session: RequestSession, error: Exception, now: float) -> float:
    """After an attempt failed with ``error`` (not an :class:`APIError`): the seconds to
    wait before the next attempt, when the retry rules take it (:func:`retryable_cause`).

    Raises:
        Exception: ``error`` itself, unchanged, when it is not retried (or no longer).
    """
    cause = retryable_cause(error)
    if cause is not None:
        try:
            return session.after_failure(cause, now)
        except APIError:
            pass
    raise error
