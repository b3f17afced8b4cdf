"""Request options: the per-request settings every entry point takes, defined once.

Part of the sans-IO core. Every entry point (``open_message_stream``,
``messages.stream/create/count_tokens``, fan-out ``submit``, the sync client, the
endpoints) accepts these keyword arguments beside the API's own parameters, and hands
them here: :func:`split_options` separates them from the parameters, and
:meth:`ClientConfig.build_request` turns them into a :class:`RequestSpec`. Adding an
option means adding it to :class:`RequestOptions` (and to ``build_request`` where it
takes effect); the signatures pick it up through ``Unpack``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import TypedDict

from ..config import NotGiven, TimeoutTypes
from ..schema.params import MessageCountTokensParams, MessageCreateParams

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


class MessageKwargs(MessageCreateParams, RequestOptions, total=False):
    """The keyword arguments of ``messages.create``: the API's parameters (typed, so
    a misspelt one is a type error; new ones go in ``extra_body``), the request
    options, and ``betas`` (the ``anthropic-beta`` header)."""

    betas: Sequence[str]
    """Beta features to enable (the ``anthropic-beta`` header)."""


class StreamKwargs(MessageKwargs, total=False):
    """The keyword arguments of ``messages.stream``, ``open_message_stream`` and
    fan-out ``submit``: those of ``create`` and ``output_format``."""

    output_format: Any
    """A pydantic model or type: ask for structured output (``partial_output``
    while streaming, the parsed message at the end)."""


class CountTokensKwargs(MessageCountTokensParams, RequestOptions, total=False):
    """The keyword arguments of ``messages.count_tokens``."""

    betas: Sequence[str]
    """Beta features to enable (the ``anthropic-beta`` header)."""
