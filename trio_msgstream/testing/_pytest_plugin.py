"""The ``trio_msgstream`` pytest plugin: fixtures backed by the fake Anthropic server.

Registered through the ``pytest11`` entry point, so installing ``trio-msgstream`` makes
the fixtures available in every test suite::

    from trio_msgstream.testing import ScriptedResponse, text_response

    async def test_my_app(fake_anthropic, fake_anthropic_client):
        fake_anthropic.enqueue(text_response("Hello!"))
        async with fake_anthropic_client.messages.stream(
            model="claude-sonnet-5-5", max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
        ) as stream:
            assert await stream.get_final_text() == "Hello!"
        assert fake_anthropic.requests[0].json["max_tokens"] == 64

Fixtures:

- ``fake_anthropic`` (async, for pytest-trio): a running
  :class:`~trio_msgstream.testing.FakeAnthropicServer`, served from pytest-trio's
  ``nursery`` fixture (the test's own Trio run); stopped when the test ends.
- ``fake_anthropic_client`` (async, for pytest-trio): an
  :class:`~trio_msgstream.AsyncClient` pointed at ``fake_anthropic`` (a dummy key,
  ``max_retries=0`` so that scripted failures surface at once; use
  ``client.with_options(max_retries=...)`` to test retries).
- ``fake_anthropic_thread`` (sync): the server in a background thread, for
  synchronous tests; and ``fake_anthropic_sync_client``, a
  :class:`~trio_msgstream.Client` pointed at it.

The async fixtures need pytest-trio (``trio_mode = true``, or ``@pytest.mark.trio`` on
the test). Nothing is imported until a fixture is used, so the plugin costs nothing in
suites that do not use it and does not break test suites without pytest-trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from trio_msgstream import AsyncClient, Client
    from trio_msgstream.testing import FakeAnthropicServer

__all__ = [
    "fake_anthropic",
    "fake_anthropic_client",
    "fake_anthropic_sync_client",
    "fake_anthropic_thread",
]

FAKE_API_KEY = "sk-ant-test-fake-key"
"""The key the client fixtures send (the fake server accepts any)."""


@pytest.fixture
async def fake_anthropic(nursery: Any) -> AsyncIterator[FakeAnthropicServer]:
    """A fake Anthropic Messages API server running in the test's nursery.

    Script it with ``enqueue``/``fail_first``; inspect ``requests`` afterwards.
    Needs pytest-trio (its ``nursery`` fixture).

    Yields:
        The listening :class:`~trio_msgstream.testing.FakeAnthropicServer`.
    """
    import trio

    from trio_msgstream.testing import serve_fake_anthropic

    scope = trio.CancelScope()

    async def serve(*, task_status: trio.TaskStatus[FakeAnthropicServer]) -> None:
        with scope:
            await serve_fake_anthropic(task_status=task_status)

    server: FakeAnthropicServer = await nursery.start(serve)
    try:
        yield server
    finally:
        # Stop listening as soon as the test is done (the nursery closes later).
        scope.cancel()


@pytest.fixture
async def fake_anthropic_client(
    fake_anthropic: FakeAnthropicServer,
) -> AsyncIterator[AsyncClient]:
    """An :class:`~trio_msgstream.AsyncClient` talking to ``fake_anthropic``.

    Yields:
        The client (``max_retries=0``), closed after the test.
    """
    from trio_msgstream import AsyncClient

    async with AsyncClient(
        base_url=fake_anthropic.base_url, api_key=FAKE_API_KEY, max_retries=0
    ) as client:
        yield client


@pytest.fixture
def fake_anthropic_thread() -> Iterator[FakeAnthropicServer]:
    """The fake server in a background thread, for synchronous tests.

    Yields:
        The listening server; stopped and joined after the test.
    """
    from trio_msgstream.testing import fake_anthropic_in_thread

    with fake_anthropic_in_thread() as server:
        yield server


@pytest.fixture
def fake_anthropic_sync_client(fake_anthropic_thread: FakeAnthropicServer) -> Iterator[Client]:
    """A synchronous :class:`~trio_msgstream.Client` talking to ``fake_anthropic_thread``.

    Yields:
        The client (``max_retries=0``), closed after the test.
    """
    from trio_msgstream import Client

    with Client(
        base_url=fake_anthropic_thread.base_url, api_key=FAKE_API_KEY, max_retries=0
    ) as client:
        yield client
