"""The Files API: ``client.beta.files`` on both clients.

Upload a document or an image once and refer to it by id in message content
(``{"type": "document", "source": {"type": "file", "file_id": file.id}}``); download
the files the model makes (code execution outputs). :class:`AsyncFiles` is the Trio
client's namespace, :class:`Files` the sync one's; :class:`FileMetadata` describes a
file. See ``docs/files.md``; the testing kit fakes the endpoints
(:class:`~trio_msgstream.testing.FakeFiles`).
"""

from ._core.files.calls import FILES_BETA as FILES_BETA
from ._core.files.calls import FileTypes as FileTypes
from ._core.files.models import DeletedFile as DeletedFile
from ._core.files.models import FileMetadata as FileMetadata
from ._core.files.models import FilePage as FilePage
from ._core.files.models import FileScope as FileScope
from ._sync.files import FileDownload as FileDownload
from ._sync.files import Files as Files
from ._trio.files import AsyncFileDownload as AsyncFileDownload
from ._trio.files import AsyncFiles as AsyncFiles

__all__ = [
    "FILES_BETA",
    "AsyncFileDownload",
    "AsyncFiles",
    "DeletedFile",
    "FileDownload",
    "FileMetadata",
    "FilePage",
    "FileScope",
    "FileTypes",
    "Files",
]
