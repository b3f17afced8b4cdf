"""Stream events: the raw wire events, the derived events, and ``parse_event``.

Part of the sans-IO core (no trio, no httpx).

Theory of operation: the SSE decoder hands over ``(event name, data)`` pairs. The
Messages API names each SSE event after its payload's ``type``, so ``parse_event``
uses the name to pick one model and validates the JSON text in a single pydantic-core
pass (no ``json.loads`` followed by a model). When the name is missing, generic or
disagrees with the payload, a discriminated union over every known type decides. An
unknown ``type`` becomes :class:`UnknownEvent` with every field kept, and is never an
error: the API adds event types over time. A ``content_block_delta`` is first tried
against a copy of its schema whose delta union is discriminated inside pydantic-core
(the generated union calls a Python function per delta); anything that copy refuses
goes through the full schema, so results and errors are the same.

Derived events (``text``, ``input_json``, ``thinking``, ``signature``, ``citation``,
``compaction``) are
produced by the accumulator. They are small slotted objects, not pydantic models, and
compute their ``snapshot`` only when it is read, so a consumer that only wants deltas
never pays for snapshot building.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

import pydantic
from pydantic import Discriminator, Tag, TypeAdapter
from pydantic_core import SchemaValidator

from ..exceptions import StreamProtocolError
from ..schema.blocks import APIModel
from ..schema.models import (
    ContentBlock,
    ContentDelta,
    ContextManagementResponse,
    InputTransformation,
    Message,
    MessageDeltaBody,
    MessageDeltaUsage,
)
from ..typed_json.structured import ParsedOutputEvent

__all__ = [
    "CitationEvent",
    "CompactionEvent",
    "ContentBlockStopEvent",
    "ErrorBody",
    "InputJsonEvent",
    "MessageStopEvent",
    "MessageStreamEvent",
    "ParsedOutputEvent",
    "RawContentBlockDeltaEvent",
    "RawContentBlockStartEvent",
    "RawContentBlockStopEvent",
    "RawErrorEvent",
    "RawMessageDeltaEvent",
    "RawMessageStartEvent",
    "RawMessageStopEvent",
    "RawMessageStreamEvent",
    "RawPingEvent",
    "SignatureEvent",
    "TextEvent",
    "ThinkingEvent",
    "UnknownEvent",
    "parse_event",
]


class RawMessageStartEvent(APIModel):
    """The first event: the message with empty content and initial usage."""

    type: Literal["message_start"] = "message_start"
    message: Message


class RawContentBlockStartEvent(APIModel):
    """A content block opens at ``index`` (blocks open in index order)."""

    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: ContentBlock


class RawContentBlockDeltaEvent(APIModel):
    """A piece of the content block at ``index``."""

    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: ContentDelta


class RawContentBlockStopEvent(APIModel):
    """The content block at ``index`` is complete."""

    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class RawMessageDeltaEvent(APIModel):
    """Top-level changes: ``stop_reason``, ``stop_details``, ``container``, cumulative
    usage, and (beta) context management and input transformations."""

    type: Literal["message_delta"] = "message_delta"
    delta: MessageDeltaBody
    usage: MessageDeltaUsage = pydantic.Field(default_factory=MessageDeltaUsage)
    context_management: ContextManagementResponse | None = None
    input_transformations: list[InputTransformation] | None = None


class RawMessageStopEvent(APIModel):
    """The last event of a complete stream."""

    type: Literal["message_stop"] = "message_stop"


class RawPingEvent(APIModel):
    """A keep-alive; carries nothing."""

    type: Literal["ping"] = "ping"


class ErrorBody(APIModel):
    """The ``error`` object of an error event or error response."""

    type: str = "api_error"
    message: str = ""


class RawErrorEvent(APIModel):
    """An ``error`` event inside a 200 stream (for example ``overloaded_error``)."""

    type: Literal["error"] = "error"
    error: ErrorBody = pydantic.Field(default_factory=ErrorBody)


class UnknownEvent(APIModel):
    """An event of a type this version does not know; all fields kept.

    ``type`` is ``"unknown"``, so that ``if event.type == "text": event.text``
    narrows in type checkers; the wire type is ``event_type``, and dumps carry it
    back under ``type``.
    """

    type: Literal["unknown"] = "unknown"
    event_type: str
    """The ``type`` the event was sent with."""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _keep_wire_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" in data and "event_type" not in data:
            data = {**data, "type": "unknown", "event_type": data["type"]}
        return data

    @pydantic.model_serializer(mode="wrap")
    def _dump_wire_type(self, handler: pydantic.SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        if isinstance(dumped, dict) and "event_type" in dumped:
            dumped["type"] = dumped.pop("event_type")
        return dumped


class MessageStopEvent(RawMessageStopEvent):
    """``message_stop``, with the complete accumulated message attached."""

    message: Message


class ContentBlockStopEvent(RawContentBlockStopEvent):
    """``content_block_stop``, with the complete accumulated block attached."""

    content_block: ContentBlock


_KNOWN_EVENTS: dict[str, type[APIModel]] = {
    "message_start": RawMessageStartEvent,
    "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
    "message_delta": RawMessageDeltaEvent,
    "message_stop": RawMessageStopEvent,
    "ping": RawPingEvent,
    "error": RawErrorEvent,
}


def _event_tag(value: Any) -> str:
    tag = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return tag if tag in _KNOWN_EVENTS else "unknown"


RawMessageStreamEvent = Annotated[
    Annotated[RawMessageStartEvent, Tag("message_start")]
    | Annotated[RawContentBlockStartEvent, Tag("content_block_start")]
    | Annotated[RawContentBlockDeltaEvent, Tag("content_block_delta")]
    | Annotated[RawContentBlockStopEvent, Tag("content_block_stop")]
    | Annotated[RawMessageDeltaEvent, Tag("message_delta")]
    | Annotated[RawMessageStopEvent, Tag("message_stop")]
    | Annotated[RawPingEvent, Tag("ping")]
    | Annotated[RawErrorEvent, Tag("error")]
    | Annotated[UnknownEvent, Tag("unknown")],
    Discriminator(_event_tag),
]
"""Any event as sent on the wire (what ``create(stream=True)`` yields)."""

_ANY_EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


def _delta_event_validator() -> SchemaValidator:
    # The schema of RawContentBlockDeltaEvent with the delta's union discriminated on
    # its "type" key inside pydantic-core (the generated union calls a Python function
    # per delta, ~1 µs) and without the unknown-delta fallback: it validates a known
    # delta kind into exactly the classes the full schema would, and fails for
    # everything else, which then goes through the full schema (same result, same
    # errors).
    cls = RawContentBlockDeltaEvent
    schema = copy.deepcopy(cls.__pydantic_core_schema__)
    model = schema["schema"] if schema["type"] == "definitions" else schema
    union: dict[str, Any] = model["schema"]["fields"]["delta"]["schema"]
    union["discriminator"] = "type"
    del union["choices"]["unknown"]
    # pydantic-core reuses a complete model class's own validator for a "model" schema
    # naming that class ("prebuilt"), which would silently drop the edit above; while
    # the class reads as incomplete, the edited schema is compiled instead.
    cls.__pydantic_complete__ = False
    try:
        return SchemaValidator(schema, cls.model_config)  # type: ignore[arg-type]
    finally:
        cls.__pydantic_complete__ = True


_FAST_DELTA: Final = _delta_event_validator().validate_json


# One validator chain per event name: the fast path skips the union's discriminator call.
_VALIDATORS: dict[str, tuple[Callable[[str | bytes], Any], ...]] = {
    name: (model.model_validate_json,) for name, model in _KNOWN_EVENTS.items()
}
_VALIDATORS["content_block_delta"] = (_FAST_DELTA, RawContentBlockDeltaEvent.model_validate_json)


def parse_event(name: str, data: str | bytes) -> RawMessageStreamEvent:
    """Validate one SSE event's data into a typed event.

    Args:
        name: The SSE ``event`` field (the payload type on the Messages API), or
            ``"message"`` when absent.
        data: The SSE ``data`` field: a JSON object with a ``type`` key.

    Returns:
        The typed event; :class:`UnknownEvent` for a type this version does not know.

    Raises:
        StreamProtocolError: ``data`` is not JSON, not an object, or does not match
            the schema of its ``type``.
    """
    for validate in _VALIDATORS.get(name, ()):
        try:
            event: RawMessageStreamEvent = validate(data)
            return event
        except pydantic.ValidationError:
            pass  # the name may disagree with the payload; let the union decide
    try:
        return _ANY_EVENT.validate_json(data)
    except pydantic.ValidationError as exc:
        raise StreamProtocolError(
            f"invalid {name!r} event data: {_describe(exc)}", body=_preview(data)
        ) from None


def parse_known_delta(data: str | bytes) -> RawMessageStreamEvent:
    """:func:`parse_event` for a ``content_block_delta`` that
    :func:`~.lazy_deltas.scan_delta` or :func:`~.lazy_deltas.match_chunk` accepted
    (a delta of a known kind): its validator alone, the union's fallbacks only if that
    fails (it does not for what those accept).

    Raises:
        StreamProtocolError: As :func:`parse_event`.
    """
    try:
        event: RawMessageStreamEvent = _FAST_DELTA(data)
    except pydantic.ValidationError:
        return parse_event("content_block_delta", data)
    return event


def _describe(exc: pydantic.ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{first['msg']}" + (f" at {where}" if where else "")


def _preview(data: str | bytes, limit: int = 200) -> str:
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."


class _SnapshotSource:
    """Something that can rebuild a value as it stood after ``n`` deltas."""

    __slots__ = ()

    def snapshot_at(self, n: int) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class TextEvent:
    """A text delta, with the block's text so far as a lazily built ``snapshot``."""

    __slots__ = ("_n", "_source", "index", "text")
    type: Literal["text"] = "text"
    text: str
    """The delta."""
    index: int
    """The content block's index."""

    def __init__(self, text: str, index: int, source: _SnapshotSource, n: int) -> None:
        self.text = text
        self.index = index
        self._source = source
        self._n = n

    @property
    def snapshot(self) -> str:
        """The whole text of the block up to and including this delta."""
        value: str = self._source.snapshot_at(self._n)
        return value

    def __repr__(self) -> str:
        return f"TextEvent(text={self.text!r}, index={self.index})"


