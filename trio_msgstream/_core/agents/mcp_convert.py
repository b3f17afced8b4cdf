"""MCP values to Messages API values: content blocks, prompt messages, resources,
tool results. Sans-IO and duck-typed.

Part of the core: nothing here imports ``mcp`` (an optional extra) or does I/O; the
objects are read by their ``type`` and fields, under both the mcp 2.x names
(``mime_type``, ``is_error``, ``structured_content``, ``input_schema``) and the 1.x
ones (``mimeType``, ``isError``, ...). :mod:`trio_msgstream.mcp` builds the tools on
these and re-exports them under the official SDK's names.

Rules (as the official SDK's helpers):

- text -> a ``text`` block; an image of a supported type (JPEG, PNG, GIF, WebP) -> a
  base64 ``image`` block; an embedded resource -> its contents' block;
- resource contents: a supported image (blob) -> ``image``; a PDF (blob) -> a base64
  ``document``; text (or no MIME type) -> a plain-text ``document``; anything else,
  audio blocks and resource links -> :class:`UnsupportedMCPValueError`;
- a tool result with ``isError`` -> :class:`ToolError` (an ``is_error`` result with the
  converted content); a result with no content but ``structuredContent`` -> its JSON
  text; otherwise the converted content blocks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from ..exceptions import UnsupportedMCPValueError
from ..typed_json.tools import ToolError

__all__ = [
    "SUPPORTED_IMAGE_TYPES",
    "mcp_content",
    "mcp_field",
    "mcp_message",
    "mcp_resource_to_content",
    "mcp_resource_to_file",
    "tool_result_value",
]

SUPPORTED_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

_V1_NAMES = {
    "input_schema": "inputSchema",
    "mime_type": "mimeType",
    "is_error": "isError",
    "structured_content": "structuredContent",
}


def mcp_field(obj: Any, name: str) -> Any:
    """A field of an MCP object by its mcp 2.x name, or its 1.x (camelCase) name."""
    if hasattr(obj, name):
        return getattr(obj, name)
    return getattr(obj, _V1_NAMES.get(name, name), None)


def _with_cache(block: dict[str, Any], cache_control: Mapping[str, Any] | None) -> dict[str, Any]:
    if cache_control is not None:
        block["cache_control"] = dict(cache_control)
    return block


def mcp_content(content: Any, *, cache_control: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One MCP content block as a Messages API content block.

    Raises:
        UnsupportedMCPValueError: An audio block, a resource link, an unsupported image
            type or resource.
    """
    kind = getattr(content, "type", None)
    if kind == "text":
        return _with_cache({"type": "text", "text": content.text}, cache_control)
    if kind == "image":
        mime_type = mcp_field(content, "mime_type")
        if mime_type not in SUPPORTED_IMAGE_TYPES:
            raise UnsupportedMCPValueError(f"unsupported image MIME type: {mime_type}")
        source = {"type": "base64", "data": content.data, "media_type": mime_type}
        return _with_cache({"type": "image", "source": source}, cache_control)
    if kind == "resource":
        return _resource_block(content.resource, cache_control)
    name = kind if isinstance(kind, str) else type(content).__name__
    raise UnsupportedMCPValueError(f"unsupported MCP content type: {name}")


def _is_blob(resource: Any) -> bool:
    return isinstance(getattr(resource, "blob", None), str)


def _resource_block(resource: Any, cache_control: Mapping[str, Any] | None) -> dict[str, Any]:
    mime_type = mcp_field(resource, "mime_type")
    uri = getattr(resource, "uri", "")
    if mime_type in SUPPORTED_IMAGE_TYPES:
        if not _is_blob(resource):
            raise UnsupportedMCPValueError(f"an image resource must be a blob, not text: {uri}")
        source = {"type": "base64", "data": resource.blob, "media_type": mime_type}
        return _with_cache({"type": "image", "source": source}, cache_control)
    if mime_type == "application/pdf":
        if not _is_blob(resource):
            raise UnsupportedMCPValueError(f"a PDF resource must be a blob, not text: {uri}")
        source = {"type": "base64", "data": resource.blob, "media_type": "application/pdf"}
        return _with_cache({"type": "document", "source": source}, cache_control)
    if mime_type is None or str(mime_type).startswith("text/"):
        if _is_blob(resource):
            data = base64.b64decode(resource.blob).decode("utf-8")
        else:
            data = resource.text
        source = {"type": "text", "data": data, "media_type": "text/plain"}
        return _with_cache({"type": "document", "source": source}, cache_control)
    raise UnsupportedMCPValueError(f"unsupported MIME type {mime_type!r} of resource {uri}")


def _supported(mime_type: Any) -> bool:
    return (
        mime_type is None
        or str(mime_type).startswith("text/")
        or mime_type == "application/pdf"
        or mime_type in SUPPORTED_IMAGE_TYPES
    )


def mcp_message(message: Any, *, cache_control: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An MCP prompt message (``get_prompt().messages``) as a message param."""
    return {
        "role": message.role,
        "content": [mcp_content(message.content, cache_control=cache_control)],
    }


def mcp_resource_to_content(
    result: Any, *, cache_control: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The first supported contents of a ``read_resource()`` result, as a content block.

    Raises:
        UnsupportedMCPValueError: No contents, or none of a supported type.
    """
    contents = list(getattr(result, "contents", None) or ())
    if not contents:
        raise UnsupportedMCPValueError("the resource has no contents")
    for item in contents:
        if _supported(mcp_field(item, "mime_type")):
            return _resource_block(item, cache_control)
    found = ", ".join(str(mcp_field(c, "mime_type")) for c in contents)
    raise UnsupportedMCPValueError(f"no supported MIME type among the resource's: {found}")


def mcp_resource_to_file(result: Any) -> tuple[str | None, bytes, str | None]:
    """The first contents of a ``read_resource()`` result as ``(filename, content,
    content_type)``, for ``client.beta.files.upload(file=...)``.

    The name is the last segment of the resource's URI path (its host when the path
    is empty, as in ``data://report.pdf``).
    """
    contents = list(getattr(result, "contents", None) or ())
    if not contents:
        raise UnsupportedMCPValueError("the resource has no contents")
    resource = contents[0]
    parsed = urlparse(str(getattr(resource, "uri", "")))
    # The last segment of the path; for a URI like ``data://report.pdf``, its host.
    name = parsed.path.rstrip("/").rsplit("/", 1)[-1] or parsed.netloc
    if _is_blob(resource):
        data = base64.b64decode(resource.blob)
    else:
        data = str(resource.text).encode("utf-8")
    return (name or None), data, mcp_field(resource, "mime_type")


def tool_result_value(result: Any) -> Any:
    """What an MCP ``call_tool`` result gives back to the model (see the module rules).

    Raises:
        ToolError: The result has ``isError`` set.
    """
    content = list(getattr(result, "content", None) or ())
    if mcp_field(result, "is_error"):
        raise ToolError([mcp_content(item) for item in content] or "the tool failed")
    structured = mcp_field(result, "structured_content")
    if not content and structured is not None:
        return json.dumps(structured)
    return [mcp_content(item) for item in content]
