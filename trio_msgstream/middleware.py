"""Client middleware: code around every HTTP attempt (``middleware=[...]`` on a client).

The same names as the official SDK's, so its middleware ports by changing the import::

    from trio_msgstream.middleware import APIRequest, AsyncCallNext, Middleware

:class:`Middleware` (``handle`` for :class:`~trio_msgstream.Client`, ``handle_async``
for :class:`~trio_msgstream.AsyncClient`) or a plain function ``(request, call_next)``;
:class:`APIRequest` is what it sees, :class:`APIResponse` / :class:`AsyncAPIResponse`
what ``call_next`` returns. :class:`BetaRefusalFallbackMiddleware` and
:class:`BetaFallbackState` retry a refused ``client.beta.messages`` request down a chain
of fallback models. See ``docs/middleware.md``.
"""

from . import _claim_public
from ._core.middleware.chain import AsyncCallNext as AsyncCallNext
from ._core.middleware.chain import AsyncMiddlewareCallable as AsyncMiddlewareCallable
from ._core.middleware.chain import CallNext as CallNext
from ._core.middleware.chain import Middleware as Middleware
from ._core.middleware.chain import MiddlewareCallable as MiddlewareCallable
from ._core.middleware.chain import MiddlewareInput as MiddlewareInput
from ._core.middleware.fallback import DEFAULT_BETAS as DEFAULT_BETAS
from ._core.middleware.fallback import BetaFallbackState as BetaFallbackState
from ._core.middleware.fallback import (
    BetaRefusalFallbackMiddleware as BetaRefusalFallbackMiddleware,
)
from ._core.middleware.framing import register_framing as register_framing
from ._core.middleware.request import APIRequest as APIRequest
from ._core.middleware.request import RequestHeaders as RequestHeaders
from ._sync.middleware import APIResponse as APIResponse
from ._trio.middleware import AsyncAPIResponse as AsyncAPIResponse

__all__ = [
    "DEFAULT_BETAS",
    "APIRequest",
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncCallNext",
    "AsyncMiddlewareCallable",
    "BetaFallbackState",
    "BetaRefusalFallbackMiddleware",
    "CallNext",
    "Middleware",
    "MiddlewareCallable",
    "MiddlewareInput",
    "RequestHeaders",
    "register_framing",
]

_claim_public(__name__, globals())
del _claim_public
