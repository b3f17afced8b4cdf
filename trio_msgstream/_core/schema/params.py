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

Version rules: :func:`check_params` applies what the ``anthropic-version`` changes
before the request is sent. Under ``2026-10-21`` the API answers 400 to ``temperature``,
``top_p`` and ``top_k`` (even at their default values), to a ``document`` block in an
assistant turn, and to non-empty ``citations`` on a text block in a user turn; sending
such a request could only fail, later and with a retry budget spent on nothing, so it
raises :class:`~trio_msgstream.RequestParameterError` at once. ``2023-06-01`` allows
them all. A version this table does not know is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeAlias

from ..exceptions import RequestParameterError
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
)

__all__ = [
    "API_VERSION_RULES",
    "MessageCountTokensParams",
    "MessageCreateParams",
    "MessageParam",
    "ThinkingConfigParam",
    "ToolChoiceParam",
    "check_params",
]


class MessageCreateParams(_MessageCreateFields, total=False):
    """The parameters of ``messages.create`` and ``messages.stream``.

    ``model``, ``max_tokens`` and ``messages`` are required. ``temperature``,
    ``top_p`` and ``top_k`` exist only for clients pinned to API version
    ``2023-06-01``: under ``2026-10-21`` they are rejected (see :func:`check_params`).
    Beta-only parameters (``mcp_servers``, ``context_management``, ...) need the beta
    endpoint (``client.beta.messages`` with ``betas=[...]``).
    """

    temperature: float
    """Sampling temperature (API version ``2023-06-01`` only)."""
    top_p: float
    """Nucleus sampling (API version ``2023-06-01`` only)."""
    top_k: int
    """Top-k sampling (API version ``2023-06-01`` only)."""


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


_SAMPLING = ("temperature", "top_p", "top_k")

API_VERSION_RULES: Final[dict[str, tuple[str, ...]]] = {
    "2023-06-01": (),
    "2026-10-21": ("sampling", "assistant_document", "user_citations"),
}
"""API version -> the request rules :func:`check_params` applies for it."""


def check_params(params: Mapping[str, Any], api_version: str) -> None:
    """Reject, before sending, a request the API version would answer with a 400.

    Args:
        params: The request's parameters (an ``extra_body`` among them is checked
            too, as it is merged into the body).
        api_version: The ``anthropic-version`` the request is sent with.

    Raises:
        RequestParameterError: Under ``2026-10-21``: ``temperature``, ``top_p`` or
            ``top_k`` is set; an assistant turn holds a ``document`` block; or a text
            block of a user turn has non-empty ``citations``. The message names the
            parameter and what to do.
    """
    rules = API_VERSION_RULES.get(api_version, ())
    if not rules:
        return
    extra = params.get("extra_body")
    bodies = [params, extra] if isinstance(extra, Mapping) else [params]
    if "sampling" in rules:
        for body in bodies:
            for name in _SAMPLING:
                if name in body:
                    raise RequestParameterError(
                        f"{name!r} is not accepted under API version {api_version} (the API "
                        "rejects sampling parameters even at their defaults): remove it, or "
                        "create the client with api_version='2023-06-01'"
                    )
    for body in bodies:
        messages = body.get("messages")
        if isinstance(messages, Iterable) and not isinstance(messages, (str, bytes, Mapping)):
            _check_messages(messages, rules, api_version)


def _check_messages(messages: Iterable[Any], rules: tuple[str, ...], version: str) -> None:
    for position, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, (str, bytes)) or not isinstance(content, Iterable):
            continue
        for block in content:
            kind = _field(block, "type")
            if role == "assistant" and kind == "document" and "assistant_document" in rules:
                raise RequestParameterError(
                    f"messages[{position}]: a document block in an assistant turn is not "
                    f"accepted under API version {version}; move it to a user turn"
                )
            if (
                role == "user"
                and kind == "text"
                and "user_citations" in rules
                and _field(block, "citations")
            ):
                raise RequestParameterError(
                    f"messages[{position}]: citations on a text block of a user turn are not "
                    f"accepted under API version {version}; send the text without them"
                )


def _field(block: Any, name: str) -> Any:
    if isinstance(block, Mapping):
        return block.get(name)
    return getattr(block, name, None)  # a response block sent back in a turn
