"""Shared fixtures of the test suite: the fake server, clients on it, default params.

- ``server`` / ``client``: a fake Anthropic server in the test's own Trio run (so it
  follows the test's clock, e.g. ``autojump_clock``) and an :class:`AsyncClient` on it
  with the library's default settings (``client.with_options(...)`` for others).
- ``sync_server`` / ``sync_client``: one fake server in a background thread for the
  whole session (reset before each test) and a sync :class:`Client` on it.
- ``blackhole``: a URL whose connect never completes (for connect timeouts).
- ``params``: a fresh copy of the default request parameters (``_shared.PARAMS``).

``TRIO_MSGSTREAM_TEST_HTTP=httpx2`` makes httpx2 the library of every client the
library makes in the run (``_shared.TEST_HTTP``); tests that build their own httpx
clients or mocks keep theirs.

Every test has a time limit (pytest-timeout, ``timeout`` in pyproject.toml); tests
marked ``slow`` (stress tests, and tests that start a subprocess: the CLI as a
process, the examples, the docs' code blocks, fresh-interpreter import checks) get
``SLOW_TIMEOUT`` unless they set their own and run first. ``pytest -m "not slow"`` is
the fast loop.
"""

from __future__ import annotations

import copy
import gc
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from _forkserver import ForkServer
from _shared import API_KEY, PARAMS, TEST_HTTP, env_without_anthropic

import trio_msgstream as tms
from trio_msgstream._httpx import library
from trio_msgstream.testing import (
    FakeAnthropicServer,
    default_responder,
    fake_anthropic_in_thread,
    open_fake_anthropic,
)

if TEST_HTTP not in library.LIBRARY_NAMES:
    raise pytest.UsageError(f"TRIO_MSGSTREAM_TEST_HTTP must be one of {library.LIBRARY_NAMES}")
library.preferred = (TEST_HTTP, *[n for n in library.LIBRARY_NAMES if n != TEST_HTTP])  # type: ignore[assignment]

SLOW_TIMEOUT = 300
"""Seconds a ``slow`` test may take (the default limit is for everything else)."""


def pytest_configure(config: pytest.Config) -> None:
    # Where PYTHONDONTWRITEBYTECODE is set (a tree kept free of caches), every process
    # the run starts (the xdist workers, the ~70 subprocesses of the docs, examples and
    # CLI tests) would compile the package again from source: about 0.3 s of CPU each.
    # A bytecode cache outside the tree, for this run only, compiles it once.
    if (
        os.environ.get("PYTHONDONTWRITEBYTECODE")
        and "PYTHONPYCACHEPREFIX" not in os.environ
        and not hasattr(config, "workerinput")  # the controller decides, once
    ):
        prefix = tempfile.mkdtemp(prefix="trio-msgstream-pycache-")
        os.environ["PYTHONPYCACHEPREFIX"] = prefix
        del os.environ["PYTHONDONTWRITEBYTECODE"]
        config.add_cleanup(lambda: shutil.rmtree(prefix, ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))
    # The long tests first: under pytest-xdist the workers then finish together
    # instead of one of them running a long test alone at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def fork_server() -> Iterator[ForkServer]:
    """Runs scripts (the docs' blocks, the examples) as python does, imports done once."""
    server = ForkServer(env_without_anthropic())
    yield server
    server.close()


@pytest.fixture(scope="module", autouse=True)
def _freeze_what_lives_on() -> None:
    """Before each test module: collect the garbage (a leak of earlier tests still
    warns here), then move every object alive (modules, test items, caches) out of the
    cyclic collector's sight, so that the tests' own ``gc.collect()`` (their leak and
    ResourceWarning checks) scan only what the tests create, not the whole run's
    heap. Objects made by the tests are collected and checked as before."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def no_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``ANTHROPIC_*`` variable (the developer's key or base URL) during the test."""
    for name in [k for k in os.environ if k.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def params() -> dict[str, Any]:
    """The default request parameters (a copy: a test may change it)."""
    return copy.deepcopy(PARAMS)


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropicServer]:
    """A fake Anthropic server in the test's Trio run, stopped after the test."""
    async with open_fake_anthropic() as server:
        yield server


@pytest.fixture
async def client(server: FakeAnthropicServer) -> AsyncIterator[tms.AsyncClient]:
    """An :class:`AsyncClient` on ``server`` (default retries and timeouts)."""
    async with tms.AsyncClient(base_url=server.base_url, api_key=API_KEY) as client:
        yield client


@pytest.fixture(scope="session")
def _thread_server() -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread() as server:
        yield server


@pytest.fixture
def sync_server(_thread_server: FakeAnthropicServer) -> Iterator[FakeAnthropicServer]:
    """The session's fake server in a background thread, reset for this test."""
    _thread_server.reset()
    _thread_server.responder = default_responder
    yield _thread_server
    _thread_server.reset()
    _thread_server.responder = default_responder


@pytest.fixture
def sync_client(sync_server: FakeAnthropicServer) -> Iterator[tms.Client]:
    """A sync :class:`Client` on ``sync_server`` (default retries and timeouts)."""
    with tms.Client(base_url=sync_server.base_url, api_key=API_KEY) as client:
        yield client


@pytest.fixture
def blackhole() -> Iterator[str]:
    """The URL of a loopback listener that never completes a TCP handshake (Linux:
    its accept queue is full, so new SYNs are dropped): a connect never ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    # Fill the accept queue; the kernel then drops new SYNs (the handshake stalls).
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
