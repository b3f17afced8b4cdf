"""Fake Files API endpoints for the fake Anthropic server.

Theory of operation: :class:`FakeFiles` adds the routes of ``client.beta.files`` to a
running :class:`~trio_msgstream.testing.FakeAnthropicServer` and keeps the files in
memory, so a test uploads, lists, downloads and deletes as against the API, and
inspects :attr:`FakeFiles.files` and ``server.requests``:

- ``POST /v1/files``: a ``multipart/form-data`` body with a ``file`` part (its
  ``filename`` and ``Content-Type`` are kept) and an optional ``expires_in_seconds``
  (3600 to 7776000); uploads are not downloadable, as on the API;
- ``GET /v1/files`` with ``limit`` (1 to 1000, default 20), the ``page`` cursor
  (``next_page``), ``ids`` and ``scope_id``, newest first;
- ``GET /v1/files/{file_id}``, ``DELETE /v1/files/{file_id}``, and
  ``GET /v1/files/{file_id}/content`` (in chunks of ``chunk_size`` bytes; ``400`` for
  a file that is not downloadable);
- every request must name the ``files-api-2025-04-14`` beta (``400`` otherwise), and
  an unknown id is a ``404 not_found_error``.

:meth:`FakeFiles.add` puts a file in as the model would (code execution outputs):
downloadable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from ._responses import ScriptedResponse
from ._server import FakeAnthropicServer, RecordedRequest

__all__ = ["FakeFile", "FakeFiles"]

FILES_BETA = "files-api-2025-04-14"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeFile:
    """A file held by :class:`FakeFiles`."""

    id: str
    filename: str
    mime_type: str
    content: bytes
    created_at: datetime
    downloadable: bool = False
    expires_at: datetime | None = None
    scope_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The file as the API describes it."""
        data: dict[str, Any] = {
            "id": self.id,
            "type": "file",
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size_bytes": len(self.content),
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "downloadable": self.downloadable,
            "expires_at": (
                self.expires_at.isoformat().replace("+00:00", "Z") if self.expires_at else None
            ),
            **self.extra,
        }
        if self.scope_id is not None:
            data["scope"] = {"id": self.scope_id, "type": "session"}
        return data


def _json(status: int, payload: object) -> ScriptedResponse:
    return ScriptedResponse(
        status=status,
        headers=[("content-type", "application/json")],
        body=json.dumps(payload).encode(),
    )


def _invalid(message: str) -> ScriptedResponse:
    return ScriptedResponse.error(400, "invalid_request_error", message)