class ThinkingEvent:
    """A thinking delta, with the block's thinking so far as ``snapshot``."""

    __slots__ = ("_n", "_source", "index", "thinking")
    type: Literal["thinking"] = "thinking"
    thinking: str
    """The delta."""
    index: int
    """The content block's index."""

    def __init__(self, thinking: str, index: int, source: _SnapshotSource, n: int) -> None:
        self.thinking = thinking
        self.index = index
        self._source = source
        self._n = n

    @property
    def snapshot(self) -> str:
        """The whole thinking text of the block up to and including this delta."""
        value: str = self._source.snapshot_at(self._n)
        return value

    def __repr__(self) -> str:
        return f"ThinkingEvent(thinking={self.thinking!r}, index={self.index})"


class InputJsonEvent:
    """A piece of a tool's JSON input; ``snapshot`` is the partial parse so far."""

    __slots__ = ("_n", "_source", "index", "partial_json")
    type: Literal["input_json"] = "input_json"
    partial_json: str
    """The piece of JSON text."""
    index: int
    """The content block's index."""

    def __init__(self, partial_json: str, index: int, source: _SnapshotSource, n: int) -> None:
        self.partial_json = partial_json
        self.index = index
        self._source = source
        self._n = n

    @property
    def snapshot(self) -> Any:
        """The tool input parsed from the JSON so far (partial values allowed)."""
        return self._source.snapshot_at(self._n)

    def __repr__(self) -> str:
        return f"InputJsonEvent(partial_json={self.partial_json!r}, index={self.index})"


