"""Constants shared by the test modules (the fixtures themselves are in ``conftest.py``).

Importable as ``_shared`` from every test module: ``tests/`` is on ``sys.path`` because
``tests/conftest.py`` lives there (pytest's default ``prepend`` import mode).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TEST_HTTP = os.environ.get("TRIO_MSGSTREAM_TEST_HTTP", "httpx")
"""The HTTP library of the clients the library makes in this run (``httpx`` or
``httpx2``): ``TRIO_MSGSTREAM_TEST_HTTP=httpx2 pytest`` (``nox -s tests_httpx2``) runs
the suite on httpx2 (``conftest.py`` makes it the default)."""

API_KEY = "sk-test-secret-key-123"
"""The key every test client sends (the fake server accepts any)."""

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Say hello there!"}],
}
"""The API parameters of a request when a test does not care about them."""

FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""Recorded and documented data: ``anthropic/*.sse``, ``sse_conformance.json``."""

TRANSCRIPTS = FIXTURES / "anthropic"


def env_without_anthropic(**extra: str) -> dict[str, str]:
    """This process's environment without ``ANTHROPIC_*`` (the developer's key or base
    URL), plus ``extra``: for the subprocesses a test starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(extra)
    return env
