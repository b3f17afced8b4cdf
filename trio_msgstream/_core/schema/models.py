"""Pydantic models of the Messages API objects: the message, and (re-exported from
:mod:`.blocks`) its content blocks, deltas, usage and stop details.

Part of the sans-IO core (no trio, no httpx). Every model allows extra fields so that
new API features pass through untouched, and every discriminated union has a generic
fallback member so that an unknown ``type`` is kept rather than dropped or raised.

The block-level models are generated (``scripts/gen_models.py``) from the wire format
of both the regular and the beta endpoints; :class:`Message` is written here, as it
is the object the accumulator builds.
"""

from typing import Literal

from pydantic import Field, PrivateAttr

from . import blocks
from .blocks import *  # noqa: F403
from .blocks import APIModel as APIModel
from .blocks import (
    Container,
    ContentBlock,
    ContextManagementResponse,
    Diagnostics,
    InputTransformation,
    RefusalStopDetails,
    Usage,
)

__all__ = sorted([*blocks.__all__, "Message", "StopDetails"])

StopDetails = RefusalStopDetails
"""Why the output stopped, when the ``stop_reason`` has more to say (a refusal)."""


class Message(APIModel):
    """A Messages API message, as returned by ``create()`` or accumulated from a stream.

    ``context_management`` and ``input_transformations`` come from the beta endpoint;
    they stay ``None`` elsewhere.
    """

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str = ""
    content: list[ContentBlock] = Field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: RefusalStopDetails | None = None
    usage: Usage = Field(default_factory=Usage)
    container: Container | None = None
    diagnostics: Diagnostics | None = None
    context_management: ContextManagementResponse | None = None
    input_transformations: list[InputTransformation] | None = None

    _request_id: str | None = PrivateAttr(default=None)
    """The ``request-id`` of the response that carried this message (as the official
    SDK's ``message._request_id``): set on what ``create()``, ``parse()`` and a stream's
    final message return; ``None`` for a message built any other way. Equality ignores
    it: the same message from two requests compares equal."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message) and other._request_id != self._request_id:
            twin = other.model_copy()
            twin._request_id = self._request_id
            return super().__eq__(twin)
        return super().__eq__(other)
