"""The refusal-fallback splice: one hop's decoded events in, the events to forward out.

Part of the sans-IO core, and framing-blind: it sees ``(event name, JSON data)`` pairs
as any decoder yields them (SSE, or Bedrock's binary event stream) and returns pairs to
forward, which the driver encodes for the caller's stream. Nothing here reads bytes.

Theory of operation. The caller sees one message, in the shape of the API's own
server-side ``fallbacks``::

    message_start (the primary's; or, when the primary declined before any output,
                   the serving hop's with the primary's id)
    primary's blocks 0..k ─ fallback seam k+1 ─ hop 1's blocks ─ seam ─ ... ─ served blocks
    message_delta (the served stop reason; usage.iterations: one entry per hop)
    message_stop

A :class:`HopReader` reads one hop. It holds events back until the hop produces output
(a content block or a terminal event), so a refusal before any output leaves no trace.
A refusal that can chain (an entry is left, and a credit token was minted or nothing
streamed yet) ends the hop early: open blocks are closed, the hop's ``message_delta``
and ``message_stop`` are suppressed, and :attr:`HopReader.outcome` says what to retry
with. A fallback hop's block indices are shifted to stay monotonic and its final
``message_delta`` carries the chain's ``usage.iterations``. :class:`ChainState` keeps
what the hops share: the next block index, the queued seams, the credit token and the
partial output to prefill, the iterations, and the refusal to replay if every
remaining entry fails.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CAPACITY_STATUSES",
    "ChainState",
    "Frame",
    "HopFailure",
    "HopOutcome",
    "HopReader",
    "Refusal",
    "seam_block",
]

logger = logging.getLogger("trio_msgstream.middleware")

Frame = tuple[str, str]
"""One event: its name and its JSON data."""

CAPACITY_STATUSES = (429, 529)
"""Failures that stamp the failed model as the refusal's ``recommended_model``."""


def _dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _emit(payload: dict[str, Any]) -> Frame:
    return str(payload.get("type", "message")), json.dumps(payload, separators=(",", ":"))


def seam_block(from_model: str, to_model: str, category: str | None) -> dict[str, Any]:
    """The ``fallback`` content block that marks one model boundary."""
    return {
        "type": "fallback",
        "from": {"model": from_model},
        "to": {"model": to_model},
        "trigger": {"type": "refusal", "category": category},
    }


@dataclass
class Refusal:
    """A hop's refusal that the chain retries past."""

    token: str | None
    category: str | None
    has_prefill_claim: bool
    usage: dict[str, Any]
    event: dict[str, Any]
    """The suppressed ``message_delta``, replayed if every remaining entry fails."""
    suppressed_start: dict[str, Any] | None = None
    """A fallback hop's ``message`` from its suppressed ``message_start``."""


@dataclass
class HopOutcome:
    refused: Refusal | None
    start_event: dict[str, Any] | None
    blocks: list[dict[str, Any]]
    next_index: int
    opened: bool
    last_fallback_to: str | None


@dataclass
class HopFailure:
    """A fallback request that failed (``status`` ``None``: it raised)."""

    model: str
    status: int | None


@dataclass
class Splice:
    """What a fallback hop's reader needs from the chain (``None`` for the primary)."""

    iterations: list[dict[str, Any]]
    model: str


