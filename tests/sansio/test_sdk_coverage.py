"""The models against the official SDK (the test-only oracle).

1. Coverage: walk the SDK's unions and models (content blocks, deltas, stream events,
   usage, stop details, the message, for ``anthropic.types`` and
   ``anthropic.types.beta``) side by side with ours; every SDK type and every field must
   have a counterpart here (matched by ``type`` tag in unions, by position elsewhere).
2. Round trip: a synthetic message with every kind of block (built from the SDK's
   own field types) validates here, and ``model_dump()`` of ours validates in the SDK
   to the same object.
3. Same accumulation: every transcript in tests/fixtures/anthropic, streamed through
   our engine and through the SDK's own accumulator, gives the same message.
"""

from __future__ import annotations

import datetime
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import anthropic.types as T
import anthropic.types.beta as B
import pydantic
import pytest
from anthropic.lib.streaming._beta_messages import accumulate_event

import trio_msgstream as tms
from trio_msgstream._core.schema import blocks, models
from trio_msgstream._core.stream import events
from trio_msgstream.sansio import StreamEngine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"

# (our class, field) kept as plain JSON on purpose: tool definitions echoed back in a
# compaction's tool changes are request-side objects (see scripts/gen_models.py).
OPAQUE = {("ToolChangeToolDefinition", "definition")}


def strip(ann: Any) -> Any:
    while get_origin(ann) is typing.Annotated:
        ann = get_args(ann)[0]
    return ann


def models_in(ann: Any) -> list[type[pydantic.BaseModel]]:
    ann = strip(ann)
    if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
        return [ann]
    out: list[type[pydantic.BaseModel]] = []
    for arg in get_args(ann):
        out.extend(models_in(arg))
    return out


def tag(cls: type[pydantic.BaseModel]) -> str | None:
    field = cls.model_fields.get("type")
    if field is None:
        return None
    ann = strip(field.annotation)
    args = get_args(ann)
    return str(args[0]) if get_origin(ann) is Literal and len(args) == 1 else None


class Walk:
    def __init__(self) -> None:
        self.covered: set[type] = set()
        self.missing: list[str] = []
        self._pairs: set[tuple[type, type]] = set()

    def union(self, sdk_ann: Any, our_ann: Any, path: str) -> None:
        ours = models_in(our_ann)
        sdk = models_in(sdk_ann)
        by_tag = {tag(m): m for m in ours if tag(m) is not None}
        untagged = [m for m in ours if tag(m) is None and m is not blocks.UnknownObject]
        for model in sdk:
            t = tag(model)
            if t is not None and t in by_tag:
                self.model(model, by_tag[t], f"{path}<{t}>")
            elif t is None and len(untagged) == 1:
                self.model(model, untagged[0], path)
            elif t is None and len(sdk) == 1 and len(ours) == 1:
                self.model(model, ours[0], path)
            else:
                self.missing.append(f"{path}: no counterpart for {model.__name__} (type {t!r})")

    def model(
        self, sdk: type[pydantic.BaseModel], ours: type[pydantic.BaseModel], path: str
    ) -> None:
        if (sdk, ours) in self._pairs:
            return
        self._pairs.add((sdk, ours))
        self.covered.add(sdk)
        for name, field in sdk.model_fields.items():
            here = f"{path}.{name}"
            mine = ours.model_fields.get(name)
            if mine is None:
                self.missing.append(f"{here}: field missing on {ours.__name__}")
                continue
            if (field.alias or name) != (mine.alias or name):
                self.missing.append(f"{here}: alias {field.alias!r} vs {mine.alias!r}")
            if (ours.__name__, name) in OPAQUE or not models_in(field.annotation):
                continue
            if name == "type" and sdk.__name__.endswith("Event"):
                continue
            self.union(field.annotation, mine.annotation, here)


