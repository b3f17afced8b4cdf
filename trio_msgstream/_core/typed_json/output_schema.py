"""Structured outputs, the request side: ``output_format=T`` in the form the API takes.

Part of the sans-IO core (no trio, no httpx). ``output_format=T`` (a pydantic model or
any type ``pydantic.TypeAdapter`` takes) becomes
``output_config={"format": {"type": "json_schema", "schema": S}}``, where ``S`` is the
type's JSON schema rewritten into the subset the API accepts (:func:`transform_schema`:
objects closed with ``additionalProperties: false``, ``oneOf`` as ``anyOf``,
unsupported keywords moved into the description). A given ``output_config`` keeps its
other keys. This is the form the official SDK sends. Every client entry point builds
its body through :func:`prepare_request_params`, which also turns ``@tool`` functions
in ``tools`` into their definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic
from pydantic import TypeAdapter

from .tools import tool_params

__all__ = [
    "adapter_for",
    "output_format_param",
    "prepare_request_params",
    "schema_params",
    "transform_schema",
]

_SUPPORTED_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def transform_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite a JSON schema into the subset the structured-output API accepts.

    Objects get ``additionalProperties: false``; ``oneOf`` becomes ``anyOf``; string
    formats the API does not know, ``minItems`` above 1 and every other unsupported
    keyword are appended to the description as ``{key: value, ...}`` so the model
    may still follow them.

    Raises:
        ValueError: A (sub)schema has no ``type``, ``anyOf``/``oneOf``/``allOf``,
            ``const`` or ``enum``.
    """
    rest = dict(schema)
    out: dict[str, Any] = {}
    defs = rest.pop("$defs", None)
    if defs is not None:
        out["$defs"] = {name: transform_schema(sub) for name, sub in defs.items()}
    ref = rest.pop("$ref", None)
    if ref is not None:
        out["$ref"] = ref
        return out
    kind = rest.pop("type", None)
    any_of, one_of, all_of = (
        rest.pop("anyOf", None),
        rest.pop("oneOf", None),
        rest.pop("allOf", None),
    )
    enum = rest.get("enum")
    if isinstance(enum, list) and enum and all(_is_primitive(v) for v in enum):
        out["enum"] = list(rest.pop("enum"))
    if "const" in rest and _is_primitive(rest["const"]):
        out["const"] = rest.pop("const")
    literal = "enum" in out or "const" in out
    if literal:
        kind = None
    if isinstance(any_of, list):
        out["anyOf"] = [transform_schema(variant) for variant in any_of]
    elif isinstance(one_of, list):
        out["anyOf"] = [transform_schema(variant) for variant in one_of]
    elif isinstance(all_of, list):
        out["allOf"] = [transform_schema(variant) for variant in all_of]
    elif not literal:
        if kind is None:
            raise ValueError(
                "Schema must have a 'type', 'anyOf', 'oneOf', or 'allOf' field, "
                "or a 'const' or non-empty 'enum' of strings, numbers, booleans, or null."
            )
        out["type"] = kind
    for key in ("description", "title"):
        value = rest.pop(key, None)
        if value is not None:
            out[key] = value
    if kind == "object":
        out["properties"] = {
            name: transform_schema(sub) for name, sub in rest.pop("properties", {}).items()
        }
        rest.pop("additionalProperties", None)
        out["additionalProperties"] = False
        required = rest.pop("required", None)
        if required is not None:
            out["required"] = list(required) if isinstance(required, list) else required
    elif kind == "string":
        fmt = rest.pop("format", None)
        if fmt and fmt in _SUPPORTED_STRING_FORMATS:
            out["format"] = fmt
        elif fmt:
            rest["format"] = fmt
    elif kind == "array":
        items = rest.pop("items", None)
        if items is not None:
            out["items"] = transform_schema(items)
        min_items = rest.pop("minItems", None)
        if min_items in (0, 1):
            out["minItems"] = min_items
        elif min_items is not None:
            rest["minItems"] = min_items
    if rest:
        extra = "{" + ", ".join(f"{key}: {value}" for key, value in rest.items()) + "}"
        description = out.get("description")
        out["description"] = (description + "\n\n" if description is not None else "") + extra
    return out


def _is_primitive(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def output_format_param(output_format: Any) -> dict[str, Any]:
    """The ``output_config.format`` value that asks for replies of type ``output_format``.

    Raises:
        TypeError: ``output_format`` is a mapping (a schema belongs in
            ``output_config={"format": ...}``) or a type pydantic cannot describe.
    """
    if isinstance(output_format, Mapping):
        raise TypeError(
            "output_format must be a type; pass a schema dict as "
            "output_config={'format': ...} instead"
        )
    try:
        schema = adapter_for(output_format).json_schema()
    except pydantic.errors.PydanticSchemaGenerationError:
        raise TypeError(
            f"cannot build a JSON schema for output_format={output_format!r}; "
            "use a type that pydantic.TypeAdapter accepts"
        ) from None
    return {"type": "json_schema", "schema": transform_schema(schema)}


def schema_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with ``output_format`` taken out and its schema put into
    ``output_config`` (unchanged without ``output_format``)."""
    out = dict(params)
    output_format = out.pop("output_format", None)
    if output_format is None:
        return out
    fmt = output_format_param(output_format)
    config = out.get("output_config")
    out["output_config"] = (
        {**config, "format": fmt} if isinstance(config, Mapping) else {"format": fmt}
    )
    return out


def prepare_request_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request parameters ready to encode: ``output_format`` turned into
    ``output_config`` (see :func:`schema_params`) and ``@tool`` functions in
    ``tools`` turned into their definitions."""
    out = schema_params(params)
    tools = out.get("tools")
    if tools is not None and not isinstance(tools, (str, bytes, Mapping)):
        out["tools"] = tool_params(tools)
    return out


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter_for(tp: Any) -> TypeAdapter[Any]:
    try:
        return _ADAPTERS[tp]
    except (KeyError, TypeError):
        pass
    adapter: TypeAdapter[Any] = TypeAdapter(tp)
    try:
        if len(_ADAPTERS) < 512:
            _ADAPTERS[tp] = adapter
    except TypeError:  # unhashable type expression
        pass
    return adapter
