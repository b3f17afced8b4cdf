"""Generate ``trio_msgstream/_core/param_types.py``: TypedDicts of the request parameters.

A development tool, run by hand when the API grows (``python scripts/gen_params.py``);
the package never imports it. It reads the request *wire format* that the official SDK
(installed as a test-only oracle) describes for ``POST /v1/messages`` and
``/v1/messages/count_tokens``, regular and beta, and writes one ``TypedDict`` per
object (the beta and regular variants of one object merged, named without ``Beta``).

Our rules rather than the SDK's: lists are ``Iterable`` or ``Sequence``, maps are
``Mapping[str, object]`` (so a user's ``dict[str, str]`` fits), enumerations stay
``Literal`` (a typo in a ``type`` is a type error), and where the SDK accepts its
response models (an assistant turn sent back) we accept ours. The roots
(``MessageCreateParams`` and ``MessageCountTokensParams``) are written by hand in
``_core/schema/params.py`` on top of this module.
"""

from __future__ import annotations

import keyword
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import anthropic.types.beta.message_count_tokens_params as BC
import anthropic.types.beta.message_create_params as BM
import anthropic.types.message_count_tokens_params as RC
import anthropic.types.message_create_params as RM
import pydantic
from typing_extensions import is_typeddict

OUT = Path(__file__).resolve().parents[1] / "trio_msgstream" / "_core" / "schema" / "param_types.py"

ROOTS = [
    RM.MessageCreateParamsBase,
    BM.MessageCreateParamsBase,
    RC.MessageCountTokensParams,
    BC.MessageCountTokensParams,
]
ROOT_NAMES = {"MessageCreateParamsBase", "MessageCountTokensParams"}
# Keys the client methods take as arguments of their own.
SKIP_KEYS = {"stream", "betas"}
RENAMES = {"CitationSearchResultLocationParam": "CitationsSearchResultLocationParam"}


def canonical(cls: type) -> str:
    name = cls.__name__
    if name.startswith("Beta") and len(name) > 4 and name[4].isupper():
        name = name[4:]
    return RENAMES.get(name, name)


def unwrap(ann: Any) -> tuple[Any, bool | None]:
    """(annotation, required?) with Required/NotRequired/Annotated removed."""
    required: bool | None = None
    while True:
        origin = get_origin(ann)
        if origin is Required:
            required, ann = True, get_args(ann)[0]
        elif origin is NotRequired:
            required, ann = False, get_args(ann)[0]
        elif origin is typing.Annotated:
            ann = get_args(ann)[0]
        else:
            return ann, required


def top_split(text: str) -> list[str]:
    """Split ``A | B[C | D]`` at the top-level bars only."""
    parts, depth, current = [], 0, ""
    for i, ch in enumerate(text):
        depth += ch == "["
        depth -= ch == "]"
        if depth == 0 and text.startswith(" | ", i):
            parts.append(current)
            current = ""
        elif not (depth == 0 and (text[i - 1 : i + 2] == " | " or text[i - 2 : i + 1] == " | ")):
            current += ch
    parts.append(current)
    return [p for p in parts if p]


def merge_union(texts: list[str]) -> str:
    """One union of the pieces; ``Iterable[A]`` and ``Iterable[B]`` become
    ``Iterable[A | B]`` (same for ``Sequence``)."""
    parts: list[str] = []
    for text in texts:
        for piece in top_split(text):
            for container in ("Iterable[", "Sequence["):
                same = next((p for p in parts if p.startswith(container)), None)
                if piece.startswith(container) and same is not None:
                    inner = merge_union([same[len(container) : -1], piece[len(container) : -1]])
                    parts[parts.index(same)] = f"{container}{inner}]"
                    break
            else:
                if piece not in parts:
                    parts.append(piece)
    return " | ".join(parts)


