"""``multipart/form-data`` bodies (RFC 7578), built in memory, for file uploads.

Part of the sans-IO core: bytes in, bytes out. The body is built once, so a retried
upload resends the same bytes. Field names and file names are written as quoted
strings with ``"``, CR and LF percent-encoded, as browsers do (the HTML living
standard's form encoding); other characters go as UTF-8.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FilePart", "encode_multipart"]


@dataclass(frozen=True)
class FilePart:
    """The file of a multipart body."""

    filename: str
    content: bytes
    content_type: str

    def __repr__(self) -> str:
        return (
            f"FilePart(filename={self.filename!r}, content=<{len(self.content)} bytes>, "
            f"content_type={self.content_type!r})"
        )


def _quoted(value: str) -> str:
    escaped = value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    return f'"{escaped}"'


def encode_multipart(
    fields: Mapping[str, str], files: Mapping[str, FilePart], *, boundary: str | None = None
) -> tuple[str, bytes]:
    """The ``content-type`` header and the body of a form with ``fields`` and ``files``.

    A boundary that occurs in a file's content is replaced by a new random one.
    """
    while True:
        mark = boundary or secrets.token_hex(16)
        encoded = mark.encode("ascii")
        if not any(encoded in part.content for part in files.values()):
            break
        boundary = None
    pieces: list[bytes] = []
    for name, value in fields.items():
        pieces += [
            b"--" + encoded + b"\r\n",
            f"Content-Disposition: form-data; name={_quoted(name)}\r\n\r\n".encode(),
            value.encode("utf-8"),
            b"\r\n",
        ]
    for name, part in files.items():
        disposition = f"form-data; name={_quoted(name)}; filename={_quoted(part.filename)}"
        pieces += [
            b"--" + encoded + b"\r\n",
            f"Content-Disposition: {disposition}\r\n".encode(),
            f"Content-Type: {part.content_type}\r\n\r\n".encode(),
            part.content,
            b"\r\n",
        ]
    pieces.append(b"--" + encoded + b"--\r\n")
    return f"multipart/form-data; boundary={mark}", b"".join(pieces)
