"""What an SDK app's port met, type-checked (``mypy --strict``, ``pyright --strict``).

The first page of a list by ``await``, the SDK's error attributes, ``to_dict()`` /
``to_json()`` and an httpx ``Timeout`` as ``timeout=``: spellings a port of an official
SDK app uses unchanged (see docs/migrating.md, "Porting an SDK app").
"""

from __future__ import annotations

from typing import assert_type

import httpx
import httpx2

import trio_msgstream as anthropic
from trio_msgstream import AsyncAnthropic

MODEL = "claude-sonnet-5-5"


async def first_models(client: AsyncAnthropic) -> tuple[list[str], bool]:
    page = await client.models.list(limit=2)
    return [m.display_name for m in page.data], page.has_more


async def errors(client: AsyncAnthropic) -> str | None:
    try:
        message = await client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    except anthropic.RateLimitError as e:
        assert_type(e.api_message, str | None)
        assert_type(e.error_code, str | None)
        assert_type(e.workspace_id, str | None)
        # ``response`` is typed Any (httpx's or httpx2's, or None for an error event
        # inside a stream): name the type of what is read from it.
        retry_after: str | None = e.response.headers.get("retry-after")
        return retry_after
    except anthropic.APIStatusError as e:
        details = e.details or {}
        return f"{e.status_code} {e.type} {e.error_code} {details.get('error_code')}"
    assert_type(message.to_dict(), dict[str, object])
    assert_type(message.content[0].to_json(), str)
    return message.to_json(indent=None)


def timeouts() -> None:
    client = AsyncAnthropic(timeout=httpx2.Timeout(60.0, read=5.0, write=10.0, connect=2.0))
    patient = client.with_options(max_retries=5, timeout=httpx.Timeout(20.0))
    assert_type(patient.timeout, anthropic.Timeout)
    sync = anthropic.Anthropic(timeout=httpx2.Timeout(20.0))
    sync.close()
