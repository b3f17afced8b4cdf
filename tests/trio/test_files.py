"""The Files API on the async client: against the fake server (FakeFiles), against
httpx.MockTransport, and the fake checked with the official SDK."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

import trio_msgstream as tms
from trio_msgstream.files import AsyncFileDownload, FileMetadata
from trio_msgstream.testing import FakeAnthropicServer, FakeFiles, open_fake_anthropic

KEY = "sk-ant-files-secret-1234"


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAnthropicServer, FakeFiles]]:
    async with open_fake_anthropic() as server:
        yield server, FakeFiles(server, chunk_size=1000)


@pytest.fixture
async def client(fake: tuple[FakeAnthropicServer, FakeFiles]) -> AsyncIterator[tms.AsyncClient]:
    async with tms.AsyncClient(base_url=fake[0].base_url, api_key=KEY) as client:
        yield client


async def test_upload_bytes_path_file_object_and_tuple(
    fake: tuple[FakeAnthropicServer, FakeFiles], client: tms.AsyncClient, tmp_path: Path
) -> None:
    server, files = fake
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7 fake")
    uploaded = [
        await client.beta.files.upload(file=path),
        await client.beta.files.upload(file=("notes.txt", b"hello\r\n--x\r\n", "text/plain")),
        await client.beta.files.upload(file=io.BytesIO(b"\x00\x01binary")),
        await client.beta.files.upload(file=("chart.png", b"\x89PNG..."), expires_in_seconds=3600),
    ]
    assert all(isinstance(f, FileMetadata) for f in uploaded)
    assert [f.filename for f in uploaded] == ["report.pdf", "notes.txt", "upload", "chart.png"]
    assert [f.mime_type for f in uploaded] == [
        "application/pdf",
        "text/plain",
        "application/octet-stream",
        "image/png",
    ]
    assert files.files[1].content == b"hello\r\n--x\r\n"  # sent as is
    assert uploaded[0].size_bytes == len(b"%PDF-1.7 fake")
    assert uploaded[3].expires_at is not None
    assert uploaded[0].expires_at is None
    request = server.requests[0]
    assert request.header("anthropic-beta") == "files-api-2025-04-14"
    assert (request.header("content-type") or "").startswith("multipart/form-data; boundary=")
    assert KEY not in repr(uploaded[0])


async def test_list_pages_retrieve_delete(
    fake: tuple[FakeAnthropicServer, FakeFiles], client: tms.AsyncClient
) -> None:
    server, files = fake
    for n in range(5):
        files.add(f"file {n}".encode(), filename=f"f{n}.txt")
    listed = [f.id async for f in client.beta.files.list(limit=2)]
    assert listed == [f.id for f in reversed(files.files)]  # newest first, three pages
    assert sum(r.path == "/v1/files" for r in server.requests) == 3
    pages = [page async for page in client.beta.files.list(limit=4).pages()]
    assert [len(p.data) for p in pages] == [4, 1]
    assert pages[0].next_page is not None
    assert pages[1].next_page is None
    chosen = [f.id async for f in client.beta.files.list(ids=[files.files[0].id])]
    assert chosen == [files.files[0].id]

    target = files.files[2]
    meta = await client.beta.files.retrieve_metadata(target.id, betas=["other-beta-1"])
    assert meta.id == target.id
    assert meta.filename == "f2.txt"
    assert meta.downloadable
    assert server.requests[-1].header("anthropic-beta") == "files-api-2025-04-14,other-beta-1"
    deleted = await client.beta.files.delete(target.id)
    assert deleted.id == target.id
    assert deleted.type == "file_deleted"
    with pytest.raises(tms.NotFoundError):
        await client.beta.files.retrieve_metadata(target.id)
    with pytest.raises(ValueError, match="file_id"):
        await client.beta.files.delete("")


async def test_download_read_iterate_and_write_to_file(
    fake: tuple[FakeAnthropicServer, FakeFiles], client: tms.AsyncClient, tmp_path: Path
) -> None:
    server, files = fake
    content = bytes(range(256)) * 40  # 10240 bytes: eleven chunks of the fake
    made = files.add(content, filename="out.bin", mime_type="application/octet-stream")
    download = await client.beta.files.download(made.id)
    assert isinstance(download, AsyncFileDownload)
    assert download.headers["content-type"] == "application/octet-stream"
    assert await download.read() == content
    assert await download.read() == content  # kept
    assert server.requests[-1].header("accept") == "application/binary"

    pieces = [chunk async for chunk in await client.beta.files.download(made.id)]
    assert len(pieces) > 1
    assert b"".join(pieces) == content

    target = tmp_path / "copy.bin"
    await (await client.beta.files.download(made.id)).write_to_file(target)
    assert target.read_bytes() == content

    consumed = await client.beta.files.download(made.id)
    async for _ in consumed:
        pass
    with pytest.raises(tms.StreamClosedError):
        async for _ in consumed:
            pass

    async with await client.beta.files.download(made.id) as unread:
        assert unread.status_code == 200  # closed without reading: nothing leaks
    with pytest.raises(tms.StreamClosedError):
        await unread.read()


async def test_download_errors_raise_at_the_call(client: tms.AsyncClient) -> None:
    uploaded = await client.beta.files.upload(file=("a.txt", b"abc"))
    with pytest.raises(tms.BadRequestError, match="not downloadable"):
        await client.beta.files.download(uploaded.id)
    with pytest.raises(tms.NotFoundError):
        await client.beta.files.download("file_nope")


async def test_bad_arguments_are_clear_errors(client: tms.AsyncClient) -> None:
    with pytest.raises(TypeError, match="file must be bytes"):
        await client.beta.files.upload(file="not a path object")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text mode"):
        await client.beta.files.upload(file=io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expires_in_seconds"):
        await client.beta.files.upload(file=b"x", expires_in_seconds="1h")  # type: ignore[typeddict-item]
    with pytest.raises(TypeError, match="unexpected"):
        await client.beta.files.retrieve_metadata("file_1", limit=3)  # type: ignore[call-arg]
    with pytest.raises(tms.BadRequestError, match="expires_in_seconds"):
        await client.beta.files.upload(file=b"x", expires_in_seconds=5)


async def test_a_file_id_in_message_content_is_sent_as_is(
    fake: tuple[FakeAnthropicServer, FakeFiles], client: tms.AsyncClient
) -> None:
    server, _ = fake
    uploaded = await client.beta.files.upload(file=("paper.pdf", b"%PDF"))
    message = await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=64,
        betas=["files-api-2025-04-14"],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "file", "file_id": uploaded.id}},
                    {"type": "image", "source": {"type": "file", "file_id": "file_img"}},
                    {"type": "text", "text": "Summarize."},
                ],
            }
        ],
    )
    assert message.content
    sent = server.requests[-1].json["messages"][0]["content"]
    assert sent[0] == {"type": "document", "source": {"type": "file", "file_id": uploaded.id}}
    assert sent[1] == {"type": "image", "source": {"type": "file", "file_id": "file_img"}}


def _mock_handler(seen: list[httpx.Request]) -> Any:
    # Bodies as iterators of chunks (bodies in memory are issue 19's).
    metadata = {
        "id": "file_1",
        "type": "file",
        "filename": "a.txt",
        "mime_type": "text/plain",
        "size_bytes": 3,
        "created_at": "2026-01-01T00:00:00Z",
        "a_new_field": {"kept": True},
    }

    async def chunks(*pieces: bytes) -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/content"):
            body = b"chunk-one|chunk-two"
            return httpx.Response(200, content=chunks(body[:10], body[10:]))
        encoded = json.dumps(metadata).encode()
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, content=chunks(encoded[:20], encoded[20:]))

    return handler


async def test_against_a_mock_transport() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_mock_handler(seen))
    async with httpx.AsyncClient(transport=transport) as http:
        async with tms.AsyncClient(api_key=KEY, http_client=http) as client:
            meta = await client.beta.files.upload(file=("a.txt", b"abc"), workspace_id="wrkspc_1")
            assert meta.model_extra == {"a_new_field": {"kept": True}}
            download = await client.beta.files.download("file_1")
            assert await download.read() == b"chunk-one|chunk-two"
    upload = seen[0]
    assert upload.headers["anthropic-workspace-id"] == "wrkspc_1"
    body = upload.content
    boundary = upload.headers["content-type"].split("boundary=")[1].encode()
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert b'Content-Disposition: form-data; name="file"; filename="a.txt"' in body
    assert b"Content-Type: text/plain\r\n\r\nabc\r\n" in body
    assert body.endswith(b"--" + boundary + b"--\r\n")


async def test_the_fake_serves_the_official_sdk(
    fake: tuple[FakeAnthropicServer, FakeFiles],
) -> None:
    anthropic = pytest.importorskip("anthropic")
    server, files = fake
    sdk = anthropic.Anthropic(base_url=server.base_url, api_key=KEY, max_retries=0)

    def run() -> tuple[Any, Any, list[str]]:
        uploaded = sdk.beta.files.upload(
            file=("sdk.txt", b"from the sdk", "text/plain"), betas=["files-api-2025-04-14"]
        )
        meta = sdk.beta.files.retrieve_metadata(uploaded.id, betas=["files-api-2025-04-14"])
        listed = [f.id for f in sdk.beta.files.list(betas=["files-api-2025-04-14"])]
        return uploaded, meta, listed

    uploaded, meta, listed = await trio.to_thread.run_sync(run)
    sdk.close()
    assert uploaded.filename == "sdk.txt"
    assert meta.size_bytes == len(b"from the sdk")
    assert files.files[0].content == b"from the sdk"
    assert listed == [uploaded.id]
    assert json.loads(json.dumps(files.files[0].metadata()))["mime_type"] == "text/plain"