class _Blocks:
    """A hop's content blocks: accumulated for the prefill, indices shifted by
    ``base``, and the ones still open (closed when a refusal cuts the hop)."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.next_index = base
        self.blocks: list[tuple[int, dict[str, Any]]] = []
        self.open: list[int] = []

    def start(self, event: dict[str, Any]) -> None:
        index = event.get("index")
        if not isinstance(index, int):
            return
        self.blocks.append((index, dict(_dict(event.get("content_block")) or {})))
        shifted = event["index"] = index + self.base
        self.open.append(shifted)
        self.next_index = max(self.next_index, shifted + 1)

    def delta(self, event: dict[str, Any]) -> None:
        index = event.get("index")
        if not isinstance(index, int):
            return
        event["index"] = index + self.base
        delta = _dict(event.get("delta"))
        block = next((b for i, b in self.blocks if i == index), None)
        if delta is None or block is None:
            return
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = str(block.get("text") or "") + str(delta.get("text") or "")
        elif kind == "thinking_delta":
            block["thinking"] = str(block.get("thinking") or "") + str(delta.get("thinking") or "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature")
        elif kind == "input_json_delta":
            block["_json"] = str(block.get("_json") or "") + str(delta.get("partial_json") or "")
        elif kind == "citations_delta":
            block.setdefault("citations", [])
            if isinstance(block["citations"], list):
                block["citations"].append(delta.get("citation"))

    def stop(self, event: dict[str, Any]) -> None:
        index = event.get("index")
        if not isinstance(index, int):
            return
        shifted = event["index"] = index + self.base
        if shifted in self.open:
            self.open.remove(shifted)
        self.next_index = max(self.next_index, shifted + 1)

    def close_open(self) -> list[Frame]:
        frames = [_emit({"type": "content_block_stop", "index": i}) for i in self.open]
        self.open.clear()
        return frames

    def content(self) -> list[dict[str, Any]]:
        return [block for _, block in self.blocks]


def prefill_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A hop's partial output as the appended assistant turn: seam blocks dropped, tool
    inputs rebuilt from their streamed JSON, trailing thinking blocks stripped (an
    assistant turn may not end in one)."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "fallback":
            continue
        if "_json" in block:
            streamed = str(block["_json"])
            block = {k: v for k, v in block.items() if k != "_json"}
            try:
                block["input"] = json.loads(streamed)
            except ValueError:
                pass  # cut mid-input: keep what content_block_start said
        out.append(block)
    while out and out[-1].get("type") in ("thinking", "redacted_thinking"):
        out.pop()
    return out


def _backfill(primary: dict[str, Any] | None, fallback: dict[str, Any] | None) -> dict[str, Any]:
    fallback = fallback or {}
    out = {**fallback, **(primary or {})}
    for key, value in out.items():
        if value is None and fallback.get(key) is not None:
            out[key] = fallback[key]
    return out


def _iteration(kind: str, model: str, usage: dict[str, Any] | None) -> dict[str, Any]:
    u = usage or {}
    return {
        "type": kind,
        "model": model,
        "input_tokens": u.get("input_tokens") or 0,
        "output_tokens": u.get("output_tokens") or 0,
        "cache_read_input_tokens": u.get("cache_read_input_tokens") or 0,
        "cache_creation_input_tokens": u.get("cache_creation_input_tokens") or 0,
        "cache_creation": u.get("cache_creation"),
    }


def declined_iterations(refusal: Refusal, model: str) -> list[dict[str, Any]]:
    """The ``usage.iterations`` entries a hop that declined contributes: its own
    self-report retyped ``message`` (a single entry gains ``model``), else one entry
    from its usage."""
    reported = refusal.usage.get("iterations")
    if isinstance(reported, list):
        entries = [{**e, "type": "message"} for e in reported if isinstance(e, dict)]
        if entries:
            if len(entries) == 1 and not isinstance(entries[0].get("model"), str):
                entries[0]["model"] = model
            return entries
    return [_iteration("message", model, refusal.usage)]


def serving_iteration(usage: dict[str, Any], model: str) -> dict[str, Any]:
    """The serving hop's ``fallback_message`` entry."""
    reported = usage.get("iterations")
    if isinstance(reported, list) and reported and isinstance(reported[-1], dict):
        last = reported[-1]
        return {**last, "type": "fallback_message", "model": last.get("model") or model}
    return _iteration("fallback_message", model, usage)


def _forward_input_transformations(event: dict[str, Any], start: dict[str, Any] | None) -> None:
    # A fallback's message_start that was not forwarded: its input_transformations go
    # on the message_delta, as a server-side fallback sends them.
    if (
        start is not None
        and "input_transformations" in start
        and "input_transformations" not in event
    ):
        event["input_transformations"] = copy.deepcopy(start["input_transformations"])


