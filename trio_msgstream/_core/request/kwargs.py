"""The keyword arguments of the entry points, typed: the API's parameters and the options.

Part of the sans-IO core. :class:`MessageKwargs`, :class:`StreamKwargs` and
:class:`CountTokensKwargs` join the request parameters (:mod:`..schema.params`, built on
the generated :mod:`..schema.param_types`) and :class:`.options.RequestOptions`, for the
signatures' ``**kwargs: Unpack[...]``. Only type checkers need them, so the entry points
import this module under ``TYPE_CHECKING``: a program that streams does not import the
generated parameter types (``.options`` still hands them out on first use).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..schema.params import MessageCountTokensParams, MessageCreateParams
from .options import RequestOptions

__all__ = ["CountTokensKwargs", "MessageKwargs", "StreamKwargs"]


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
