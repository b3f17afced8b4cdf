"""The rules an API version sets on a request, checked before it is sent.

Part of the sans-IO core (no trio, no httpx). :func:`check_params` applies what the
``anthropic-version`` changes: under ``2026-10-21`` the API answers 400 to
``temperature``, ``top_p`` and ``top_k`` (even at their default values), to a
``document`` block in an assistant turn, and to non-empty ``citations`` on a text block
in a user turn; sending such a request could only fail, later and with a retry budget
spent on nothing, so it raises :class:`~trio_msgstream.RequestParameterError` at once.
``2023-06-01`` allows them all. A version this table does not know is not checked.

A module of its own so that every request can be checked without importing the
generated parameter types (:mod:`.param_types`, a large module only type checkers and
``trio_msgstream.types`` need).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..exceptions import RequestParameterError

__all__ = ["API_VERSION_RULES", "check_params"]

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
