"""The Files API's requests, written once for both clients (``client.beta.files``).

Part of the sans-IO core. Each endpoint is a function returning a
:class:`~trio_msgstream._core.request.calls.Call` (a :class:`PageCall` for the list, a bare
:class:`RequestSpec` for the download, whose body is read by the driver as it
arrives). Reading an upload's file from disk or a file object is I/O, so the drivers
do it (:func:`upload_source` says what to read) and hand the bytes to
:func:`upload_call`.

Every request sends the ``files-api-2025-04-14`` beta (plus the caller's ``betas``);
``workspace_id`` becomes the ``anthropic-workspace-id`` header.
"""

from __future__ import annotations

import dataclasses
import json
import mimetypes
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any, TypeAlias, Union
from urllib.parse import quote

from ..request.calls import Call, PageCall, model_parser
from ..request.client_config import ClientConfig
from ..request.options import RequestOptions, split_options
from ..request.spec import RequestSpec
from .models import DeletedFile, FileMetadata, FilePage
from .multipart import FilePart, encode_multipart

__all__ = [
    "FILES_BETA",
    "FILES_PATH",
    "FileContent",
    "FileListParams",
    "FileRequestParams",
    "FileTypes",
    "FileUploadParams",
    "delete_call",
    "download_spec",
    "file_part",
    "list_call",
    "read_content",
    "retrieve_metadata_call",
    "upload_call",
    "upload_source",
]

FILES_PATH = "/v1/files"
FILES_BETA = "files-api-2025-04-14"
"""The beta every Files API request names."""

FileContent: TypeAlias = Union[bytes, "os.PathLike[str]", IO[bytes]]
"""A file's content: bytes, a path, or a binary file object."""
FileTypes: TypeAlias = (
    FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]
)
"""What ``upload(file=...)`` takes, as the official SDK: content, or ``(filename,
content)``, or ``(filename, content, content_type)``."""


class FileRequestParams(RequestOptions, total=False):
    """The keyword arguments of ``retrieve_metadata``, ``delete`` and ``download``."""

    betas: Sequence[str]
    """More beta features (``files-api-2025-04-14`` is always sent)."""
    workspace_id: str
    """The workspace to act in (the ``anthropic-workspace-id`` header)."""


class FileUploadParams(FileRequestParams, total=False):
    """The keyword arguments of ``upload`` beside ``file``."""

    expires_in_seconds: int
    """Seconds until the file expires (3600 to 7776000); default: never."""


class FileListParams(FileRequestParams, total=False):
    """The keyword arguments of ``list``."""

    limit: int
    """Files per page (1 to 1000; the API's default is 20)."""
    page: str
    """The cursor of the page to start at (a page's ``next_page``)."""
    ids: Sequence[str]
    """Only these files (at most 100; one page)."""
    scope_id: str
    """Only the files of this scope (a session id)."""


_COMMON = frozenset({"betas", "workspace_id"})


def _split(kwargs: Mapping[str, Any], allowed: frozenset[str]) -> tuple[dict[str, Any], Any]:
    params, options = split_options(kwargs)
    unknown = set(params) - allowed - _COMMON
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    return params, options


def _build(
    config: ClientConfig[Any, Any],
    method: str,
    path: str,
    params: dict[str, Any],
    options: RequestOptions,
    *,
    query: Mapping[str, str] | None = None,
    accept: str | None = None,
) -> RequestSpec:
    betas = [FILES_BETA, *(b for b in params.pop("betas", None) or () if b != FILES_BETA)]
    workspace = params.pop("workspace_id", None)
    if workspace is not None:
        headers = {"anthropic-workspace-id": str(workspace), **(options.get("extra_headers") or {})}
        options = RequestOptions(**{**options, "extra_headers": headers})
    return config.build_request(
        method, path, query=query, options=options, betas=betas, accept=accept
    )


def _file_path(file_id: str, suffix: str = "") -> str:
    if not isinstance(file_id, str) or not file_id:
        raise ValueError(f"file_id must be a non-empty string, not {file_id!r}")
    return f"{FILES_PATH}/{quote(file_id, safe='')}{suffix}"


# -- upload ----------------------------------------------------------------------------


def upload_source(file: Any) -> tuple[str | None, FileContent, str | None]:
    """``(filename, content, content_type)`` of an ``upload(file=...)`` argument.

    Raises:
        TypeError: ``file`` is none of :data:`FileTypes`.
    """
    filename: str | None = None
    content_type: str | None = None
    content: Any = file
    if isinstance(file, tuple):
        if len(file) not in (2, 3):
            raise TypeError("file=(filename, content[, content_type]) takes 2 or 3 items")
        filename, content = file[0], file[1]
        content_type = file[2] if len(file) == 3 else None
        if filename is not None and not isinstance(filename, str):
            raise TypeError(f"a file name must be a str, not {filename!r}")
        if content_type is not None and not isinstance(content_type, str):
            raise TypeError(f"a content type must be a str, not {content_type!r}")
    if isinstance(content, (bytes, bytearray, memoryview)):
        return filename, bytes(content), content_type
    if isinstance(content, os.PathLike):
        return filename or os.path.basename(os.fspath(content)), content, content_type
    if callable(getattr(content, "read", None)):
        if filename is None:
            name = getattr(content, "name", None)
            filename = os.path.basename(name) if isinstance(name, str) else None
        return filename, content, content_type
    raise TypeError(
        "file must be bytes, a path (os.PathLike), a binary file object, or a tuple "
        f"(filename, content[, content_type]); not {type(file).__name__}"
    )


