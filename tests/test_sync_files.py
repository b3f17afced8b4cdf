"""The Files API on the sync client, against the fake server in a thread (FakeFiles)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import trio_msgstream as tms
from trio_msgstream.files import FileDownload
from trio_msgstream.testing import FakeAnthropicServer, FakeFiles, fake_anthropic_in_thread


@pytest.fixture
def fake() -> Iterator[tuple[FakeAnthropicServer, FakeFiles]]:
    with fake_anthropic_in_thread() as server:
        yield server, FakeFiles(server, chunk_size=1000)


@pytest.fixture
def client(fake: tuple[FakeAnthropicServer, FakeFiles]) -> Iterator[tms.Client]:
    with tms.Client(base_url=fake[0].base_url, api_key="sk-ant-sync-files-1234") as client:
        yield client


def test_upload_list_retrieve_delete(
    fake: tuple[FakeAnthropicServer, FakeFiles], client: tms.Client, tmp_path: Path
) -> None:
    server, files = fake
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    first = client.beta.files.upload(file=path, expires_in_seconds=7200)
    second = client.beta.files.upload(file=("img.png", io.BytesIO(b"\x89PNG")))
    assert (first.filename, first.mime_type) == ("data.csv", "text/csv")
    assert first.expires_at is not None
    assert files.files[1].content == b"\x89PNG"
    assert files.files[1].mime_type == "image/png"
    assert [f.id for f in client.beta.files.list(limit=1)] == [second.id, first.id]
    assert client.beta.files.retrieve_metadata(first.id).size_bytes == 8
    assert client.beta.files.delete(first.id).id == first.id
    with pytest.raises(tms.NotFoundError):
        client.beta.files.delete(first.id)
    assert all(r.header("anthropic-beta") == "files-api-2025-04-14" for r in server.requests)


def test_download(
    fake: tuple[FakeAnthropicServer, FakeFiles], client: tms.Client, tmp_path: Path
) -> None:
    _, files = fake
    content = b"0123456789" * 500
    made = files.add(content, filename="result.txt")
    download = client.beta.files.download(made.id)
    assert isinstance(download, FileDownload)
    assert download.read() == content
    assert download.text() == content.decode()
    pieces = list(client.beta.files.download(made.id))
    assert len(pieces) > 1
    assert b"".join(pieces) == content
    target = tmp_path / "copy.txt"
    client.beta.files.download(made.id).write_to_file(target)
    assert target.read_bytes() == content
    with client.beta.files.download(made.id) as unread:
        pass
    with pytest.raises(tms.StreamClosedError):
        unread.read()
    uploaded = client.beta.files.upload(file=b"x")
    with pytest.raises(tms.BadRequestError, match="not downloadable"):
        client.beta.files.download(uploaded.id)
