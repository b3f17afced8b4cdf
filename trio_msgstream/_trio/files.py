"""``client.beta.files`` of the async client: upload, list, metadata, delete, download.

Thin trio drivers over the sans-IO calls of ``_core/files/calls.py``. Reading an
upload's file (a path or a file object) happens in a worker thread, so the event
loop never blocks on the disk. A download is an :class:`AsyncFileDownload`: the
request is sent and its status checked when ``download()`` is awaited; the body is
read as the caller asks (``read()``, ``write_to_file()``, ``async for``), in constant
memory except for ``read()``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import trio
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
from .pages import AsyncPaginator
from .request import close_response, execute, new_session, open_checked, run_attempts
from .wire import WireResponse

if TYPE_CHECKING:
    from typing import Self

__all__ = ["AsyncFileDownload", "AsyncFiles"]


class AsyncFiles:
    """``client.beta.files``: the Files API (beta ``files-api-2025-04-14``, always sent).

    Every method takes ``betas=[...]`` (more betas), ``workspace_id`` and the request
    options (``timeout``, ``max_retries``, ``extra_headers``, ``extra_query``).
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    async def upload(self, *, file: FileTypes, **kwargs: Unpack[FileUploadParams]) -> FileMetadata:
        """Upload a file; use its ``id`` in content blocks
        (``{"type": "document", "source": {"type": "file", "file_id": id}}``).

        Args:
            file: Bytes, a path, a binary file object, or ``(filename, content)`` /
                ``(filename, content, content_type)``. The name defaults to the path's
                or file object's, the content type is guessed from the name.
            expires_in_seconds: Seconds until the file expires (3600 to 7776000).

        The content is read whole into memory (a retry resends it).
        """
        filename, source, content_type = upload_source(file)
        content = (
            source
            if isinstance(source, bytes)
            else await trio.to_thread.run_sync(read_content, source)
        )
        part = file_part(filename, content, content_type)
        return await execute(self._client, upload_call(self._client, part, kwargs))

    def list(self, **kwargs: Unpack[FileListParams]) -> AsyncPaginator[FilePage, FileMetadata]:
        """Every file, newest first (``async for file in client.beta.files.list()``;
        ``.pages()`` for the pages). Requests are sent as the iteration goes."""
        return AsyncPaginator(self._client, list_call(self._client, kwargs))

    async def retrieve_metadata(
        self, file_id: str, **kwargs: Unpack[FileRequestParams]
    ) -> FileMetadata:
        """One file's metadata."""
        return await execute(self._client, retrieve_metadata_call(self._client, file_id, kwargs))

    async def delete(self, file_id: str, **kwargs: Unpack[FileRequestParams]) -> DeletedFile:
        """Delete a file."""
        return await execute(self._client, delete_call(self._client, file_id, kwargs))

    async def download(
        self, file_id: str, **kwargs: Unpack[FileRequestParams]
    ) -> AsyncFileDownload:
        """Download a file's content (files the model made, ``downloadable``).

        Returns once the response's status is checked (an error status raises here);
        read the body with the returned object, or close it.
        """
        spec = download_spec(self._client, file_id, kwargs)
        session = new_session(self._client, spec, "body", operation="files.download")
        with trio.move_on_at(session.deadline_at):
            client = self._client
            response = await run_attempts(session, lambda: open_checked(client, session))
            return AsyncFileDownload(session, response)
        raise session.fail(session.deadline_error())


class AsyncFileDownload:
    """A downloaded file's response, its body not read yet (as the official SDK's
    binary response): ``await read()``, ``await write_to_file(path)`` (constant
    memory), or ``async for chunk in download`` (``iter_bytes()``).

    Reading the body to its end releases the connection; otherwise close it
    (``await aclose()`` or ``async with``). Once streamed, the body cannot be read
    again; after ``read()`` it stays available.
    """

    def __init__(self, session: RequestSession, response: WireResponse) -> None:
        self._session = session
        self._response: WireResponse | None = response
        self._content: bytes | None = None
        self._consumed = False
        self.headers: Mapping[str, str] = response.headers
        """The response headers (``content-type``, ``content-length``...)."""
        self.status_code: int = response.status_code

    @property
    def http_response(self) -> Any:
        """The transport's own response object (``httpx.Response``)."""
        response = self._response
        return response.raw if response is not None else None

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives (decoded), then the connection is released."""
        if self._content is not None:
            yield self._content
            return
        response = self._response
        if response is None or self._consumed:
            await trio.lowlevel.checkpoint()
            raise StreamClosedError("this download's body was already read or closed")
        self._consumed = True
        session = self._session
        try:
            # No cancel scope may span a yield of an async generator: the request's
            # deadline is checked per chunk, and a stalled read is cut by the
            # transport's read timeout.
            async for chunk in response.iter_chunks():
                if trio.current_time() >= session.deadline_at:
                    raise session.fail(session.deadline_error())
                yield chunk
            session.succeed()
        finally:
            await self.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_bytes()

    async def read(self) -> bytes:
        """The whole body (kept: a second ``read()`` returns it again)."""
        if self._content is None:
            self._content = b"".join([chunk async for chunk in self.iter_bytes()])
        return self._content

    async def text(self, encoding: str = "utf-8") -> str:
        """The whole body, decoded."""
        return (await self.read()).decode(encoding)

    async def write_to_file(self, file: str | os.PathLike[str]) -> None:
        """Write the body to ``file`` as it arrives (constant memory)."""
        async with await trio.open_file(file, "wb") as out:
            async for chunk in self.iter_bytes():
                await out.write(chunk)

    async def aclose(self) -> None:
        """Release the connection (the body, if not read, is dropped). Idempotent."""
        response, self._response = self._response, None
        if response is not None:
            self._consumed = True
            self._session.abandon()  # no-op after the end was recorded
            await close_response(response)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
