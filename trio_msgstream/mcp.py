"""MCP servers as tools, prompts and resources (the optional extra ``[mcp]``).

The official SDK's helpers under the same names, for a ``mcp`` ``ClientSession``
(mcp 2.x; the 1.x field names are read too):

- :func:`async_mcp_tool`: an MCP tool as an async tool of the tool runner. The
  runner runs a turn's calls at once (one session multiplexes them), each under the
  runner's ``tool_timeout``; cancelling the runner cancels the calls in flight;
- :func:`mcp_tool`: the same as a sync tool, for the sync client's runner (its worker
  threads reach the session's event loop through ``portal=``, an anyio
  ``BlockingPortal``) and for sync tools run by the trio runner (its worker threads
  reach the loop without a portal);
- :func:`mcp_content`, :func:`mcp_message`, :func:`mcp_resource_to_content`: MCP
  content, prompt messages and resources as message content;
- :func:`mcp_resource_to_file`: a resource as ``(filename, bytes, content_type)`` for
  ``client.beta.files.upload(file=...)``.

Tool results convert as the official SDK does: text, images and embedded resources
become content blocks, ``structuredContent`` alone becomes its JSON text, and
``isError`` becomes an ``is_error`` result. Unsupported values raise
:class:`~trio_msgstream.errors.UnsupportedMCPValueError` (in a tool, that is an error
result for the model). See ``docs/mcp.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

try:
    import anyio.from_thread
    import mcp.types  # noqa: F401 - the extra is installed
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "trio_msgstream.mcp needs the mcp package: pip install 'trio_msgstream[mcp]'"
    ) from _error

import trio

from ._core.agents.mcp_convert import mcp_content as mcp_content
from ._core.agents.mcp_convert import mcp_field, tool_result_value
from ._core.agents.mcp_convert import mcp_message as mcp_message
from ._core.agents.mcp_convert import mcp_resource_to_content as mcp_resource_to_content
from ._core.agents.mcp_convert import mcp_resource_to_file as mcp_resource_to_file
from ._core.exceptions import UnsupportedMCPValueError as UnsupportedMCPValueError
from ._core.typed_json.tools import FunctionTool

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal
    from mcp.client.session import ClientSession

__all__ = [
    "UnsupportedMCPValueError",
    "async_mcp_tool",
    "mcp_content",
    "mcp_message",
    "mcp_resource_to_content",
    "mcp_resource_to_file",
    "mcp_tool",
]

T = TypeVar("T")

AllowedCaller = Literal[
    "direct", "code_execution_20250825", "code_execution_20260120", "code_execution_20260521"
]


def _definition_extra(
    cache_control: Mapping[str, Any] | None,
    defer_loading: bool | None,
    allowed_callers: list[AllowedCaller] | None,
    eager_input_streaming: bool | None,
    input_examples: Iterable[Mapping[str, object]] | None,
    strict: bool | None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "cache_control": dict(cache_control) if cache_control is not None else None,
        "defer_loading": defer_loading,
        "allowed_callers": allowed_callers,
        "eager_input_streaming": eager_input_streaming,
        "input_examples": [dict(e) for e in input_examples] if input_examples else None,
        "strict": strict,
    }
    return {key: value for key, value in extra.items() if value is not None}


def _function_tool(tool: Any, func: Callable[..., Any], extra: dict[str, Any]) -> FunctionTool[Any]:
    schema = mcp_field(tool, "input_schema") or {"type": "object", "properties": {}}
    return FunctionTool(
        func,
        name=tool.name,
        description=tool.description or "",
        input_schema=schema,
        extra=extra,
    )


def async_mcp_tool(
    tool: Any,
    client: ClientSession,
    *,
    cache_control: Mapping[str, Any] | None = None,
    defer_loading: bool | None = None,
    allowed_callers: list[AllowedCaller] | None = None,
    eager_input_streaming: bool | None = None,
    input_examples: Iterable[Mapping[str, object]] | None = None,
    strict: bool | None = None,
) -> FunctionTool[Any]:
    """An MCP tool (from ``await session.list_tools()``) as an async runner tool.

    Example::

        tools = [async_mcp_tool(t, session) for t in (await session.list_tools()).tools]
        runner = client.messages.tool_runner(model=..., max_tokens=..., tools=tools,
                                             messages=[...])

    The call is ``await client.call_tool(name, arguments)`` in the runner's task, so
    the runner's ``tool_timeout`` and cancellation reach it.

    Args:
        tool: An MCP ``Tool``.
        client: The MCP ``ClientSession`` that calls it.
        cache_control: Added to the tool's definition when given, as are the five below.
        defer_loading: See ``cache_control``.
        allowed_callers: See ``cache_control``.
        eager_input_streaming: See ``cache_control``.
        input_examples: See ``cache_control``.
        strict: See ``cache_control``.
    """
    name = tool.name

    async def call_mcp(**arguments: Any) -> Any:
        return tool_result_value(await client.call_tool(name, arguments))

    extra = _definition_extra(
        cache_control, defer_loading, allowed_callers, eager_input_streaming, input_examples, strict
    )
    return _function_tool(tool, call_mcp, extra)


def mcp_tool(
    tool: Any,
    client: ClientSession,
    *,
    portal: BlockingPortal | None = None,
    cache_control: Mapping[str, Any] | None = None,
    defer_loading: bool | None = None,
    allowed_callers: list[AllowedCaller] | None = None,
    eager_input_streaming: bool | None = None,
    input_examples: Iterable[Mapping[str, object]] | None = None,
    strict: bool | None = None,
) -> FunctionTool[Any]:
    """An MCP tool as a sync runner tool: the call runs in the session's event loop.

    From a worker thread of trio (the trio runner's sync tools) or of anyio the call
    reaches the loop by itself; from any other thread (the sync client's runner) pass
    ``portal``, the anyio ``BlockingPortal`` of the loop the session lives in::

        with anyio.from_thread.start_blocking_portal("trio") as portal:
            ...  # open the session in the portal, then:
            tools = [mcp_tool(t, session, portal=portal) for t in listed.tools]

    Args:
        tool: An MCP ``Tool``.
        client: The MCP ``ClientSession`` that calls it.
        portal: The session's loop, for calls from threads it did not start.
        cache_control: Added to the tool's definition when given, as are the five below.
        defer_loading: See ``cache_control``.
        allowed_callers: See ``cache_control``.
        eager_input_streaming: See ``cache_control``.
        input_examples: See ``cache_control``.
        strict: See ``cache_control``.

    Raises:
        RuntimeError: (When called) no way to the session's loop from this thread.
    """
    name = tool.name

    def call_mcp(**arguments: Any) -> Any:
        return tool_result_value(_run_in_loop(portal, client.call_tool, name, arguments))

    extra = _definition_extra(
        cache_control, defer_loading, allowed_callers, eager_input_streaming, input_examples, strict
    )
    return _function_tool(tool, call_mcp, extra)


def _run_in_loop(
    portal: BlockingPortal | None, func: Callable[..., Coroutine[Any, Any, T]], *args: Any
) -> T:
    """Run ``func(*args)`` in the session's event loop from this (worker) thread."""
    if portal is not None:
        result: T = portal.call(func, *args)
        return result
    if _started_by(trio.from_thread.check_cancelled):
        # A thread trio started (trio.to_thread): the call runs in the calling task's
        # context, so its cancellation (a tool timeout) reaches the MCP request.
        return trio.from_thread.run(func, *args)
    if _started_by(anyio.from_thread.check_cancelled):
        return anyio.from_thread.run(func, *args)
    raise RuntimeError(
        "mcp_tool was called from a thread that neither trio nor anyio started: pass "
        "portal= (an anyio BlockingPortal of the session's event loop), or use "
        "async_mcp_tool with the trio client"
    )


def _started_by(check_cancelled: Callable[[], None]) -> bool:
    """Whether this thread was started by the event loop whose ``check_cancelled``
    this is (it raises ``RuntimeError`` in any other thread)."""
    try:
        check_cancelled()
    except RuntimeError:
        return False
    return True
