"""The message accumulator: typed events in, a ``Message`` snapshot out.

Part of the sans-IO core (no trio, no httpx, no clock).

Theory of operation: :meth:`MessageAccumulator.apply` takes each wire event in order,
checks it against the stream's grammar (``message_start``, then blocks opened in index
order, deltas only for open blocks of a matching kind, ``message_delta``,
``message_stop``) and returns the events a consumer should see: the event itself plus
a derived event for deltas (``text``, ``input_json``, ...), and, at a block's or the
message's stop, a stop event that carries the finished block or message.

Cost is linear in the stream: text and thinking deltas are appended to chunk lists and
joined only when someone asks; tool input JSON is parsed once, at the block's stop. A
partial parse happens only when a snapshot of an unfinished block is read. A
violation of the grammar raises :class:`StreamProtocolError`; the accumulator keeps
what it had, so :meth:`snapshot` still shows the partial message afterwards.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

from .events import (
    CitationEvent,
    ContentBlockStopEvent,
    InputJsonEvent,
    MessageStopEvent,
    MessageStreamEvent,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
    SignatureEvent,
    TextEvent,
    ThinkingEvent,
    _SnapshotSource,
)
from .exceptions import StreamProtocolError
from .models import (
    CitationsDelta,
    ContentBlock,
    InputJSONDelta,
    Message,
    ServerToolUseBlock,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    UnknownDelta,
    Usage,
)

__all__ = ["MessageAccumulator"]


class _Chunks(_SnapshotSource):
    """Appended string pieces, joined on demand with a cache of the last join."""

    __slots__ = ("_joined", "_joined_n", "chunks")

    def __init__(self, initial: str) -> None:
        self.chunks: list[str] = [initial] if initial else []
        self._joined = ""
        self._joined_n = 0

    def append(self, piece: str) -> int:
        self.chunks.append(piece)
        return len(self.chunks)

    def snapshot_at(self, n: int) -> Any:
        return self.text_at(n)

    def text_at(self, n: int) -> str:
        """The concatenation of the first ``n`` pieces."""
        if n == self._joined_n:
            return self._joined
        if n < self._joined_n:
            return "".join(self.chunks[:n])
        # Hand the cached string to a local first: when nobody else holds it, CPython
        # grows it in place, so reading every snapshot in order stays near-linear.
        joined = self._joined
        self._joined = ""
        joined += "".join(self.chunks[self._joined_n : n])
        self._joined, self._joined_n = joined, n
        return joined

    def value(self) -> str:
        return self.text_at(len(self.chunks))


class _JsonChunks(_Chunks):
    """Tool input JSON pieces; the partial parse is done only when read."""

    __slots__ = ("_parsed", "_parsed_n")

    def __init__(self) -> None:
        super().__init__("")
        self._parsed: Any = None
        self._parsed_n = -1

    def snapshot_at(self, n: int) -> Any:
        if n != self._parsed_n:
            self._parsed = _parse_partial(self.text_at(n))
            self._parsed_n = n
        return self._parsed


def _parse_partial(raw: str) -> Any:
    if not raw.strip():
        return {}
    try:
        return from_json(raw, allow_partial="trailing-strings")
    except ValueError:
        return {}


class _Block:
    """The accumulation state of one content block."""

    __slots__ = ("citations", "final", "json", "signature", "start", "stopped", "text", "thinking")

    def __init__(self, start: ContentBlock) -> None:
        self.start = start
        self.stopped = False
        self.final: ContentBlock | None = None
        self.text: _Chunks | None = None
        self.thinking: _Chunks | None = None
        self.json: _JsonChunks | None = None
        self.signature: str | None = None
        self.citations: list[Any] | None = None
        if isinstance(start, TextBlock):
            self.text = _Chunks(start.text)
            self.citations = list(start.citations) if start.citations else None
        elif isinstance(start, ThinkingBlock):
            self.thinking = _Chunks(start.thinking)
        elif isinstance(start, (ToolUseBlock, ServerToolUseBlock)):
            self.json = _JsonChunks()

    def build(self, *, strict: bool = True) -> ContentBlock:
        """The block as it stands.

        A stopped block is built once and then reused: it can no longer change, so
        a complete tool input's JSON is parsed exactly once.

        Args:
            strict: A stopped tool block whose JSON does not parse raises
                :class:`StreamProtocolError`; otherwise it shows as a partial block
                (best-effort ``input``, the raw text in ``partial_json``).
        """
        if self.final is not None:
            return self.final
        start = self.start
        if self.text is not None:
            update: dict[str, Any] = {"text": self.text.value()}
            if self.citations is not None:
                update["citations"] = list(self.citations)
            block = start.model_copy(update=update)
        elif self.thinking is not None:
            update = {"thinking": self.thinking.value()}
            if self.signature is not None:
                update["signature"] = self.signature
            block = start.model_copy(update=update)
        elif self.json is not None:
            raw = self.json.value()
            if not raw:
                block = start.model_copy()
            elif not self.stopped:
                return start.model_copy(update={"input": _parse_partial(raw), "partial_json": raw})
            else:
                try:
                    block = start.model_copy(update={"input": from_json(raw)})
                except ValueError as exc:
                    if strict:
                        raise StreamProtocolError(
                            f"tool input of block is not valid JSON: {exc}", body=raw[:200]
                        ) from None
                    return start.model_copy(
                        update={"input": _parse_partial(raw), "partial_json": raw}
                    )
        else:
            block = start.model_copy()
        if self.stopped:
            self.final = block
        return block


class MessageAccumulator:
    """Accumulate wire events into a :class:`Message`.

    Example::

        acc = MessageAccumulator()
        for event in events:
            for out in acc.apply(event):
                ...
        message = acc.snapshot()
    """

    def __init__(self) -> None:
        self._base: Message | None = None
        self._blocks: list[_Block] = []
        self._usage: dict[str, Any] = {}
        self._updates: dict[str, Any] = {}
        self._stopped = False
        self._version = 0
        self._cached: Message | None = None
        self._cached_version = -1

    @property
    def started(self) -> bool:
        """``message_start`` has been applied."""
        return self._base is not None

    @property
    def done(self) -> bool:
        """``message_stop`` has been applied."""
        return self._stopped

    @property
    def block_count(self) -> int:
        return len(self._blocks)

    def apply(self, event: RawMessageStreamEvent) -> list[MessageStreamEvent]:
        """Apply one wire event.

        Returns:
            The events to deliver, in order: the event itself, then a derived event
            for a delta; for ``content_block_stop`` and ``message_stop``, a stop event
            carrying the finished block or message instead of the raw one. Events
            that do not change the message (``ping``, ``error``, unknown types) come
            back unchanged.

        Raises:
            StreamProtocolError: The event breaks the stream's grammar (a second
                ``message_start``, a delta for a block never started, ...).
        """
        self._version += 1
        if isinstance(event, RawContentBlockDeltaEvent):
            return self._apply_delta(event)
        if isinstance(event, RawContentBlockStartEvent):
            self._require_open("content_block_start")
            if event.index != len(self._blocks):
                raise StreamProtocolError(
                    f"content_block_start for index {event.index}, expected {len(self._blocks)}"
                )
            self._blocks.append(_Block(event.content_block))
            return [event]
        if isinstance(event, RawContentBlockStopEvent):
            block = self._open_block(event.index, "content_block_stop")
            block.stopped = True
            built = block.build()
            return [ContentBlockStopEvent(index=event.index, content_block=built)]
        if isinstance(event, RawMessageDeltaEvent):
            self._require_open("message_delta")
            self._updates.update(
                event.delta.model_dump(exclude_unset=True, exclude={"type"})
                if event.delta.model_extra
                else {
                    "stop_reason": event.delta.stop_reason,
                    "stop_sequence": event.delta.stop_sequence,
                }
            )
            for key, value in event.usage:
                if value is not None:
                    self._usage[key] = value
            for key, value in (event.usage.model_extra or {}).items():
                self._usage[key] = value
            return [event]
        if isinstance(event, RawMessageStartEvent):
            if self._base is not None:
                raise StreamProtocolError("a second message_start in one stream")
            self._base = event.message
            for initial in event.message.content:
                state = _Block(initial)
                state.stopped = True
                self._blocks.append(state)
            return [event]
        if isinstance(event, RawMessageStopEvent):
            self._require_open("message_stop")
            self._stopped = True
            return [MessageStopEvent(message=self.snapshot_or_raise())]
        return [event]

    def _require_open(self, what: str) -> None:
        if self._base is None:
            raise StreamProtocolError(f"{what} before message_start")
        if self._stopped:
            raise StreamProtocolError(f"{what} after message_stop")

    def _open_block(self, index: int, what: str) -> _Block:
        self._require_open(what)
        if not 0 <= index < len(self._blocks):
            raise StreamProtocolError(f"{what} for unknown content block index {index}")
        block = self._blocks[index]
        if block.stopped:
            raise StreamProtocolError(f"{what} for content block {index}, which has stopped")
        return block

    def _apply_delta(self, event: RawContentBlockDeltaEvent) -> list[MessageStreamEvent]:
        index = event.index
        block = self._open_block(index, "content_block_delta")
        delta = event.delta
        if isinstance(delta, TextDelta) and block.text is not None:
            n = block.text.append(delta.text)
            return [event, TextEvent(delta.text, index, block.text, n)]
        if isinstance(delta, InputJSONDelta) and block.json is not None:
            n = block.json.append(delta.partial_json)
            return [event, InputJsonEvent(delta.partial_json, index, block.json, n)]
        if isinstance(delta, ThinkingDelta) and block.thinking is not None:
            n = block.thinking.append(delta.thinking)
            return [event, ThinkingEvent(delta.thinking, index, block.thinking, n)]
        if isinstance(delta, SignatureDelta) and block.thinking is not None:
            block.signature = delta.signature
            return [event, SignatureEvent(delta.signature, index)]
        if isinstance(delta, CitationsDelta) and block.text is not None:
            if block.citations is None:
                block.citations = []
            block.citations.append(delta.citation)
            return [event, CitationEvent(delta.citation, index, list(block.citations))]
        if isinstance(delta, UnknownDelta):
            block.start = _merge_unknown_delta(block.start, delta)
            return [event]
        raise StreamProtocolError(
            f"{delta.type} for content block {index} of type {block.start.type}"
        )

    def snapshot(self) -> Message | None:
        """The message as accumulated so far, or ``None`` before ``message_start``.

        Never raises: an unfinished tool block shows its partial input, and a
        finished one whose JSON is broken keeps its raw text in ``partial_json``.
        """
        if self._base is None:
            return None
        if self._cached_version != self._version or self._cached is None:
            self._cached = self._build(strict=False)
            self._cached_version = self._version
        return self._cached

    def snapshot_or_raise(self) -> Message:
        """Like :meth:`snapshot`, but a broken tool input JSON is an error."""
        message = self._build(strict=True)
        self._cached, self._cached_version = message, self._version
        return message

    def _build(self, *, strict: bool) -> Message:
        base = self._base
        assert base is not None
        content: list[ContentBlock] = []
        for block in self._blocks:
            content.append(block.build(strict=strict))
        update: dict[str, Any] = dict(self._updates)
        update["content"] = content
        if self._usage:
            update["usage"] = _merged_usage(base.usage, self._usage)
        return base.model_copy(update=update)


def _merged_usage(base: Usage, changes: dict[str, Any]) -> Usage:
    return base.model_copy(update=changes)


def _merge_unknown_delta(block: ContentBlock, delta: UnknownDelta) -> ContentBlock:
    # Forward compatibility for delta kinds this version does not know (compaction,
    # ...): strings extend strings already on the block, other values replace.
    current = block.model_dump()
    update: dict[str, Any] = {}
    for key, value in (delta.model_extra or {}).items():
        old = current.get(key)
        update[key] = old + value if isinstance(old, str) and isinstance(value, str) else value
    return block.model_copy(update=update)
