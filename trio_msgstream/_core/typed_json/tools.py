"""Function tools: the ``tool`` decorator, tool definitions, and tool results.

Part of the sans-IO core (no trio, no httpx). A decorated function becomes a
:class:`FunctionTool`: its name, description (the docstring's text before its first
section) and input schema (the parameters' type hints, through pydantic, with the
``Args:`` descriptions) make the definition sent in ``tools``; a ``tool_use`` block's
input is validated against the same hints before the call. Sync and async functions
are both tools; the drivers call them (the trio runner awaits coroutines and runs
sync functions in a worker thread; the sync runner calls them directly or in a
thread pool).

What goes back to the model (:func:`tool_result_block`, :func:`tool_error_block`):

- a ``str`` as is; a list of content blocks (dicts with a ``type``) as is; ``None`` as
  no content; a pydantic model, dict, list or number as its JSON text;
- a :class:`ToolError` as an ``is_error`` result with its own content;
- any other exception as an ``is_error`` result with one short line: the exception's
  type and message, cut to :data:`MAX_ERROR_TEXT` characters, with anything that
  looks like an API key replaced. Never the traceback.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeAlias, TypeVar, overload

import pydantic
from pydantic_core import to_jsonable_python

__all__ = [
    "MAX_ERROR_TEXT",
    "FunctionTool",
    "RunnerTool",
    "SupportsToolDict",
    "ToolError",
    "tool",
    "tool_error_block",
    "tool_param",
    "tool_params",
    "tool_result_block",
    "unknown_tool_block",
]

MAX_ERROR_TEXT: Final = 300
"""Longest error message sent back to the model for a failing tool."""

_SECRET = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns|Return|Yields|Raises|Examples?|"
    r"Notes?|Attributes|Cancellation|Resource handling)\s*:\s*$",
    re.IGNORECASE,
)
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")

F = TypeVar("F", bound=Callable[..., Any])


class ToolError(Exception):
    """Raise from a tool to send ``content`` back as an ``is_error`` result.

    Args:
        content: A string, or a list of content blocks.
    """

    def __init__(self, content: str | list[dict[str, Any]]) -> None:
        super().__init__(content if isinstance(content, str) else "tool error")
        self.content = content


class FunctionTool(Generic[F]):
    """A function the model can call; made by :func:`tool`.

    Calling the tool object calls the function. ``to_dict()`` is the definition sent
    in the request's ``tools``.

    Attributes:
        func: The decorated function.
        name: The tool's name (the function's, unless given).
        description: From the docstring, unless given.
        input_schema: JSON schema of the input, from the type hints unless given.
        is_async: Whether the function is a coroutine function.
    """

    def __init__(
        self,
        func: F,
        *,
        name: str | None = None,
        description: str | None = None,
        input_schema: Mapping[str, Any] | type[pydantic.BaseModel] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.func = func
        self.name: str = name or func.__name__
        self.is_async: bool = inspect.iscoroutinefunction(func)
        summary, arg_docs = _parse_docstring(func.__doc__)
        self.description: str = description if description is not None else summary
        self._validated = pydantic.validate_call(func)
        if isinstance(input_schema, type) and issubclass(input_schema, pydantic.BaseModel):
            self.input_schema: dict[str, Any] = input_schema.model_json_schema()
        elif input_schema is not None:
            self.input_schema = dict(input_schema)
        else:
            self.input_schema = _schema_from_hints(self._validated, arg_docs)
        self._extra = dict(extra or {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r}, is_async={self.is_async})"

    def to_dict(self) -> dict[str, Any]:
        """The tool definition for the request's ``tools``."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            **self._extra,
        }

    def call(self, input: object) -> Any:
        """Validate ``input`` and call the function: its return value, or for an async
        function the awaitable to await.

        Raises:
            ToolError: The input is not an object or does not validate (the message
                says which arguments are wrong, for the model to correct).
        """
        if not isinstance(input, dict):
            raise ToolError(f"invalid input for tool {self.name}: expected an object")
        try:
            return self._validated(**input)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
                for err in exc.errors(include_url=False, include_input=False)[:5]
            )
            raise ToolError(f"invalid input for tool {self.name}: {problems}") from None


@overload
def tool(func: F, /) -> FunctionTool[F]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: Mapping[str, Any] | type[pydantic.BaseModel] | None = None,
    **extra: Any,
) -> Callable[[F], FunctionTool[F]]: ...


