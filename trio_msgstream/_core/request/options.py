"""Request options: the per-request settings every entry point takes, defined once.

Part of the sans-IO core. Every entry point (``open_message_stream``,
``messages.stream/create/count_tokens``, fan-out ``submit``, the sync client, the
endpoints) accepts these keyword arguments beside the API's own parameters, and hands
them here: :func:`split_options` separates them from the parameters, and
:meth:`ClientConfig.build_request` turns them into a :class:`RequestSpec`. Adding an
option means adding it to :class:`RequestOptions` (and to ``build_request`` where it
takes effect); the signatures pick it up through ``Unpack`` of the keyword-argument
types in :mod:`.kwargs` (imported by the type checkers; at run time on first use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from ..config import NotGiven, TimeoutTypes
from .spec import UsageBudget

if TYPE_CHECKING:
    from .kwargs import CountTokensKwargs as CountTokensKwargs
    from .kwargs import MessageKwargs as MessageKwargs
    from .kwargs import StreamKwargs as StreamKwargs

__all__ = [
    "OPTION_NAMES",
    "CountTokensKwargs",
    "MessageKwargs",
    "RequestOptions",
    "StreamKwargs",
    "split_options",
]


class RequestOptions(TypedDict, total=False):
    """Per-request settings, beside the API's parameters."""

    timeout: TimeoutTypes | NotGiven
    """This request's :class:`~trio_msgstream.Timeout` (or seconds)."""
    max_retries: int | NotGiven
    """This request's retry budget."""
    extra_headers: Mapping[str, str] | None
    """Added to the request headers (they win over the client's)."""
    extra_query: Mapping[str, str] | None
    """Added to the URL query."""
    extra_body: Mapping[str, Any] | None
    """Merged into the JSON body: parameters this library does not know yet."""
    usage_limits: UsageBudget | Sequence[UsageBudget] | None
    """A :class:`~trio_msgstream.UsageLimits` (this request's own budget) or a
    :class:`~trio_msgstream.UsageTracker` (a budget shared with other requests), or
    several: checked before the request is sent and as its usage arrives."""


OPTION_NAMES: frozenset[str] = frozenset(RequestOptions.__annotations__)


def split_options(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], RequestOptions]:
    """Separate the request options from the API parameters in ``kwargs``."""
    params: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in OPTION_NAMES:
            options[key] = value
        else:
            params[key] = value
    return params, RequestOptions(**options)  # type: ignore[typeddict-item]


def __getattr__(name: str) -> Any:
    # The keyword-argument types extend the generated parameter types, a large module
    # that only type checkers need: :mod:`.kwargs` is imported when one is asked for.
    if name in ("CountTokensKwargs", "MessageKwargs", "StreamKwargs"):
        from . import kwargs

        return getattr(kwargs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
