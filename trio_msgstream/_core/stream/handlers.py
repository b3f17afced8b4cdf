"""Which handler an event calls, with which arguments. Pure (sans-IO).

The async :class:`~trio_msgstream.MessageStream` and the sync
:class:`~trio_msgstream.SyncMessageStream` run the same ``on_*`` handlers by the same
rules; only the call differs (``await`` or not). The rules live here, once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .events import (
    CitationEvent,
    ContentBlockStopEvent,
    InputJsonEvent,
    MessageStopEvent,
    SignatureEvent,
    TextEvent,
    ThinkingEvent,
)

__all__ = [
    "DERIVED_EVENTS",
    "HANDLER_NAMES",
    "handler_call",
    "is_api_event",
    "is_content",
    "on_text_takes_snapshot",
    "overridden_handlers",
]

HANDLER_NAMES = (
    "on_stream_event",
    "on_text",
    "on_input_json",
    "on_thinking",
    "on_signature",
    "on_citation",
    "on_content_block",
    "on_message",
)
"""The per-event handlers; ``on_exception``, ``on_timeout`` and ``on_end`` are called
by the stream's end rather than by an event."""


DERIVED_EVENTS = (TextEvent, InputJsonEvent, ThinkingEvent, SignatureEvent, CitationEvent)
"""The events the library derives from the API's deltas (the API never sends them)."""


def is_api_event(event: Any) -> bool:
    """Whether the API sent ``event`` (every event but the derived ones).

    ``on_stream_event`` is called for these alone, once per event the API sent, as the
    SDK's helper documentation describes it ("fired when an event is received from the
    API"); a derived ``text``/``input_json``/... event goes to its own handler only.
    """
    return not isinstance(event, DERIVED_EVENTS)


def overridden_handlers(cls: type, base: type) -> frozenset[str]:
    """The per-event handlers ``cls`` overrides; only those are ever called."""
    return frozenset(
        name for name in HANDLER_NAMES if getattr(cls, name) is not getattr(base, name)
    )


def on_text_takes_snapshot(method: Callable[..., Any]) -> bool:
    """Whether an ``on_text`` override takes ``(self, text, snapshot)``.

    The seed document's handlers take ``(self, text)``; those are called with the
    delta alone and the snapshot is never built.
    """
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def is_content(event: Any) -> bool:
    """Whether an event carries content: anything but ``ping`` and ``message_start``.

    Until a content event has reached the consumer, a failure may still be retried.
    """
    kind: str = event.type
    return kind != "ping" and kind != "message_start"


def handler_call(
    event: Any, overridden: frozenset[str], text_snapshot: bool
) -> tuple[str, tuple[Any, ...]] | None:
    """The specific handler ``event`` calls (after ``on_stream_event``) and its
    arguments, or ``None`` when it calls none that is overridden."""
    if isinstance(event, TextEvent):
        if "on_text" in overridden:
            return "on_text", (event.text, event.snapshot) if text_snapshot else (event.text,)
    elif isinstance(event, InputJsonEvent):
        if "on_input_json" in overridden:
            return "on_input_json", (event.partial_json, event.snapshot)
    elif isinstance(event, ThinkingEvent):
        if "on_thinking" in overridden:
            return "on_thinking", (event.thinking, event.snapshot)
    elif isinstance(event, SignatureEvent):
        if "on_signature" in overridden:
            return "on_signature", (event.signature,)
    elif isinstance(event, CitationEvent):
        if "on_citation" in overridden:
            return "on_citation", (event.citation, event.snapshot)
    elif isinstance(event, ContentBlockStopEvent):
        if "on_content_block" in overridden:
            return "on_content_block", (event.content_block,)
    elif isinstance(event, MessageStopEvent) and "on_message" in overridden:
        return "on_message", (event.message,)
    return None
