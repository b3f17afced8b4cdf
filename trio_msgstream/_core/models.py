"""Pydantic models of the Messages API objects: messages, usage, content blocks, deltas.

Part of the sans-IO core (no trio, no httpx). Every model allows extra fields so that
new API features pass through untouched, and every discriminated union has a generic
fallback member so that an unknown ``type`` is kept rather than dropped or raised.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

__all__ = [
    "CitationsDelta",
    "ContentBlock",
    "ContentDelta",
    "InputJSONDelta",
    "Message",
    "MessageDeltaBody",
    "MessageDeltaUsage",
    "RedactedThinkingBlock",
    "ServerToolUseBlock",
    "SignatureDelta",
    "TextBlock",
    "TextDelta",
    "ThinkingBlock",
    "ThinkingDelta",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownDelta",
    "Usage",
    "WebSearchToolResultBlock",
]


class APIModel(BaseModel):
    """Base of every API object: unknown fields are kept (forward compatibility)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow")


class Usage(APIModel):
    """Token counts of a message."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: dict[str, Any] | None = None
    service_tier: str | None = None


class TextBlock(APIModel):
    """A block of text, optionally with citations."""

    type: Literal["text"] = "text"
    text: str = ""
    citations: list[Any] | None = None


class ToolUseBlock(APIModel):
    """A client tool call. ``input`` is the parsed JSON input.

    While the block is incomplete (the stream ended or failed before its
    ``content_block_stop``), ``input`` is the best partial parse of the JSON received
    so far and ``partial_json`` holds that raw text, so nothing is lost. On a complete
    block ``partial_json`` is ``None`` and left out of dumps.
    """

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: Any = Field(default_factory=dict)
    partial_json: str | None = Field(default=None, exclude_if=lambda v: v is None)


class ServerToolUseBlock(APIModel):
    """A server tool call (``web_search`` and friends); same input rules as tool_use."""

    type: Literal["server_tool_use"] = "server_tool_use"
    id: str
    name: str
    input: Any = Field(default_factory=dict)
    partial_json: str | None = Field(default=None, exclude_if=lambda v: v is None)


class ThinkingBlock(APIModel):
    """Extended thinking text and its signature."""

    type: Literal["thinking"] = "thinking"
    thinking: str = ""
    signature: str = ""


class RedactedThinkingBlock(APIModel):
    """Thinking the API returned encrypted."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str = ""


class WebSearchToolResultBlock(APIModel):
    """The result of a server-side web search."""

    type: Literal["web_search_tool_result"] = "web_search_tool_result"
    tool_use_id: str = ""
    content: Any = None


class UnknownBlock(APIModel):
    """A content block of a type this version does not know; all fields kept."""

    type: str


_BLOCK_TYPES = frozenset(
    {
        "text",
        "tool_use",
        "server_tool_use",
        "thinking",
        "redacted_thinking",
        "web_search_tool_result",
    }
)


def _tag_or_unknown(known: frozenset[str]) -> Any:
    def discriminate(value: Any) -> str:
        tag = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return tag if tag in known else "unknown"

    return discriminate


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ServerToolUseBlock, Tag("server_tool_use")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[WebSearchToolResultBlock, Tag("web_search_tool_result")]
    | Annotated[UnknownBlock, Tag("unknown")],
    Discriminator(_tag_or_unknown(_BLOCK_TYPES)),
]
"""Any content block; unknown types validate as :class:`UnknownBlock`."""


class TextDelta(APIModel):
    """More text for a text block."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class InputJSONDelta(APIModel):
    """A piece of a tool input's JSON text."""

    type: Literal["input_json_delta"] = "input_json_delta"
    partial_json: str


class ThinkingDelta(APIModel):
    """More thinking text for a thinking block."""

    type: Literal["thinking_delta"] = "thinking_delta"
    thinking: str


class SignatureDelta(APIModel):
    """The signature of a thinking block."""

    type: Literal["signature_delta"] = "signature_delta"
    signature: str


class CitationsDelta(APIModel):
    """A citation added to a text block."""

    type: Literal["citations_delta"] = "citations_delta"
    citation: Any


class UnknownDelta(APIModel):
    """A delta of a type this version does not know; all fields kept."""

    type: str


_DELTA_TYPES = frozenset(
    {"text_delta", "input_json_delta", "thinking_delta", "signature_delta", "citations_delta"}
)

ContentDelta = Annotated[
    Annotated[TextDelta, Tag("text_delta")]
    | Annotated[InputJSONDelta, Tag("input_json_delta")]
    | Annotated[ThinkingDelta, Tag("thinking_delta")]
    | Annotated[SignatureDelta, Tag("signature_delta")]
    | Annotated[CitationsDelta, Tag("citations_delta")]
    | Annotated[UnknownDelta, Tag("unknown")],
    Discriminator(_tag_or_unknown(_DELTA_TYPES)),
]
"""Any content block delta; unknown types validate as :class:`UnknownDelta`."""


class Message(APIModel):
    """A Messages API message, as accumulated from a stream."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str = ""
    content: list[ContentBlock] = Field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage = Field(default_factory=Usage)


class MessageDeltaBody(APIModel):
    """The ``delta`` of a ``message_delta`` event."""

    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageDeltaUsage(APIModel):
    """Cumulative usage carried by ``message_delta``; absent fields stay as they were."""

    output_tokens: int | None = None
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: dict[str, Any] | None = None
