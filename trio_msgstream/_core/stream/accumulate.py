"""The message accumulator: typed events in, a ``Message`` snapshot out.

Part of the sans-IO core (no trio, no httpx, no clock).

Theory of operation: :meth:`MessageAccumulator.apply` takes each wire event in order,
checks it against the stream's grammar (one table, :mod:`.grammar`, shared with the
engine's raw mode) and returns the events a consumer should see: the event itself
plus a derived event for deltas (``text``, ``input_json``, ``compaction``, ...), and,
at a block's or the message's stop, a stop event that carries the finished block or
message.

Every delta kind costs O(1) per delta (plus its own size): text, thinking and the
string fields of unknown deltas are appended to chunk lists and joined only when
someone asks; citations are appended to a list that derived events read lazily;
compaction deltas replace two fields; tool input JSON (on every block that carries an
``input``: ``tool_use``, ``server_tool_use``, ``mcp_tool_use``, ...) is parsed once, at
the block's stop. A partial parse happens only when a snapshot of an unfinished block
is read; it keeps complete values only (as the official SDK does), and when the text
so far is not valid JSON the snapshot shows ``input=None`` with the raw text in
``partial_json`` rather than an empty input. A ``fallback`` block names the model that
served the response, and the message's ``model`` follows it. A violation of the
grammar raises :class:`StreamProtocolError`; the accumulator keeps what it had, so
:meth:`snapshot` still shows the partial message afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from pydantic_core import from_json

from ..exceptions import StreamProtocolError
from ..schema.models import (
    CompactionBlock,
    ContentBlock,
    FallbackBlock,
    Message,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    UnknownDelta,
    Usage,
)
from .events import (
    CitationEvent,
    CompactionEvent,
    ContentBlockStopEvent,
    InputJsonEvent,
    MessageStopEvent,
    MessageStreamEvent,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStreamEvent,
    SignatureEvent,
    TextEvent,
    ThinkingEvent,
    parse_event,
)
from .grammar import StreamGrammar
from .lazy_deltas import SCANNED_DELTAS as _VALUE_FIELDS
from .pieces import Chunks, Items, JsonChunks, parse_partial

__all__ = ["MessageAccumulator"]


def _carries_input(block: ContentBlock) -> bool:
    cls = type(block)
    if "input" in cls.model_fields:
        return True
    extra = block.model_extra
    return extra is not None and "input" in extra


class _Block:
    """The accumulation state of one content block."""

    __slots__ = (
        "_start",
        "citations",
        "compaction",
        "final",
        "json",
        "signature",
        "stopped",
        "text",
        "thinking",
        "unknown",
    )

    def __init__(self, start: ContentBlock) -> None:
        self._start: ContentBlock | str = start
        """The block ``content_block_start`` brought, or the JSON text of that event
        (:meth:`MessageAccumulator.keep_as_json`) until :attr:`start` is read."""
        self.stopped = False
        self.final: ContentBlock | None = None
        self.text: Chunks | None = None
        self.thinking: Chunks | None = None
        self.json: JsonChunks | None = None
        self.signature: str | None = None
        self.citations: Items | None = None
        self.compaction: tuple[str | None, str | None] | None = None
        self.unknown: dict[str, Any] | None = None
        if isinstance(start, TextBlock):
            self.text = Chunks(start.text)
            self.citations = Items(start.citations) if start.citations is not None else None
        elif isinstance(start, ThinkingBlock):
            self.thinking = Chunks(start.thinking)
        elif isinstance(start, CompactionBlock):
            self.compaction = (start.content, start.encrypted_content)
        elif _carries_input(start):
            self.json = JsonChunks()

    @property
    def start(self) -> ContentBlock:
        start = self._start
        if isinstance(start, str):
            event = parse_event("content_block_start", start)
            assert isinstance(event, RawContentBlockStartEvent)
            start = self._start = event.content_block
        return start

    def add_unknown(self, delta: UnknownDelta) -> None:
        # Forward compatibility for delta kinds this version does not know: strings
        # extend strings (kept as pieces, joined at build), other values replace.
        if self.unknown is None:
            self.unknown = {}
        fields = self.unknown
        for key, value in (delta.model_extra or {}).items():
            current = fields.get(key)
            if current is None and key not in fields:
                current = getattr(self.start, key, None)
            if isinstance(value, str) and isinstance(current, Chunks):
                current.append(value)
            elif isinstance(value, str) and isinstance(current, str):
                pieces = Chunks(current)
                pieces.append(value)
                fields[key] = pieces
            else:
                fields[key] = value

    def build(self, *, strict: bool = True) -> ContentBlock:
        """The block as it stands.

        A stopped block is built once and then reused: it can no longer change, so
        a complete tool input's JSON is parsed exactly once.

        Args:
            strict: A stopped tool block whose JSON does not parse raises
                :class:`StreamProtocolError`; otherwise it shows as a partial block
                (``input`` of the complete values, or ``None`` when the text is not
                valid JSON; the raw text in ``partial_json``).
        """
        if self.final is not None:
            return self.final
        start = self.start
        update: dict[str, Any] = {}
        if self.text is not None:
            update["text"] = self.text.value()
            if self.citations is not None:
                update["citations"] = list(self.citations.items)
        elif self.thinking is not None:
            update["thinking"] = self.thinking.value()
            if self.signature is not None:
                update["signature"] = self.signature
        elif self.compaction is not None:
            update["content"], update["encrypted_content"] = self.compaction
        elif self.json is not None:
            raw = self.json.value()
            if raw and not self.stopped:
                update["input"] = parse_partial(raw)
                update["partial_json"] = raw
            elif raw:
                try:
                    update["input"] = from_json(raw)
                except ValueError as exc:
                    if strict:
                        raise StreamProtocolError(
                            f"tool input of block is not valid JSON: {exc}", body=raw[:200]
                        ) from None
                    update["input"] = parse_partial(raw)
                    update["partial_json"] = raw
        if self.unknown:
            for key, value in self.unknown.items():
                update[key] = value.value() if isinstance(value, Chunks) else value
        block = start.model_copy(update=update) if update else start.model_copy()
        if self.stopped and "partial_json" not in update:
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

    __slots__ = (
        "_base",
        "_blocks",
        "_cached",
        "_cached_version",
        "_grammar",
        "_updates",
        "_usage",
        "_version",
    )

    def __init__(self) -> None:
        self._base: Message | str | None = None
        """``message_start``'s message, or the JSON of its event until a snapshot needs
        the model (:meth:`keep_as_json`)."""
        self._blocks: list[_Block] = []
        # Made at the first change (message_delta, a fallback block): a waiting stream
        # keeps no empty dicts.
        self._usage: dict[str, Any] | None = None
        self._updates: dict[str, Any] | None = None
        self._grammar = StreamGrammar()
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
        return self._grammar.done

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
        if type(event) is RawContentBlockDeltaEvent:
            return self._apply_delta(event)
        handler = _HANDLERS.get(event.type)
        if handler is None:  # ping, error, unknown: they change nothing
            return [cast("MessageStreamEvent", event)]
        return handler(self, event)

    def keep_as_json(self, event: RawMessageStreamEvent, event_json: str) -> None:
        """After :meth:`apply` of ``event``, whose JSON text is ``event_json``: keep the
        model it brought (``message_start``'s message, ``content_block_start``'s block)
        as that text until a snapshot needs it.

        The models (a message with its usage: ~3 KiB; a text block: ~0.4 KiB) are then
        made again once, when first needed (usually ``content_block_stop`` and
        ``message_stop``), instead of being kept by every stream that waits for its next
        event; the JSON text is a few hundred bytes. The models made from it equal the
        ones applied.
        """
        kind = event.__class__
        if kind is RawContentBlockStartEvent:
            block = self._blocks[-1]
            if not isinstance(block._start, str):
                block._start = event_json
        elif kind is RawMessageStartEvent and isinstance(self._base, Message):
            self._base = event_json

    def _base_message(self) -> Message:
        base = self._base
        if isinstance(base, str):
            event = parse_event("message_start", base)
            assert isinstance(event, RawMessageStartEvent)
            base = self._base = event.message
        assert base is not None
        return base

    def _apply_message_start(self, event: RawMessageStartEvent) -> list[MessageStreamEvent]:
        initial = event.message.content
        self._grammar.step("message_start", initial_blocks=len(initial))
        self._base = event.message
        for block in initial:
            state = _Block(block)
            state.stopped = True
            self._blocks.append(state)
            self._follow_fallback(block)
        return [event]

    def _apply_block_start(self, event: RawContentBlockStartEvent) -> list[MessageStreamEvent]:
        self._grammar.step("content_block_start", event.index)
        block = event.content_block
        self._blocks.append(_Block(block))
        self._follow_fallback(block)
        return [event]

    def _follow_fallback(self, block: ContentBlock) -> None:
        # The last fallback hop names the model that served the response, as the
        # non-streaming message reports it.
        if isinstance(block, FallbackBlock):
            if self._updates is None:
                self._updates = {}
            self._updates["model"] = block.to.model

    def _apply_block_stop(self, event: RawContentBlockStopEvent) -> list[MessageStreamEvent]:
        self._grammar.step("content_block_stop", event.index)
        block = self._blocks[event.index]
        block.stopped = True
        built = block.build()
        return [ContentBlockStopEvent(index=event.index, content_block=built)]

    def _apply_message_delta(self, event: RawMessageDeltaEvent) -> list[MessageStreamEvent]:
        self._grammar.step("message_delta")
        delta = event.delta
        updates = self._updates
        if updates is None:
            updates = self._updates = {}
        updates["stop_reason"] = delta.stop_reason
        updates["stop_sequence"] = delta.stop_sequence
        updates["stop_details"] = delta.stop_details
        if delta.container is not None:
            updates["container"] = delta.container
        if delta.model_extra:
            updates.update(delta.model_extra)
        if event.context_management is not None:
            updates["context_management"] = event.context_management
        if event.input_transformations is not None:
            updates["input_transformations"] = event.input_transformations
        usage = self._usage
        if usage is None:
            usage = self._usage = {}
        for key, value in event.usage:
            if value is not None:
                usage[key] = value
        return [event]

    def _apply_message_stop(self, event: RawMessageStreamEvent) -> list[MessageStreamEvent]:
        self._grammar.step("message_stop")
        return [MessageStopEvent(message=self.snapshot_or_raise())]

    def _apply_delta(self, event: RawContentBlockDeltaEvent) -> list[MessageStreamEvent]:
        index = event.index
        self._grammar.delta(index)
        block = self._blocks[index]
        delta = event.delta
        if type(delta) is TextDelta and block.text is not None:
            n = block.text.append(delta.text)
            return [event, TextEvent(delta.text, index, block.text, n)]
        kind = delta.type
        field = _VALUE_FIELDS.get(kind)
        if field is not None:
            return _VALUES[kind](self, block, getattr(delta, field), index, event)
        typed = _TYPED_DELTAS.get(kind)
        if typed is not None:
            return typed(self, block, delta, event)
        if isinstance(delta, UnknownDelta):
            block.add_unknown(delta)
            return [event]
        raise self._mismatch(block, kind, index)

    def apply_value(self, event: Any, index: int, kind: str, value: str) -> list[Any]:
        """Apply a ``content_block_delta`` given as its parts (see
        :func:`~trio_msgstream._core.stream.events.scan_delta`; ``kind`` is a key of
        ``_VALUE_FIELDS``): the same checks, state and derived event as :meth:`apply`
        with the typed event. ``event`` stands for the raw event in the returned list.

        Raises:
            StreamProtocolError: As for :meth:`apply`.
        """
        self._version += 1
        self._grammar.delta(index)
        block = self._blocks[index]
        chunks = block.text
        if kind == "text_delta" and chunks is not None:  # the usual deltas, inline
            return [event, TextEvent(value, index, chunks, chunks.append(value))]
        pieces = block.json
        if kind == "input_json_delta" and pieces is not None:
            return [event, InputJsonEvent(value, index, pieces, pieces.append(value))]
        return _VALUES[kind](self, block, value, index, event)

    @staticmethod
    def _mismatch(block: _Block, kind: str, index: int) -> StreamProtocolError:
        return StreamProtocolError(f"{kind} for content block {index} of type {block.start.type}")

    def _text(self, block: _Block, value: str, index: int, event: Any) -> list[Any]:
        if block.text is None:
            raise self._mismatch(block, "text_delta", index)
        return [event, TextEvent(value, index, block.text, block.text.append(value))]

    def _input_json(self, block: _Block, value: str, index: int, event: Any) -> list[Any]:
        if block.json is None:
            raise self._mismatch(block, "input_json_delta", index)
        return [event, InputJsonEvent(value, index, block.json, block.json.append(value))]

    def _thinking(self, block: _Block, value: str, index: int, event: Any) -> list[Any]:
        if block.thinking is None:
            raise self._mismatch(block, "thinking_delta", index)
        n = block.thinking.append(value)
        return [event, ThinkingEvent(value, index, block.thinking, n)]

    def _signature(self, block: _Block, value: str, index: int, event: Any) -> list[Any]:
        if block.thinking is None:
            raise self._mismatch(block, "signature_delta", index)
        block.signature = value
        return [event, SignatureEvent(value, index)]

    def _citation(self, block: _Block, delta: Any, event: Any) -> list[MessageStreamEvent]:
        if block.text is None:
            raise self._mismatch(block, delta.type, event.index)
        if block.citations is None:
            block.citations = Items(None)
        n = block.citations.append(delta.citation)
        return [event, CitationEvent(delta.citation, event.index, block.citations, n)]

    def _compaction(self, block: _Block, delta: Any, event: Any) -> list[MessageStreamEvent]:
        if block.compaction is None:
            raise self._mismatch(block, delta.type, event.index)
        block.compaction = (delta.content, delta.encrypted_content)
        return [event, CompactionEvent(delta.content, delta.encrypted_content, event.index)]

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
        base = self._base_message()
        content: list[ContentBlock] = []
        for block in self._blocks:
            content.append(block.build(strict=strict))
        update: dict[str, Any] = dict(self._updates) if self._updates else {}
        update["content"] = content
        if self._usage:
            update["usage"] = _merged_usage(base.usage, self._usage)
        return base.model_copy(update=update)


# The dispatch tables (class-level: a stream's accumulator holds no bound methods).
_HANDLERS: dict[str, Callable[[MessageAccumulator, Any], list[MessageStreamEvent]]] = {
    "content_block_delta": MessageAccumulator._apply_delta,
    "content_block_start": MessageAccumulator._apply_block_start,
    "content_block_stop": MessageAccumulator._apply_block_stop,
    "message_delta": MessageAccumulator._apply_message_delta,
    "message_start": MessageAccumulator._apply_message_start,
    "message_stop": MessageAccumulator._apply_message_stop,
}
_VALUES: dict[str, Callable[[MessageAccumulator, _Block, str, int, Any], list[Any]]] = {
    "text_delta": MessageAccumulator._text,
    "input_json_delta": MessageAccumulator._input_json,
    "thinking_delta": MessageAccumulator._thinking,
    "signature_delta": MessageAccumulator._signature,
}
_TYPED_DELTAS: dict[str, Callable[[MessageAccumulator, _Block, Any, Any], list[Any]]] = {
    "citations_delta": MessageAccumulator._citation,
    "compaction_delta": MessageAccumulator._compaction,
}


def _merged_usage(base: Usage, changes: dict[str, Any]) -> Usage:
    return base.model_copy(update=changes)
