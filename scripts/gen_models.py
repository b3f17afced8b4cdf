"""Generate ``trio_msgstream/_core/blocks.py``: the typed models of the response objects.

A development tool, run by hand when the API grows (``python scripts/gen_models.py``);
the package never imports it. It reads the *wire format* the official SDK (installed
as a test-only oracle) describes for everything a Messages API response carries below
the message itself: content blocks and what they nest, deltas, usage, stop details,
container, diagnostics, context management, input transformations. The beta and the
non-beta variants of one object become one class (the union of their fields), named
without the ``Beta`` prefix.

The generated classes follow the project's rules rather than the SDK's:

- every class keeps unknown fields (``extra="allow"``, from ``APIModel``);
- every union of tagged objects is discriminated by ``type`` with an ``UnknownObject``
  fallback, so a new kind of object is kept, not rejected;
- enumerations are plain ``str`` (new values pass), except the ``type`` tag itself;
- required scalars get an empty default (a start event may omit them), required
  objects stay required;
- a block that carries ``input`` also gets ``partial_json`` (the raw text of an
  unfinished or broken input).

The test ``tests/sansio/test_sdk_coverage.py`` walks the SDK's unions and fails when a
type or field has no counterpart in the generated module.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import anthropic.types as T
import anthropic.types.beta as B
import pydantic

OUT = Path(__file__).resolve().parents[1] / "trio_msgstream" / "_core" / "schema" / "blocks.py"

# Roots: (our name, SDK annotations whose models merge into it).
ROOTS: list[tuple[str, list[Any]]] = [
    ("ContentBlock", [T.ContentBlock, B.BetaContentBlock]),
    ("ContentDelta", [T.RawContentBlockDelta, B.BetaRawContentBlockDelta]),
    ("Usage", [T.Usage, B.BetaUsage]),
    ("MessageDeltaUsage", [T.MessageDeltaUsage, B.BetaMessageDeltaUsage]),
    (
        "MessageDeltaBody",
        [
            T.RawMessageDeltaEvent.model_fields["delta"].annotation,
            B.BetaRawMessageDeltaEvent.model_fields["delta"].annotation,
        ],
    ),
    (
        "StopDetails",
        [
            T.Message.model_fields["stop_details"].annotation,
            B.BetaMessage.model_fields["stop_details"].annotation,
        ],
    ),
    ("Container", [T.Container, B.BetaContainer]),
    (
        "Diagnostics",
        [
            T.Message.model_fields["diagnostics"].annotation,
            B.BetaMessage.model_fields["diagnostics"].annotation,
        ],
    ),
    ("ContextManagementResponse", [B.BetaContextManagementResponse]),
    ("InputTransformation", [B.BetaMessage.model_fields["input_transformations"].annotation]),
]

RENAMES = {
    "CitationSearchResultLocation": "CitationsSearchResultLocation",
    "CitationConfig": "CitationsConfig",
    "Delta": "MessageDeltaBody",
}
# Fields kept as plain JSON: tool definitions echoed back inside a compaction's tool
# changes are request-side objects (the request parameter types describe them).
OPAQUE = {("ToolChangeToolDefinition", "definition")}
# Classes whose every field may be absent (cumulative counters of message_delta).
ALL_OPTIONAL = {"MessageDeltaUsage", "MessageDeltaBody"}
# Deltas carry their payload: a delta without it is malformed, so nothing defaults.
STRICT = {"TextDelta", "InputJSONDelta", "ThinkingDelta", "SignatureDelta", "CitationsDelta"}
# Fields that stay required (no empty default) as they always were.
KEEP_REQUIRED = {
    ("ToolUseBlock", "id"),
    ("ToolUseBlock", "name"),
    ("ServerToolUseBlock", "id"),
    ("ServerToolUseBlock", "name"),
}


def canonical(cls: type) -> str:
    name = cls.__name__
    if name.startswith("Beta") and len(name) > 4 and name[4].isupper():
        name = name[4:]
    return RENAMES.get(name, name)


def strip_annotated(ann: Any) -> Any:
    while get_origin(ann) is typing.Annotated:
        ann = get_args(ann)[0]
    return ann


def is_union(ann: Any) -> bool:
    return get_origin(ann) in (Union, types.UnionType)


def models_of(ann: Any) -> list[type[pydantic.BaseModel]]:
    ann = strip_annotated(ann)
    if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
        return [ann]
    out: list[type[pydantic.BaseModel]] = []
    for arg in get_args(ann):
        out.extend(models_of(arg))
    return out


def tag_of(cls: type[pydantic.BaseModel]) -> str | None:
    field = cls.model_fields.get("type")
    if field is None:
        return None
    args = get_args(strip_annotated(field.annotation))
    if get_origin(strip_annotated(field.annotation)) is Literal and len(args) == 1:
        return str(args[0])
    return None


def tagged_union(
    alias: str, static: list[str], lines: list[str], known: list[str], doc: str | None = None
) -> str:
    """The code of one tagged union, in two forms.

    Type checkers see the union of the known members only: a catch-all member whose
    ``type`` is a plain ``str`` would stop ``x.type == "text"`` from narrowing (the
    official SDK's unions leave it out too). At run time the union is discriminated by
    ``type`` with the catch-all for a tag it does not know, so a new kind of object is
    kept.
    """
    runtime = (
        f"    {alias} = Annotated[\n"
        + "\n    | ".join(lines).replace("\n    |     ", "\n    | ")
        + f",\n    Discriminator(_tagged({sorted(known)!r})),\n]\n"
    )
    runtime = "\n".join(("    " + line) if line else line for line in runtime.split("\n"))
    code = f"if TYPE_CHECKING:\n    {alias}: TypeAlias = " + " | ".join(static) + "\n"
    if doc:
        code += f'    """{doc}"""\n'
    return code + "else:\n" + runtime.removeprefix("    ")


class Gen:
    def __init__(self) -> None:
        self.classes: dict[str, list[type[pydantic.BaseModel]]] = {}
        self.order: list[str] = []
        self.unions: dict[str, str] = {}  # union alias name -> code
        self.union_keys: dict[tuple[str, ...], str] = {}

    def collect(self, cls: type[pydantic.BaseModel]) -> None:
        name = canonical(cls)
        variants = self.classes.setdefault(name, [])
        if cls in variants:
            return
        variants.append(cls)
        for field_name, field in cls.model_fields.items():
            if (name, field_name) in OPAQUE:
                continue
            for model in models_of(field.annotation):
                self.collect(model)
        if name not in self.order:
            self.order.append(name)

    # -- type expressions -------------------------------------------------------------

    def expr(self, anns: list[Any], owner: str, field: str) -> str:
        """One type expression for the merged annotations of a field."""
        if (owner, field) in OPAQUE:
            return "dict[str, Any]"
        parts: list[Any] = []

        def flatten(ann: Any) -> None:
            ann = strip_annotated(ann)
            if is_union(ann):
                for arg in get_args(ann):
                    flatten(arg)
            else:
                parts.append(ann)

        for ann in anns:
            flatten(ann)
        optional = any(p is type(None) for p in parts)
        parts = [p for p in parts if p is not type(None)]
        models = [
            p
            for p in parts
            if isinstance(strip_annotated(p), type)
            and issubclass(strip_annotated(p), pydantic.BaseModel)
        ]
        others = [p for p in parts if p not in models]
        pieces: list[str] = []
        if models:
            pieces.append(
                self.model_union([strip_annotated(m) for m in models], others, owner, field)
            )
            others = []
        seen: set[str] = set()
        for other in others:
            text = self.scalar(other, owner, field)
            if text not in seen:
                seen.add(text)
                pieces.append(text)
        text = " | ".join(pieces) if pieces else "Any"
        if optional and text != "Any":
            text += " | None"
        return text

    def scalar(self, ann: Any, owner: str, field: str) -> str:
        ann = strip_annotated(ann)
        origin = get_origin(ann)
        if ann is str:
            return "str"
        if ann is bool:
            return "bool"
        if ann is int:
            return "int"
        if ann is float:
            return "float"
        if ann is object or ann is Any:
            return "Any"
        if ann is datetime.datetime:
            return "datetime.datetime"
        if origin is Literal:
            return "str"
        if origin in (list, typing.List):  # noqa: UP006
            (item,) = get_args(ann)
            return f"list[{self.expr([item], owner, field)}]"
        if origin in (dict, typing.Dict):  # noqa: UP006
            return "dict[str, Any]"
        raise TypeError(f"unhandled annotation {ann!r} on {owner}.{field}")

    def model_union(self, models: list[type], others: list[Any], owner: str, field: str) -> str:
        names: list[str] = []
        for m in models:
            n = canonical(m)
            if n not in names:
                names.append(n)
        tags = {canonical(m): tag_of(m) for m in models}
        if len(names) == 1 and not others:
            return names[0]
        extra: list[str] = []
        for other in others:
            text = self.scalar(other, owner, field)
            if text not in extra:
                extra.append(text)
        key = tuple(names + extra)
        if key in self.union_keys:
            return self.union_keys[key]
        alias = f"_{owner}{''.join(p.title() for p in field.split('_'))}"
        lines = []
        known = []
        for n in names:
            tag = tags[n]
            if tag is None:
                raise TypeError(f"untagged model {n} in a union at {owner}.{field}")
            known.append(tag)
            lines.append(f'    Annotated[{n}, Tag("{tag}")]')
        for text in extra:
            kind = "list" if text.startswith("list[") else text
            lines.append(f'    Annotated[{text}, Tag("{kind}")]')
        lines.append('    Annotated[UnknownObject, Tag("unknown")]')
        self.unions[alias] = tagged_union(alias, [*names, *extra], lines, known)
        self.union_keys[key] = alias
        return alias

    # -- classes ----------------------------------------------------------------------

    def class_code(self, name: str) -> str:
        variants = self.classes[name]
        fields: dict[str, list[pydantic.fields.FieldInfo]] = {}
        for v in variants:
            for fname, finfo in v.model_fields.items():
                fields.setdefault(fname, []).append(finfo)
        lines = [f"class {name}(APIModel):", f'    """{self.wire_name(name)}."""', ""]
        tag = tag_of(variants[0])
        for fname in sorted(fields, key=lambda f: (f != "type", f)):
            infos = fields[fname]
            alias = next((i.alias for i in infos if i.alias), None)
            if fname == "type" and tag is not None:
                lines.append(f'    type: Literal["{tag}"] = "{tag}"')
                continue
            text = self.expr([i.annotation for i in infos], name, fname)
            if name in ALL_OPTIONAL and not text.endswith("| None") and text != "Any":
                text += " | None"
            required_everywhere = len(infos) == len(variants) and all(
                i.is_required() for i in infos
            )
            if fname == "input":
                lines.append("    input: Any = Field(default_factory=dict)")
                continue
            default = self.default(name, fname, text, required_everywhere)
            if alias:
                arg = f'alias="{alias}"' + ("" if default is None else f", default={default}")
                lines.append(f"    {fname}: {text} = Field({arg})")
            elif default is None:
                lines.append(f"    {fname}: {text}")
            else:
                lines.append(f"    {fname}: {text} = {default}")
        if "input" in fields:
            lines.append("    partial_json: str | None = Field(default=None, exclude_if=_is_none)")
        return "\n".join(lines) + "\n"

    def default(self, owner: str, field: str, text: str, required: bool) -> str | None:
        if owner in ALL_OPTIONAL:
            return "None"
        if not required:
            return "None" if text.endswith("| None") or text == "Any" else self.empty(text)
        if (owner, field) in KEEP_REQUIRED or owner in STRICT:
            return None
        return self.empty(text)

    @staticmethod
    def empty(text: str) -> str | None:
        if text.endswith("| None") or text == "Any":
            return "None"
        if text == "str":
            return '""'
        if text in ("int", "float"):
            return "0"
        if text == "bool":
            return "False"
        if text.startswith("list["):
            return "Field(default_factory=list)"
        if text.startswith("dict["):
            return "Field(default_factory=dict)"
        return None  # a required object

    def wire_name(self, name: str) -> str:
        tag = tag_of(self.classes[name][0])
        return f"The ``{tag}`` object" if tag else f"The ``{name}`` object"


HEADER = '''"""Typed models of what a Messages API response carries below the message.

GENERATED by ``scripts/gen_models.py`` from the wire format; do not edit by hand.

Part of the sans-IO core (no trio, no httpx). Content blocks and the objects they nest,
deltas, usage, stop details, container, diagnostics, context management and input
transformations, for both the regular and the beta endpoints (one class per object).
Every class keeps unknown fields, every union of tagged objects falls back to
:class:`UnknownObject` (content blocks: :class:`UnknownBlock`, deltas:
:class:`UnknownDelta`) for a ``type`` it does not know, enumerations are plain strings.
Type checkers see each union without its catch-all (as the official SDK's unions), so
that ``block.type == "text"`` narrows to :class:`TextBlock`; code that wants the unknown
kinds tests ``isinstance(block, UnknownBlock)``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag


class APIModel(BaseModel):
    """Base of every API object: unknown fields are kept (forward compatibility)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="allow", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> dict[str, object]:
        """The object as a dict, as the official SDK's ``to_dict()``: the fields it was
        given (``exclude_unset``), by their API names; ``mode="json"`` for JSON values."""
        return self.model_dump(
            mode=mode,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=warnings,
        )

    def to_json(
        self,
        *,
        indent: int | None = 2,
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> str:
        """The object as JSON text, as the official SDK's ``to_json()`` (indented by 2)."""
        return self.model_dump_json(
            indent=indent,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=warnings,
        )


class UnknownBlock(APIModel):
    """A content block of a type this version does not know; all fields kept."""

    type: str


class UnknownDelta(APIModel):
    """A delta of a type this version does not know; all fields kept."""

    type: str


class UnknownObject(APIModel):
    """An object of a ``type`` this version does not know, inside a known one; all
    fields kept."""

    type: str = ""


def _is_none(value: object) -> bool:
    return value is None


def _tagged(known: Iterable[str]) -> Callable[[Any], str]:
    """A discriminator: the ``type`` tag when known, ``list``/``str`` for those, else
    ``unknown``."""
    tags = frozenset(known)

    def discriminate(value: Any) -> str:
        if isinstance(value, dict):
            tag = value.get("type")
        elif isinstance(value, list):
            return "list"
        elif isinstance(value, str):
            return "str"
        else:
            tag = getattr(value, "type", None)
        return tag if tag in tags else "unknown"

    return discriminate

'''


def main() -> None:
    gen = Gen()
    for _, anns in ROOTS:
        for ann in anns:
            for model in models_of(ann):
                gen.collect(model)
    root_names = {}
    bodies = [gen.class_code(name) for name in gen.order]
    for our, anns in ROOTS:
        members = []
        for ann in anns:
            for m in models_of(ann):
                if canonical(m) not in members:
                    members.append(canonical(m))
        root_names[our] = members
    fallbacks = {"ContentBlock": "UnknownBlock", "ContentDelta": "UnknownDelta"}
    root_unions = []
    for our, members in root_names.items():
        if len(members) == 1:
            continue
        tags = [tag_of(gen.classes[m][0]) for m in members]
        lines = [f'    Annotated[{m}, Tag("{t}")]' for m, t in zip(members, tags, strict=True)]
        fallback = fallbacks.get(our, "UnknownObject")
        lines.append(f'    Annotated[{fallback}, Tag("unknown")]')
        doc = (
            f"Any {our}. Type checkers see the known classes, so that\n"
            f'    ``x.type == "..."`` narrows; at run time an unknown ``type`` validates as\n'
            f"    :class:`{fallback}` (kept, not dropped)."
        )
        root_unions.append(tagged_union(our, members, lines, [t or "" for t in tags], doc))
    exported = sorted(
        set(gen.order)
        | {"UnknownObject", "UnknownBlock", "UnknownDelta"}
        | {our for our, members in root_names.items() if len(members) > 1}
    )
    text = HEADER
    text += "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n\n\n"
    text += "\n\n".join(bodies)
    text += "\n\n" + "\n\n".join(gen.unions.values())
    text += "\n\n" + "\n\n".join(root_unions)
    text += "\n\nROOTS: dict[str, tuple[str, ...]] = {\n"
    for our, members in root_names.items():
        text += f"    {our!r}: {tuple(members)!r},\n"
    text += '}\n"""Our root name -> the generated classes that make it up (coverage test)."""\n'
    text += "\nfor _model in list(globals().values()):\n"
    text += "    if isinstance(_model, type) and issubclass(_model, APIModel):\n"
    text += "        _model.model_rebuild()\n"
    OUT.write_text(text)
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "format", "-q", str(OUT)], check=True)
    subprocess.run([*ruff, "check", "--fix", "-q", str(OUT)], check=True)
    subprocess.run([*ruff, "format", "-q", str(OUT)], check=True)
    print(f"wrote {OUT} ({len(gen.order)} classes, {len(gen.unions)} unions)")


if __name__ == "__main__":
    main()