class HopReader:
    """Reads one hop's events; see the module notes.

    Args:
        index_base: Added to the hop's block indices.
        has_next: An entry is left to chain to.
        splice: For a fallback hop: the chain's iterations so far and its model.
        wire_open: A ``message_start`` already reached the caller.
        primary_id: The primary's message id (for a hop that opens the wire).
        seams: The queued seam events, forwarded once the hop opens.
    """

    def __init__(
        self,
        *,
        index_base: int = 0,
        has_next: bool = True,
        splice: Splice | None = None,
        wire_open: bool = False,
        primary_id: str | None = None,
        seams: list[Frame] | None = None,
    ) -> None:
        self._blocks = _Blocks(index_base)
        self._has_next = has_next
        self._splice = splice
        self._wire_open = wire_open
        self._primary_id = primary_id
        self._seams = seams or []
        self._start: dict[str, Any] | None = None
        self._start_usage: dict[str, Any] | None = None
        self._held_start: Frame | None = None
        self._held: list[Frame] = []
        self._last_fallback_to: str | None = None
        self.opened = False
        self.outcome: HopOutcome | None = None
        """Set when a refusal that can chain ended the hop (stop feeding it)."""

    def feed(self, frame: Frame) -> list[Frame]:
        """One decoded event; the events to forward for it."""
        try:
            event = _dict(json.loads(frame[1]))
        except ValueError:
            event = None
        kind = event.get("type") if event is not None else None
        if event is None or kind is None:
            return self._other(frame)
        if kind == "message_start":
            message = _dict(event.get("message")) or {}
            self._start, self._start_usage = event, _dict(message.get("usage"))
            self._held_start = frame
            return []
        if kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            out = self._open()
            if kind == "content_block_start":
                block = _dict(event.get("content_block")) or {}
                to = _dict(block.get("to")) if block.get("type") == "fallback" else None
                if to is not None and isinstance(to.get("model"), str):
                    self._last_fallback_to = to["model"]
                self._blocks.start(event)
            elif kind == "content_block_delta":
                self._blocks.delta(event)
            else:
                self._blocks.stop(event)
            out.append(_emit(event) if self._splice is not None else frame)
            return out
        if kind == "message_delta":
            return self._message_delta(frame, event)
        return self._other(frame)

    def _other(self, frame: Frame) -> list[Frame]:
        if not self.opened:
            self._held.append(frame)  # ping, error, message_stop: until the wire opens
            return []
        return [frame]

    def _message_delta(self, frame: Frame, event: dict[str, Any]) -> list[Frame]:
        delta = _dict(event.get("delta")) or {}
        if delta.get("stop_reason") == "refusal":
            details = _dict(delta.get("stop_details"))
            if details is not None and details.get("type") != "refusal":
                details = None
            token = details.get("fallback_credit_token") if details is not None else None
            token = token if isinstance(token, str) and token else None
            pre_stream = not self.opened and not self._blocks.blocks
            if self._has_next and (token is not None or pre_stream):
                frames = self._blocks.close_open()
                self._held_start, self._held = None, []
                self.outcome = HopOutcome(
                    refused=Refusal(
                        token=token,
                        category=details.get("category") if details is not None else None,
                        has_prefill_claim=details is not None
                        and details.get("fallback_has_prefill_claim") is True,
                        usage=_backfill(_dict(event.get("usage")), self._start_usage),
                        event=event,
                        suppressed_start=self._suppressed_start(),
                    ),
                    start_event=self._start,
                    blocks=self._blocks.content(),
                    next_index=self._blocks.next_index,
                    opened=self.opened,
                    last_fallback_to=self._last_fallback_to,
                )
                return frames
            logger.error(
                "BetaRefusalFallbackMiddleware: refusal stop_details has no "
                "fallback_credit_token; surfacing the refusal"
                if token is None
                else "BetaRefusalFallbackMiddleware: refusal but no fallback entries remain; "
                "surfacing the refusal"
            )
        out = self._open()
        splice = self._splice
        if splice is None:
            return [*out, frame]
        if delta.get("stop_reason") == "refusal":
            details = _dict(delta.get("stop_details"))
            if details is not None:
                details.setdefault("recommended_model", None)
        usage = _dict(event.get("usage")) or {}
        # The chain replaces the hop's self-report: refused hops as ``message``, this
        # one as the ``fallback_message`` that completed it.
        usage["iterations"] = [*splice.iterations, serving_iteration(usage, splice.model)]
        event["usage"] = usage
        _forward_input_transformations(event, self._suppressed_start())
        return [*out, _emit(event)]

    def _suppressed_start(self) -> dict[str, Any] | None:
        if self._splice is None or not self._wire_open or self._start is None:
            return None
        return _dict(self._start.get("message"))

    def _open(self) -> list[Frame]:
        if self.opened:
            return []
        self.opened = True
        out: list[Frame] = []
        if self._splice is None:
            if self._held_start is not None:
                out.append(self._held_start)
        elif not self._wire_open and self._start is not None:
            start = copy.deepcopy(self._start)
            message = _dict(start.get("message"))
            if message is not None and self._primary_id is not None:
                message["id"] = self._primary_id
            out.append(_emit(start))
        out += self._seams
        out += self._held
        self._held_start, self._held = None, []
        return out

    def finish(self) -> list[Frame]:
        """The hop's body ended: what is still owed to the caller."""
        if self.outcome is not None or self.opened:
            return []
        return self._open()

    def result(self) -> HopOutcome:
        if self.outcome is not None:
            return self.outcome
        return HopOutcome(
            refused=None,
            start_event=self._start,
            blocks=self._blocks.content(),
            next_index=self._blocks.next_index,
            opened=self.opened,
            last_fallback_to=self._last_fallback_to,
        )