def read_content(source: FileContent) -> bytes:
    """The bytes of an upload's content: reads a path or a file object (blocking: the
    trio driver runs this in a worker thread)."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, os.PathLike):
        with open(source, "rb") as file:
            return file.read()
    data: object = source.read()
    if isinstance(data, str):
        raise TypeError("a file object opened in text mode: open it with 'rb'")
    if not isinstance(data, bytes):
        raise TypeError(f"the file object's read() returned {type(data).__name__}, not bytes")
    return data


def file_part(filename: str | None, content: bytes, content_type: str | None) -> FilePart:
    """The upload's part: the name given (``upload`` when none) and the content type
    given or guessed from the name (``application/octet-stream`` when unknown)."""
    if isinstance(content, str):
        raise TypeError("a file object opened in text mode: open it with 'rb'")
    if not isinstance(content, bytes):
        raise TypeError(f"a file's content must be bytes, not {type(content).__name__}")
    name = filename or "upload"
    guessed = mimetypes.guess_type(name)[0]
    return FilePart(name, content, content_type or guessed or "application/octet-stream")


def upload_call(
    config: ClientConfig[Any, Any], part: FilePart, kwargs: Mapping[str, Any]
) -> Call[FileMetadata]:
    """``POST /v1/files``: a multipart body with the ``file`` part (and
    ``expires_in_seconds``)."""
    params, options = _split(kwargs, frozenset({"expires_in_seconds"}))
    fields: dict[str, str] = {}
    expires = params.pop("expires_in_seconds", None)
    if expires is not None:
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise TypeError(f"expires_in_seconds must be an int, not {expires!r}")
        fields["expires_in_seconds"] = str(expires)
    extra_body = options.pop("extra_body", None) or {}
    for key, value in extra_body.items():
        fields[key] = value if isinstance(value, str) else json.dumps(value)
    spec = _build(config, "POST", FILES_PATH, params, options)
    content_type, body = encode_multipart(fields, {"file": part})
    spec = dataclasses.replace(
        spec, body=body, headers={**spec.headers, "content-type": content_type}
    )
    return Call(spec, model_parser(FileMetadata), "files.upload")


# -- the others -------------------------------------------------------------------------


def list_call(
    config: ClientConfig[Any, Any], kwargs: Mapping[str, Any]
) -> PageCall[FilePage, FileMetadata]:
    """``GET /v1/files``: the first page asked for, and how to get the next ones."""
    params, options = _split(kwargs, frozenset({"limit", "page", "ids", "scope_id"}))
    query: dict[str, str] = {}
    for key in ("limit", "page", "scope_id"):
        if params.get(key) is not None:
            query[key] = str(params.pop(key))
    ids = params.pop("ids", None)
    if ids is not None:
        if isinstance(ids, str):
            raise TypeError("ids must be a sequence of file ids, not a str")
        query["ids"] = ",".join(ids)
    spec = _build(config, "GET", FILES_PATH, params, options, query=query)

    def next_page(page: FilePage) -> PageCall[FilePage, FileMetadata] | None:
        if not page.next_page or ids is not None:
            return None
        return list_call(config, {**kwargs, "page": page.next_page})

    return PageCall(
        Call(spec, model_parser(FilePage), "files.list"), lambda page: page.data, next_page
    )


def retrieve_metadata_call(
    config: ClientConfig[Any, Any], file_id: str, kwargs: Mapping[str, Any]
) -> Call[FileMetadata]:
    """``GET /v1/files/{file_id}``."""
    path = _file_path(file_id)
    params, options = _split(kwargs, frozenset())
    spec = _build(config, "GET", path, params, options)
    return Call(spec, model_parser(FileMetadata), "files.retrieve_metadata")


def delete_call(
    config: ClientConfig[Any, Any], file_id: str, kwargs: Mapping[str, Any]
) -> Call[DeletedFile]:
    """``DELETE /v1/files/{file_id}``."""
    path = _file_path(file_id)
    params, options = _split(kwargs, frozenset())
    spec = _build(config, "DELETE", path, params, options)
    return Call(spec, model_parser(DeletedFile), "files.delete")


def download_spec(
    config: ClientConfig[Any, Any], file_id: str, kwargs: Mapping[str, Any]
) -> RequestSpec:
    """``GET /v1/files/{file_id}/content``; the driver reads the body as it arrives."""
    path = _file_path(file_id, "/content")
    params, options = _split(kwargs, frozenset())
    return _build(config, "GET", path, params, options, accept="application/binary")
