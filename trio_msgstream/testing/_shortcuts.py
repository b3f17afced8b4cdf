"""Module-level shortcuts for the :class:`ScriptedResponse` constructors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._responses import ScriptedResponse

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping

__all__ = [
    "error_response",
    "events_response",
    "replay_sse_file",
    "text_response",
    "thinking_response",
    "tool_use_response",
]


def text_response(text: str, **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.text`.

    Args:
        text: The assistant text.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.text`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.text(text, **kwargs)


def tool_use_response(name: str, input: Mapping[str, Any], **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.tool_use`.

    Args:
        name: Tool name.
        input: Tool input.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.tool_use`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.tool_use(name, input, **kwargs)


def thinking_response(thinking: str, text: str, **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.thinking`.

    Args:
        thinking: Thinking text.
        text: Answer text.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.thinking`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.thinking(thinking, text, **kwargs)


def events_response(
    events: Iterable[Mapping[str, Any] | tuple[str, Any]], **kwargs: Any
) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.events`.

    Args:
        events: Event mappings or ``(name, payload)`` tuples.
        **kwargs: Other :class:`ScriptedResponse` fields.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.events(events, **kwargs)


def error_response(
    status: int, error_type: str, message: str | None = None, **kwargs: Any
) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.error`.

    Args:
        status: HTTP status code.
        error_type: ``error.type``.
        message: ``error.message``.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.error`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.error(status, error_type, message, **kwargs)


def replay_sse_file(path: str | os.PathLike[str], **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.sse_file`.

    Args:
        path: File holding a raw ``text/event-stream`` body.
        **kwargs: Other :class:`ScriptedResponse` fields.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.sse_file(path, **kwargs)