def tool(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: Mapping[str, Any] | type[pydantic.BaseModel] | None = None,
    **extra: Any,
) -> FunctionTool[F] | Callable[[F], FunctionTool[F]]:
    """Make a function (sync or async) a tool the model can call.

    Example::

        @tool
        async def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
            \"\"\"Current weather of a city.

            Args:
                city: City name, e.g. "Paris".
            \"\"\"
            ...

    Also exported as ``beta_tool`` and ``beta_async_tool`` (the SDK's names).

    Args:
        func: The function (when used as ``@tool``).
        name: The tool's name; defaults to the function's.
        description: Defaults to the docstring's text before its first section.
        input_schema: A JSON schema or pydantic model; defaults to one built from the
            type hints.
        **extra: Other keys of the tool definition (``cache_control``, ``strict``...).
    """

    def make(fn: F) -> FunctionTool[F]:
        return FunctionTool(
            fn, name=name, description=description, input_schema=input_schema, extra=extra
        )

    return make(func) if func is not None else make


class SupportsToolDict(Protocol):
    """A tool object that gives its definition (``to_dict()``), as a ``@tool``
    function and other libraries' tool adapters do."""

    def to_dict(self) -> Mapping[str, Any]: ...


if TYPE_CHECKING:
    from ..schema.param_types import ToolUnionParam

    RunnerTool: TypeAlias = FunctionTool[Any] | ToolUnionParam | SupportsToolDict
    """One entry of the tool runner's ``tools``: a ``@tool`` function (run by the
    runner), or a definition only (a custom tool's, a server tool's, an object with
    ``to_dict()``), sent but not run."""


def __getattr__(name: str) -> Any:
    # ``RunnerTool`` names the generated parameter types, a large module a program that
    # only streams never needs: the alias is made (and they are imported) on first use.
    if name == "RunnerTool":
        from ..schema.param_types import ToolUnionParam

        alias = FunctionTool[Any] | ToolUnionParam | SupportsToolDict
        globals()[name] = alias
        return alias
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tool_param(item: Any) -> dict[str, Any]:
    """The request form of a ``tools`` entry: a :class:`FunctionTool`'s definition, or
    a mapping (a raw definition, or a server tool) as given."""
    if isinstance(item, FunctionTool):
        return item.to_dict()
    to_dict = getattr(item, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return dict(result)
    if isinstance(item, Mapping):
        return dict(item)
    raise TypeError(f"a tool must be a @tool function or a tool definition, not {item!r}")


def tool_params(items: Iterable[Any]) -> list[dict[str, Any]]:
    """:func:`tool_param` of each entry."""
    return [tool_param(item) for item in items]


def tool_result_block(tool_use_id: str, value: Any) -> dict[str, Any]:
    """The ``tool_result`` block for a tool's return value."""
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id}
    content = _content(value)
    if content is not None:
        block["content"] = content
    return block


def tool_error_block(
    tool_use_id: str, error: BaseException | str, *, secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """An ``is_error`` ``tool_result`` block for a failed call (see the module docs)."""
    if isinstance(error, ToolError):
        content: Any = error.content
    else:
        content = error if isinstance(error, str) else _short_error(error)
        for secret in secrets:
            if secret:
                content = content.replace(secret, "[redacted]")
        content = _SECRET.sub("[redacted]", content)
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": True}


def unknown_tool_block(tool_use_id: str, name: str, known: Iterable[str]) -> dict[str, Any]:
    """The error result for a call of a tool the runner does not have."""
    names = ", ".join(sorted(known)) or "none"
    return tool_error_block(tool_use_id, f"Error: no tool named {name!r} (tools: {names})")


def _short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    if len(text) > MAX_ERROR_TEXT:
        text = text[: MAX_ERROR_TEXT - 1] + "…"
    return "Error: " + text


def _content(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(_is_block(item) for item in value):
        return [dict(item) for item in value]
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json()
    return json.dumps(to_jsonable_python(value), ensure_ascii=False)


def _is_block(item: object) -> bool:
    return isinstance(item, Mapping) and isinstance(item.get("type"), str)


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The text before the first section, and the ``Args:`` descriptions."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in lines:
        header = _SECTION.match(line)
        if header:
            section = header.group(1).lower()
            current = None
            continue
        if section is None:
            summary.append(line)
        elif section in ("args", "arguments", "parameters", "params"):
            match = _ARG_LINE.match(line)
            if match and not line.startswith((" " * 8, "\t\t")):
                current = match.group(1).lstrip("*")
                args[current] = match.group(2).strip()
            elif current is not None and line.strip():
                args[current] = (args[current] + " " + line.strip()).strip()
    return "\n".join(summary).strip(), args


def _schema_from_hints(
    validated: Callable[..., Any], arg_docs: Mapping[str, str]
) -> dict[str, Any]:
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(validated)  # type: ignore[arg-type]
    schema: dict[str, Any] = adapter.json_schema()
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for arg, text in arg_docs.items():
            prop = properties.get(arg)
            if isinstance(prop, dict) and text and "description" not in prop:
                prop["description"] = text
    return schema