class SignatureEvent:
    """The signature of a thinking block."""

    __slots__ = ("index", "signature")
    type: Literal["signature"] = "signature"
    signature: str
    index: int
    """The content block's index."""

    def __init__(self, signature: str, index: int) -> None:
        self.signature = signature
        self.index = index

    def __repr__(self) -> str:
        return f"SignatureEvent(signature={self.signature!r}, index={self.index})"


class CitationEvent:
    """A citation added to a text block; ``snapshot`` is the block's citations so far."""

    __slots__ = ("_n", "_source", "citation", "index")
    type: Literal["citation"] = "citation"
    citation: Any
    index: int
    """The content block's index."""

    def __init__(self, citation: Any, index: int, source: _SnapshotSource, n: int) -> None:
        self.citation = citation
        self.index = index
        self._source = source
        self._n = n

    @property
    def snapshot(self) -> list[Any]:
        """The block's citations up to and including this one (a new list)."""
        value: list[Any] = self._source.snapshot_at(self._n)
        return value

    def __repr__(self) -> str:
        return f"CitationEvent(citation={self.citation!r}, index={self.index})"


class CompactionEvent:
    """A compaction block's content, as it stands after a ``compaction_delta``."""

    __slots__ = ("content", "encrypted_content", "index")
    type: Literal["compaction"] = "compaction"
    content: str | None
    """The summary text so far (``None`` when the compaction failed)."""
    encrypted_content: str | None
    """The opaque summary to send back in later requests."""
    index: int
    """The content block's index."""

    def __init__(self, content: str | None, encrypted_content: str | None, index: int) -> None:
        self.content = content
        self.encrypted_content = encrypted_content
        self.index = index

    def __repr__(self) -> str:
        return f"CompactionEvent(content={self.content!r}, index={self.index})"


MessageStreamEvent = (
    RawMessageStartEvent
    | RawContentBlockStartEvent
    | RawContentBlockDeltaEvent
    | ContentBlockStopEvent
    | RawMessageDeltaEvent
    | MessageStopEvent
    | RawPingEvent
    | RawErrorEvent
    | UnknownEvent
    | TextEvent
    | InputJsonEvent
    | ThinkingEvent
    | SignatureEvent
    | CitationEvent
    | CompactionEvent
    | ParsedOutputEvent
)
"""Every event a :class:`~trio_msgstream.MessageStream` yields: raw and derived."""