SDK_ROOTS: list[tuple[str, Any, Any]] = [
    ("ContentBlock", T.ContentBlock, models.ContentBlock),
    ("BetaContentBlock", B.BetaContentBlock, models.ContentBlock),
    ("RawContentBlockDelta", T.RawContentBlockDelta, models.ContentDelta),
    ("BetaRawContentBlockDelta", B.BetaRawContentBlockDelta, models.ContentDelta),
    ("RawMessageStreamEvent", T.RawMessageStreamEvent, events.RawMessageStreamEvent),
    ("BetaRawMessageStreamEvent", B.BetaRawMessageStreamEvent, events.RawMessageStreamEvent),
    ("Usage", T.Usage, models.Usage),
    ("BetaUsage", B.BetaUsage, models.Usage),
    ("MessageDeltaUsage", T.MessageDeltaUsage, models.MessageDeltaUsage),
    ("BetaMessageDeltaUsage", B.BetaMessageDeltaUsage, models.MessageDeltaUsage),
    ("RefusalStopDetails", T.RefusalStopDetails, models.StopDetails),
    ("BetaRefusalStopDetails", B.BetaRefusalStopDetails, models.StopDetails),
    ("Message", T.Message, models.Message),
    ("BetaMessage", B.BetaMessage, models.Message),
]


def test_every_sdk_type_and_field_has_a_counterpart() -> None:
    walk = Walk()
    for name, sdk, ours in SDK_ROOTS:
        walk.union(sdk, ours, name)
    assert walk.missing == []
    # The count of SDK types covered (reported in the closing note).
    assert len(walk.covered) >= 171, len(walk.covered)


def test_the_walk_fails_on_a_missing_type_or_field() -> None:
    # The checker itself: drop a block kind and a field, and it must complain.
    class Shrunk(pydantic.BaseModel):
        type: Literal["text"] = "text"
        text: str = ""

    walk = Walk()
    walk.union(T.ContentBlock, Shrunk, "ContentBlock")
    assert any("no counterpart for ThinkingBlock" in m for m in walk.missing)
    assert any("ContentBlock<text>.citations: field missing" in m for m in walk.missing)


# --- synthetic messages: every block kind, built from the SDK's field types -----------


def sample(ann: Any, choice: int = 0, depth: int = 0) -> Any:
    """A valid value for an SDK annotation (``choice`` picks the union member)."""
    ann = strip(ann)
    origin = get_origin(ann)
    if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
        return sample_model(ann, depth)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(ann) if a is not type(None)]
        return sample(options[choice % len(options)], 0, depth)
    if origin is Literal:
        return get_args(ann)[0]
    if origin in (list, typing.List):  # noqa: UP006
        return [] if depth > 3 else [sample(get_args(ann)[0], 0, depth + 1)]
    if origin in (dict, typing.Dict):  # noqa: UP006
        return {"k": 1}
    if ann is str:
        return "s"
    if ann is bool:
        return True
    if ann is int:
        return 3
    if ann is float:
        return 1.5
    if ann is datetime.datetime:
        return "2026-11-30T12:00:00Z"
    return {"any": [1, "two"]}


