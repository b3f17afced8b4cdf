"""The Files API in a user's file: checked by mypy --strict and pyright --strict (never run)."""

from __future__ import annotations

from pathlib import Path
from typing import assert_type

import trio_msgstream as tms
from trio_msgstream.files import AsyncFileDownload, DeletedFile, FileDownload, FileMetadata


async def use_files() -> None:
    async with tms.AsyncClient(api_key="sk-test") as client:
        uploaded = await client.beta.files.upload(file=Path("a.pdf"), expires_in_seconds=3600)
        assert_type(uploaded, FileMetadata)
        async for item in client.beta.files.list(limit=10):
            assert_type(item, FileMetadata)
        download = await client.beta.files.download(uploaded.id)
        assert_type(download, AsyncFileDownload)
        assert_type(await download.read(), bytes)
        assert_type(await client.beta.files.delete(uploaded.id), DeletedFile)
        await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "document", "source": {"type": "file", "file_id": uploaded.id}}
                    ],
                }
            ],
        )


def use_sync_files() -> None:
    with tms.Client(api_key="sk-test") as client:
        uploaded = client.beta.files.upload(file=("a.txt", b"abc", "text/plain"))
        download = client.beta.files.download(uploaded.id)
        assert_type(download, FileDownload)
        download.write_to_file("out.txt")
        assert_type([f.id for f in client.beta.files.list()], list[str])
