"""A user's file on the cloud platforms, with no annotations but the return types.

Checked by ``mypy --strict`` and ``pyright --strict`` (never run): the platform clients
are the first-party clients, so streams, create and the errors are typed the same way.
"""

from __future__ import annotations

from typing import assert_type

import trio_msgstream as tms
from trio_msgstream.errors import UnsupportedEndpointError
from trio_msgstream.types import Message


async def bedrock() -> None:
    async with tms.AsyncAnthropicBedrock(aws_region="us-east-1") as client:
        async with client.messages.stream(
            model="anthropic.claude-sonnet-5-5-v1:0",
            max_tokens=256,
            messages=[{"role": "user", "content": "Hello"}],
        ) as stream:
            assert_type(stream, tms.MessageStream)
            message = await stream.get_final_message()
            assert_type(message, Message)
        try:
            await client.messages.count_tokens(model="m", messages=[])
        except UnsupportedEndpointError as exc:
            assert_type(exc.platform, str)


async def vertex_and_foundry() -> None:
    async def token() -> str:
        return "t"

    vertex = tms.AsyncAnthropicVertex(region="us-east5", project_id="p", access_token="t")
    assert_type(vertex.project_id, "str | None")
    foundry = tms.AsyncAnthropicFoundry(resource="r", azure_ad_token_provider=token)
    for client in (vertex, foundry):
        message = await client.messages.create(
            model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
        assert_type(message, Message)
        await client.aclose()


def sync_clients() -> None:
    with tms.AnthropicBedrock(api_key="k", aws_region="us-east-1") as client:
        with client.messages.stream(
            model="anthropic.claude-sonnet-5-5-v1:0",
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
        ) as stream:
            for text in stream.text_stream:
                assert_type(text, str)
    foundry = tms.AnthropicFoundry(resource="r", azure_ad_token_provider=lambda: "token")
    assert_type(
        foundry.messages.create(
            model="claude-sonnet-5-5", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        ),
        Message,
    )