def sample_model(cls: type[pydantic.BaseModel], depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        out[field.alias or name] = sample(field.annotation, 0, depth + 1)
    return out


def all_block_samples(union: Any) -> list[dict[str, Any]]:
    out = []
    for model in models_in(union):
        # One sample per member of each union field, so nested kinds are covered too.
        widths = [len(models_in(f.annotation)) or 1 for f in model.model_fields.values()]
        for choice in range(max(widths)):
            block = {
                (f.alias or n): sample(f.annotation, choice, 1)
                for n, f in model.model_fields.items()
            }
            out.append(block)
    return out


def sdk_dump(cls: type[pydantic.BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    return cls.model_validate(data).model_dump(mode="json", by_alias=True)


@pytest.mark.parametrize("sdk_message", [T.Message, B.BetaMessage])
def test_synthetic_messages_with_every_block_kind_round_trip(sdk_message: Any) -> None:
    message = sample_model(sdk_message)
    kinds = {tag(m) for m in models_in(sdk_message.model_fields["content"].annotation)}
    message["content"] = all_block_samples(sdk_message.model_fields["content"].annotation)
    assert len({b["type"] for b in message["content"]}) == len(kinds)
    ours = tms.types.Message.model_validate(message)
    assert not any(isinstance(b, tms.UnknownBlock) for b in ours.content)
    again = sdk_message.model_validate(ours.model_dump())
    # Ours also carries the beta-only fields (as None); the SDK's regular models keep
    # them as extras, so compare without the Nones.
    assert again.model_dump(mode="json", by_alias=True, exclude_none=True) == (
        sdk_message.model_validate(message).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    )


def test_the_fallback_block_keeps_the_from_alias() -> None:
    block = tms.types.FallbackBlock.model_validate(
        {
            "type": "fallback",
            "from": {"model": "a"},
            "to": {"model": "b"},
            "trigger": {"type": "refusal", "category": "cyber"},
        }
    )
    assert block.from_.model == "a"
    assert block.model_dump()["from"] == {"model": "a"}
    assert (
        tms.types.FallbackBlock(
            from_=tms.types.FallbackInfo(model="a"),
            to=tms.types.FallbackInfo(model="b"),
            trigger=tms.types.FallbackRefusalTrigger(category="x"),
        ).from_.model
        == "a"
    )


# --- every transcript: our engine and the SDK's accumulator agree --------------------


def sse_payloads(body: bytes) -> list[dict[str, Any]]:
    out = []
    for raw in re.split(r"\r?\n\r?\n", body.decode("utf-8")):
        data = "\n".join(
            line[5:].lstrip(" ") for line in raw.splitlines() if line.startswith("data:")
        )
        if data:
            out.append(json.loads(data))
    return out


# A docs example whose elisions ("...]") leave a data payload that is not JSON.
NOT_JSON = {"docs_web_search_server_tool.sse"}
TRANSCRIPTS = sorted(p.name for p in FIXTURES.glob("*.sse") if p.name not in NOT_JSON)


# A docs example without ``usage`` on message_delta (a docs elision): the SDK's
# accumulator cannot read it (checked below), ours can.
SDK_CANNOT_READ = {"docs_extended_thinking.sse"}


def sdk_accumulate(body: bytes) -> Any:
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    for payload in sse_payloads(body):
        if payload["type"] == "error":
            break
        snapshot = accumulate_event(
            event=payload, current_snapshot=snapshot, json_bufs=json_bufs, request_headers=None
        )
    return snapshot


def test_the_sdk_cannot_read_the_transcripts_left_out() -> None:
    for name in SDK_CANNOT_READ:
        with pytest.raises(AttributeError):
            sdk_accumulate((FIXTURES / name).read_bytes())
        engine = StreamEngine()
        engine.receive_data((FIXTURES / name).read_bytes())
        engine.receive_eof()
        assert engine.done


@pytest.mark.parametrize("name", [n for n in TRANSCRIPTS if n not in SDK_CANNOT_READ])
def test_every_transcript_accumulates_as_the_sdk_does(name: str) -> None:
    body = (FIXTURES / name).read_bytes()
    engine = StreamEngine()
    try:
        engine.receive_data(body)
        engine.receive_eof()
    except tms.APIError:
        pass  # error events and cut-off streams: compare what both have so far
    ours = engine.snapshot()
    snapshot = sdk_accumulate(body)
    if snapshot is None:
        assert ours is None
        return
    assert ours is not None
    dumped = ours.model_dump()
    for block in dumped["content"]:
        block.pop("partial_json", None)  # our raw text of an unfinished input
    theirs = snapshot.model_dump(by_alias=True)
    for block in theirs["content"]:
        block.pop("parsed_output", None)
    beta = B.BetaMessage
    assert sdk_dump(beta, dumped) == sdk_dump(beta, theirs)
    if all(b["type"] in {tag(m) for m in models_in(T.ContentBlock)} for b in dumped["content"]):
        assert sdk_dump(T.Message, dumped) == sdk_dump(T.Message, theirs)
