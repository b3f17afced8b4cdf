"""``client.beta.files`` of the sync client: the async namespace's methods, sync.

The same sans-IO calls (``_core/files/calls.py``) driven by the sync request driver.
A download is a :class:`FileDownload`: the request is sent and its status checked by
``download()``; the body is read as the caller asks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from .._core.exceptions import StreamClosedError
from .._core.files.calls import (
    FileListParams,
    FileRequestParams,
    FileTypes,
    FileUploadParams,
    delete_call,
    download_spec,
    file_part,
    list_call,
    read_content,
    retrieve_metadata_call,
    upload_call,
    upload_source,
)
from .._core.files.models import DeletedFile, FileMetadata, FilePage
from .._core.request.session import RequestSession
from .request import SyncPaginator, execute, new_session, open_checked, run_attempts
from .response import SyncHttpxWireResponse

if TYPE_CHECKING:
    from typing import Self

__all__ = ["FileDownload", "Files"]


class Files:
    """``client.beta.files`` of the sync client (see :class:`~trio_msgstream.files.AsyncFiles`)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def upload(self, *, file: FileTypes, **kwargs: Unpack[FileUploadParams]) -> FileMetadata:
        """Upload a file (bytes, a path, a binary file object, or ``(filename,
        content[, content_type])``); use its ``id`` in content blocks."""
        filename, source, content_type = upload_source(file)
        part = file_part(filename, read_content(source), content_type)
        return execute(self._client, upload_call(self._client, part, kwargs))

    def list(self, **kwargs: Unpack[FileListParams]) -> SyncPaginator[FilePage, FileMetadata]:
        """Every file, newest first (``for file in client.beta.files.list()``)."""
        return SyncPaginator(self._client, list_call(self._client, kwargs))

    def retrieve_metadata(self, file_id: str, **kwargs: Unpack[FileRequestParams]) -> FileMetadata:
        """One file's metadata."""
        return execute(self._client, retrieve_metadata_call(self._client, file_id, kwargs))

    def delete(self, file_id: str, **kwargs: Unpack[FileRequestParams]) -> DeletedFile:
        """Delete a file."""
        return execute(self._client, delete_call(self._client, file_id, kwargs))

    def download(self, file_id: str, **kwargs: Unpack[FileRequestParams]) -> FileDownload:
        """Download a file's content; returns once the status is checked."""
        spec = download_spec(self._client, file_id, kwargs)
        session = new_session(self._client, spec, "body", operation="files.download")
        client = self._client
        response = run_attempts(session, lambda: open_checked(client, session))
        return FileDownload(session, response)


class FileDownload:
    """A downloaded file's response, its body not read yet: ``read()``,
    ``write_to_file(path)`` (constant memory), or ``for chunk in download``.

    Reading the body to its end releases the connection; otherwise close it
    (``close()`` or ``with``).
    """

    def __init__(self, session: RequestSession, response: SyncHttpxWireResponse) -> None:
        self._session = session
        self._response: SyncHttpxWireResponse | None = response
        self._content: bytes | None = None
        self._consumed = False
        self.headers: Mapping[str, str] = response.headers
        """The response headers."""
        self.status_code: int = response.status_code

    @property
    def http_response(self) -> Any:
        """The ``httpx.Response``."""
        response = self._response
        return response.raw if response is not None else None

    def iter_bytes(self) -> Iterator[bytes]:
        """The body as it arrives (decoded), then the connection is released."""
        if self._content is not None:
            yield self._content
            return
        response = self._response
        if response is None or self._consumed:
            raise StreamClosedError("this download's body was already read or closed")
        self._consumed = True
        session = self._session
        try:
            for chunk in response.iter_chunks():
                if time.monotonic() >= session.deadline_at:
                    raise session.fail(session.deadline_error())
                yield chunk
            session.succeed()
        finally:
            self.close()

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_bytes()

    def read(self) -> bytes:
        """The whole body (kept: a second ``read()`` returns it again)."""
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    def text(self, encoding: str = "utf-8") -> str:
        """The whole body, decoded."""
        return self.read().decode(encoding)

    def write_to_file(self, file: str | os.PathLike[str]) -> None:
        """Write the body to ``file`` as it arrives (constant memory)."""
        with open(file, "wb") as out:
            for chunk in self.iter_bytes():
                out.write(chunk)

    def close(self) -> None:
        """Release the connection. Idempotent."""
        response, self._response = self._response, None
        if response is not None:
            self._consumed = True
            self._session.abandon()
            response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