@dataclass
class ChainState:
    """What the hops of one spliced stream share (see the module notes)."""

    primary_model: str
    next_index: int
    wire_open: bool
    primary_id: str | None
    token: str | None
    partial: list[dict[str, Any]]
    from_model: str
    last_refusal: Refusal
    last_start: dict[str, Any] | None
    iterations: list[dict[str, Any]]
    base: list[dict[str, Any]] = field(default_factory=list)
    pending_seams: list[Frame] = field(default_factory=list)

    @classmethod
    def begin(cls, primary_model: str, outcome: HopOutcome) -> ChainState:
        """The state after the primary's refusal."""
        refusal = outcome.refused
        assert refusal is not None
        message = _dict((outcome.start_event or {}).get("message")) or {}
        primary_id = message.get("id")
        return cls(
            primary_model=primary_model,
            next_index=outcome.next_index,
            wire_open=outcome.opened,
            primary_id=primary_id if isinstance(primary_id, str) else None,
            token=refusal.token,
            partial=prefill_blocks(outcome.blocks) if refusal.has_prefill_claim else [],
            # A server-stitched stream's last decliner hands off, else the primary.
            from_model=outcome.last_fallback_to or primary_model,
            last_refusal=refusal,
            last_start=outcome.start_event,
            iterations=declined_iterations(refusal, primary_model),
        )

    def continuation(self) -> list[dict[str, Any]]:
        """The assistant turn to append: every refused hop's claimed partial output."""
        return [*self.base, *self.partial]

    def reader(self, model: str, has_next: bool) -> HopReader:
        """Queue this hop's seam (it was reached) and return its reader."""
        seam = self.next_index
        self.next_index += 1
        block = seam_block(self.from_model, model, self.last_refusal.category)
        self.pending_seams += [
            _emit({"type": "content_block_start", "index": seam, "content_block": block}),
            _emit({"type": "content_block_stop", "index": seam}),
        ]
        self.from_model = model
        return HopReader(
            index_base=self.next_index,
            has_next=has_next,
            splice=Splice(iterations=self.iterations, model=model),
            wire_open=self.wire_open,
            primary_id=self.primary_id,
            seams=list(self.pending_seams),
        )

    def hop_ended(self, outcome: HopOutcome, model: str, continuation: list[Any]) -> bool:
        """Fold a hop's outcome in; ``True`` when it refused and the chain goes on."""
        if outcome.opened:
            self.wire_open = True
            self.pending_seams.clear()
        refusal = outcome.refused
        if refusal is None:
            return False
        self.token = refusal.token
        self.base = list(continuation)
        self.partial = prefill_blocks(outcome.blocks) if refusal.has_prefill_claim else []
        self.iterations = [*self.iterations, *declined_iterations(refusal, model)]
        self.last_refusal = refusal
        if outcome.start_event is not None:
            self.last_start = outcome.start_event
        self.next_index = outcome.next_index
        return True

    def failure_frames(self, failure: HopFailure) -> list[Frame]:
        """Every remaining entry failed: the suppressed refusal, replayed with the
        recorded iterations and ``recommended_model`` from the last failure (the failed
        model for capacity errors), then ``message_stop``."""
        out: list[Frame] = []
        if not self.wire_open and self.last_start is not None:
            start = copy.deepcopy(self.last_start)
            message = _dict(start.get("message"))
            if message is not None and self.primary_id is not None:
                message["id"] = self.primary_id
            out.append(_emit(start))
        out += self.pending_seams
        event = copy.deepcopy(self.last_refusal.event)
        details = _dict((_dict(event.get("delta")) or {}).get("stop_details"))
        if details is not None:
            capacity = failure.status in CAPACITY_STATUSES
            details["recommended_model"] = failure.model if capacity else None
        usage = _dict(event.get("usage")) or {}
        usage["iterations"] = copy.deepcopy(self.iterations)
        event["usage"] = usage
        _forward_input_transformations(event, self.last_refusal.suppressed_start)
        out += [_emit(event), _emit({"type": "message_stop"})]
        return out