class FakeFiles:
    """The Files API on ``server``, with the files in memory.

    Args:
        server: The fake server to add the routes to.
        chunk_size: Bytes per network chunk of a download.

    Attributes:
        files: The files, oldest first.
    """

    def __init__(self, server: FakeAnthropicServer, *, chunk_size: int = 64 * 1024) -> None:
        self.files: list[FakeFile] = []
        self._chunk_size = chunk_size
        self._count = 0
        server.add_route("POST", "/v1/files", self._upload)
        server.add_route("GET", "/v1/files", self._list)
        server.add_route("GET", "/v1/files/{file_id}", self._retrieve)
        server.add_route("DELETE", "/v1/files/{file_id}", self._delete)
        server.add_route("GET", "/v1/files/{file_id}/content", self._download)

    def add(
        self,
        content: bytes,
        *,
        filename: str = "output.txt",
        mime_type: str = "text/plain",
        downloadable: bool = True,
        scope_id: str | None = None,
    ) -> FakeFile:
        """Put a file in, as the model would (downloadable by default)."""
        self._count += 1
        file = FakeFile(
            id=f"file_{self._count:024d}",
            filename=filename,
            mime_type=mime_type,
            content=content,
            created_at=_EPOCH + timedelta(seconds=self._count),
            downloadable=downloadable,
            scope_id=scope_id,
        )
        self.files.append(file)
        return file

    def get(self, file_id: str) -> FakeFile | None:
        """The file with this id, if any."""
        return next((f for f in self.files if f.id == file_id), None)

    # -- routes ------------------------------------------------------------------------

    def _check(self, request: RecordedRequest) -> ScriptedResponse | None:
        betas = [b.strip() for b in (request.header("anthropic-beta") or "").split(",")]
        if FILES_BETA not in betas:
            return _invalid(f"the Files API needs the anthropic-beta header {FILES_BETA}")
        return None

    def _upload(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Any
    ) -> ScriptedResponse:
        refused = self._check(request)
        if refused is not None:
            return refused
        content_type = request.header("content-type") or ""
        if not content_type.startswith("multipart/form-data"):
            return _invalid("the body must be multipart/form-data")
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + request.body)
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                fields[name] = part
        if "file" not in fields:
            return _invalid("file: field required")
        part = fields["file"]
        expires_at = None
        if "expires_in_seconds" in fields:
            raw = fields["expires_in_seconds"].get_payload(decode=True) or b""
            try:
                seconds = int(raw)
            except ValueError:
                return _invalid("expires_in_seconds: not an integer")
            if not 3600 <= seconds <= 7776000:
                return _invalid("expires_in_seconds: must be between 3600 and 7776000")
            expires_at = seconds
        filename = part.get_filename() or "unnamed"
        payload = part.get_payload(decode=True)
        file = self.add(
            payload if isinstance(payload, bytes) else b"",
            filename=filename.replace("\\", "/").rsplit("/", 1)[-1],
            mime_type=part.get_content_type(),
            downloadable=False,
        )
        if expires_at is not None:
            file.expires_at = file.created_at + timedelta(seconds=expires_at)
        return _json(200, file.metadata())

    def _list(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Any
    ) -> ScriptedResponse:
        refused = self._check(request)
        if refused is not None:
            return refused
        query = dict(parse_qsl(request.query))
        newest = list(reversed(self.files))
        if "scope_id" in query:
            newest = [f for f in newest if f.scope_id == query["scope_id"]]
        if "ids" in query:
            wanted = set(query["ids"].split(","))
            return _json(200, {"data": [f.metadata() for f in newest if f.id in wanted]})
        try:
            limit = int(query.get("limit", "20"))
            start = int(query.get("page", "page_0").removeprefix("page_"))
        except ValueError:
            return _invalid("limit or page: not valid")
        if not 1 <= limit <= 1000:
            return _invalid("limit: 1 to 1000")
        page = newest[start : start + limit]
        more = start + limit < len(newest)
        return _json(
            200,
            {
                "data": [f.metadata() for f in page],
                "next_page": f"page_{start + limit}" if more else None,
            },
        )

    def _find(self, request: RecordedRequest, file_id: str) -> FakeFile | ScriptedResponse:
        refused = self._check(request)
        if refused is not None:
            return refused
        file = self.get(file_id)
        if file is None:
            return ScriptedResponse.error(404, "not_found_error", f"file: {file_id}")
        return file

    def _retrieve(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Any
    ) -> ScriptedResponse:
        found = self._find(request, params["file_id"])
        return found if isinstance(found, ScriptedResponse) else _json(200, found.metadata())

    def _delete(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Any
    ) -> ScriptedResponse:
        found = self._find(request, params["file_id"])
        if isinstance(found, ScriptedResponse):
            return found
        self.files.remove(found)
        return _json(200, {"id": found.id, "type": "file_deleted"})

    def _download(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Any
    ) -> ScriptedResponse:
        found = self._find(request, params["file_id"])
        if isinstance(found, ScriptedResponse):
            return found
        if not found.downloadable:
            return _invalid(f"file {found.id} is not downloadable")
        content = found.content
        size = self._chunk_size
        chunks = [content[i : i + size] for i in range(0, len(content), size)] or [b""]
        return ScriptedResponse(
            status=200,
            headers=[("content-type", found.mime_type)],
            body=content,
            chunks=chunks,
        )
