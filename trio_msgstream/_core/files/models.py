"""The Files API's objects: a file's metadata, a page of the list, a deleted file.

Part of the sans-IO core. Every model keeps the fields it does not know (``extra``),
so a new field the API adds is readable before this library names it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ..schema.blocks import APIModel

__all__ = ["DeletedFile", "FileMetadata", "FilePage", "FileScope"]


class FileScope(APIModel):
    """The context a file was created in (for example a session)."""

    id: str
    type: str = "session"


class FileMetadata(APIModel):
    """A file of the Files API, as ``upload``, ``list`` and ``retrieve_metadata`` describe it."""

    id: str
    """The file's id: pass it in a content block's ``source`` (``{"type": "file",
    "file_id": ...}``)."""
    type: Literal["file"] = "file"
    filename: str = ""
    """The name it was uploaded with."""
    mime_type: str = ""
    size_bytes: int = 0
    created_at: datetime
    downloadable: bool | None = None
    """Whether :meth:`download` may fetch it (files the model made are; uploads are not)."""
    expires_at: datetime | None = None
    """When its bytes become unavailable (``None``: never)."""
    scope: FileScope | None = None


class FilePage(APIModel):
    """One page of ``files.list``."""

    data: list[FileMetadata] = Field(default_factory=list)
    next_page: str | None = None
    """The cursor of the next page (``None``: this is the last)."""
    has_more: bool | None = None
    first_id: str | None = None
    last_id: str | None = None


class DeletedFile(APIModel):
    """The answer of ``files.delete``."""

    id: str
    type: Literal["file_deleted"] = "file_deleted"
