"""The Messages API request parameters, typed; and the rules an API version sets.

Part of the sans-IO core (no trio, no httpx).

Types: :class:`MessageCreateParams` and :class:`MessageCountTokensParams` are the
keyword arguments of ``messages.create/stream`` and ``messages.count_tokens`` (the
client methods take them as ``**params: Unpack[...]``), so a misspelt parameter or a
message of the wrong shape is a type error in the user's code under mypy and pyright.
The types of their fields (messages, every content block, tools including the server
tools, tool choice, thinking, system, metadata, output config, ...) are generated from
the request wire format into :mod:`.param_types`; at run time they are plain dicts.
A parameter this library does not know yet still reaches the API through
``extra_body``.

Version rules (in :mod:`.version_rules`, which the request path imports without these
types): :func:`check_params` applies what the ``anthropic-version`` changes
before the request is sent. Under ``2026-10-21`` the API answers 400 to ``temperature``,
``top_p`` and ``top_k`` (even at their default values), to a ``document`` block in an
assistant turn, and to non-empty ``citations`` on a text block in a user turn; sending
such a request could only fail, later and with a retry budget spent on nothing, so it
raises :class:`~trio_msgstream.RequestParameterError` at once. ``2023-06-01`` allows
them all. A version this table does not know is not checked.
"""

from __future__ import annotations

from typing import TypeAlias

from .param_types import *  # noqa: F403
from .param_types import (
    AssistantMessageParam,
    SystemMessageParam,
    ThinkingConfigAdaptiveParam,
    ThinkingConfigBetweenToolsParam,
    ThinkingConfigDisabledParam,
    ThinkingConfigEnabledParam,
    ToolChoiceAnyParam,
    ToolChoiceAutoParam,
    ToolChoiceNoneParam,
    ToolChoiceToolParam,
    UserMessageParam,
    _MessageCountTokensFields,
    _MessageCreateFields,
    _MessageCreateFieldsExceptTools,
)
from .version_rules import API_VERSION_RULES as API_VERSION_RULES
from .version_rules import check_params as check_params

__all__ = [
    "API_VERSION_RULES",
    "MessageCountTokensParams",
    "MessageCreateParams",
    "MessageCreateParamsExceptTools",
    "MessageParam",
    "ThinkingConfigParam",
    "ToolChoiceParam",
    "check_params",
]


class MessageCreateParamsExceptTools(_MessageCreateFieldsExceptTools, total=False):
    """The parameters of ``messages.create`` but ``tools``: what the tool runner
    takes beside its own ``tools`` (which holds ``@tool`` functions too).

    ``temperature``, ``top_p`` and ``top_k`` exist only for clients pinned to API
    version ``2023-06-01``: under ``2026-10-21`` they are rejected (see
    :func:`check_params`).
    """

    temperature: float
    """Sampling temperature (API version ``2023-06-01`` only)."""
    top_p: float
    """Nucleus sampling (API version ``2023-06-01`` only)."""
    top_k: int
    """Top-k sampling (API version ``2023-06-01`` only)."""


class MessageCreateParams(_MessageCreateFields, MessageCreateParamsExceptTools, total=False):
    """The parameters of ``messages.create`` and ``messages.stream``.

    ``model``, ``max_tokens`` and ``messages`` are required. ``temperature``,
    ``top_p`` and ``top_k`` exist only for clients pinned to API version
    ``2023-06-01``: under ``2026-10-21`` they are rejected (see :func:`check_params`).
    Beta-only parameters (``mcp_servers``, ``context_management``, ...) need the beta
    endpoint (``client.beta.messages`` with ``betas=[...]``).
    """


class MessageCountTokensParams(_MessageCountTokensFields, total=False):
    """The parameters of ``messages.count_tokens``: ``model`` and ``messages`` are
    required."""


MessageParam: TypeAlias = UserMessageParam | AssistantMessageParam | SystemMessageParam
"""One turn of ``messages``."""

ThinkingConfigParam: TypeAlias = (
    ThinkingConfigEnabledParam
    | ThinkingConfigDisabledParam
    | ThinkingConfigBetweenToolsParam
    | ThinkingConfigAdaptiveParam
)
"""The ``thinking`` parameter."""

ToolChoiceParam: TypeAlias = (
    ToolChoiceAutoParam | ToolChoiceAnyParam | ToolChoiceToolParam | ToolChoiceNoneParam
)
"""The ``tool_choice`` parameter."""