class Gen:
    def __init__(self) -> None:
        self.classes: dict[str, list[type]] = {}
        self.order: list[str] = []
        self.model_names: set[str] = set()

    def collect(self, cls: type) -> None:
        name = canonical(cls)
        variants = self.classes.setdefault(name, [])
        if cls in variants:
            return
        variants.append(cls)
        for key, ann in get_type_hints(cls, include_extras=True).items():
            if key in SKIP_KEYS:
                continue
            self.walk(unwrap(ann)[0])
        if name not in self.order:
            self.order.append(name)

    def walk(self, ann: Any) -> None:
        ann = unwrap(ann)[0]
        if is_typeddict(ann):
            self.collect(ann)
            return
        for arg in get_args(ann):
            if not isinstance(arg, (str, int, bool)):
                self.walk(arg)

    def expr(self, ann: Any) -> str:
        ann = unwrap(ann)[0]
        origin = get_origin(ann)
        if is_typeddict(ann):
            return canonical(ann)
        if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
            self.model_names.add("ContentBlock")
            return "ContentBlock"
        if origin in (Union, types.UnionType):
            parts: list[str] = []
            for arg in get_args(ann):
                text = self.expr(arg)
                if text not in parts:
                    parts.append(text)
            return " | ".join(parts)
        if origin is Literal:
            return "Literal[" + ", ".join(repr(a) for a in get_args(ann)) + "]"
        if ann is type(None):
            return "None"
        if ann in (str, int, float, bool, object):
            return ann.__name__
        if ann is Any:
            return "object"
        name = getattr(origin, "__name__", "") or getattr(ann, "__name__", "")
        args = get_args(ann)
        if name in ("Iterable",):
            return f"Iterable[{self.expr(args[0])}]"
        if name in ("list", "List", "Sequence", "SequenceNotStr"):
            return f"Sequence[{self.expr(args[0])}]"
        if name in ("dict", "Dict", "Mapping"):
            return "Mapping[str, object]"
        if ann is bytes or name in ("IO", "PathLike", "Tuple", "tuple"):
            return "object"  # file uploads: not part of the Messages request body
        raise TypeError(f"unhandled annotation {ann!r}")

    def class_code(self, name: str) -> str:
        fields: dict[str, list[tuple[Any, bool]]] = {}
        variants = self.classes[name]
        for v in variants:
            required_keys = getattr(v, "__required_keys__", frozenset())
            for key, ann in get_type_hints(v, include_extras=True).items():
                if key in SKIP_KEYS:
                    continue
                inner, req = unwrap(ann)
                fields.setdefault(key, []).append((inner, bool(req) or key in required_keys))
        if any(keyword.iskeyword(k) for k in fields):
            return self.functional(name, fields, len(variants))
        lines = [f"class {name}(TypedDict, total=False):"]
        type_tag = None
        for inner, _ in fields.get("type", []):
            if get_origin(inner) is Literal and len(get_args(inner)) == 1:
                type_tag = get_args(inner)[0]
        lines.append(
            f'    """The ``{type_tag}`` parameter."""' if type_tag else f'    """{name}."""'
        )
        lines.append("")
        for key in sorted(fields, key=lambda k: (k != "type", k)):
            entries = fields[key]
            parts = top_split(merge_union([self.expr(inner) for inner, _ in entries]))
            if "str" in parts:  # a Literal beside plain str checks nothing: keep str
                parts = [p for p in parts if not p.startswith("Literal[")]
            text = " | ".join(parts)
            required = len(entries) == len(variants) and all(req for _, req in entries)
            lines.append(f"    {key}: Required[{text}]" if required else f"    {key}: {text}")
        return "\n".join(lines) + "\n"

    def functional(self, name: str, fields: dict[str, list[tuple[Any, bool]]], n: int) -> str:
        # A wire key that is a Python keyword (``from``) needs the call syntax.
        items = []
        for key in sorted(fields, key=lambda k: (k != "type", k)):
            entries = fields[key]
            text = merge_union([self.expr(inner) for inner, _ in entries])
            required = len(entries) == n and all(req for _, req in entries)
            items.append(f'    "{key}": Required[{text}]' if required else f'    "{key}": {text}')
        body = ",\n".join(items)
        return (
            f'{name} = TypedDict(\n    "{name}",\n    {{\n{body},\n    }},\n    total=False,\n)\n'
        )


HEADER = '''"""TypedDicts of the Messages API request: messages, content blocks, tools, ...

GENERATED by ``scripts/gen_params.py`` from the request wire format (regular and beta
endpoints merged); do not edit by hand. The roots, ``MessageCreateParams`` and
``MessageCountTokensParams``, are in :mod:`.params`.

Part of the sans-IO core. Only for type checkers: at run time these are plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Required, TypeAlias

from typing_extensions import TypedDict

from .blocks import ContentBlock

'''


def split_tools(code: str) -> tuple[str, str]:
    """The ``MessageCreateParamsBase`` class as two: ``_MessageCreateFieldsExceptTools``
    (what the tool runner takes beside its own ``tools``) and ``_MessageCreateFields``
    adding ``tools``; and the union of one ``tools`` entry."""
    lines = code.splitlines()
    prefix = "    tools: Iterable["
    (tools,) = [line for line in lines if line.startswith(prefix)]
    union = tools[len(prefix) : -1]
    rest = "\n".join(line for line in lines if line != tools) + "\n"
    rest = rest.replace(
        "class MessageCreateParamsBase(TypedDict, total=False):",
        "class _MessageCreateFieldsExceptTools(TypedDict, total=False):",
    )
    fields = (
        "class _MessageCreateFields(_MessageCreateFieldsExceptTools, total=False):\n"
        '    """MessageCreateParamsBase."""\n\n'
        "    tools: Iterable[ToolUnionParam]\n"
    )
    return rest + "\n\n" + fields, union


def main() -> None:
    gen = Gen()
    for root in ROOTS:
        gen.collect(root)
    names = [n for n in gen.order if n not in ROOT_NAMES]
    body = "\n\n".join(gen.class_code(n) for n in names)
    create, tools_union = split_tools(gen.class_code("MessageCreateParamsBase"))
    count = gen.class_code("MessageCountTokensParams")
    count = count.replace("class MessageCountTokensParams(", "class _MessageCountTokensFields(")
    count = count.replace(f"Iterable[{tools_union}]", "Iterable[ToolUnionParam]")
    exported = sorted([*names, "ToolUnionParam"])
    text = HEADER + "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n\n\n"
    text += body + "\n\n" + f"ToolUnionParam: TypeAlias = {tools_union}\n"
    text += '"""One entry of ``tools``: a custom tool, a server tool, an MCP toolset."""\n\n\n'
    text += create + "\n\n" + count
    OUT.write_text(text)
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "format", "-q", str(OUT)], check=True)
    subprocess.run([*ruff, "check", "--fix", "-q", str(OUT)], check=True)
    subprocess.run([*ruff, "format", "-q", str(OUT)], check=True)
    print(f"wrote {OUT} ({len(names)} TypedDicts)")


if __name__ == "__main__":
    main()
