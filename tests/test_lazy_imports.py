"""Start-up: ``import trio_msgstream`` imports only what every program needs.

The clients, the generated models and parameter types, the tool runner, batches and
OpenTelemetry are imported on first use (PEP 562 ``__getattr__``); the CLI answers
``--help`` before importing the client. Each check runs in a fresh interpreter, since
this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# Modules a bare import must not load (a package stands for everything below it too).
HEAVY = (
    "trio_msgstream._core.schema.param_types",
    "trio_msgstream._core.schema.blocks",
    "trio_msgstream._core.batches",
    "trio_msgstream._core.agents",
    "trio_msgstream._core.platforms",
    "trio_msgstream._core.observe",
    "trio_msgstream._trio",
    "trio_msgstream._httpx",
    "trio_msgstream._sync",
    "trio_msgstream.batches",
    "trio_msgstream.testing",
    "opentelemetry",
    "mcp",
    "botocore",
    "google.auth",
    "httpx",
    "trio",
    "pydantic",
)

# What a program that streams needs must still not load the optional surfaces.
NOT_FOR_STREAMING = (
    "trio_msgstream._core.schema.param_types",
    "trio_msgstream._core.batches",
    "trio_msgstream._core.agents",
    "trio_msgstream._core.platforms",
    "trio_msgstream._trio.batches",
    "trio_msgstream._trio.tool_runner",
    "trio_msgstream._trio.fanout",
    "trio_msgstream._sync",
    "trio_msgstream.testing",
    "opentelemetry",
    "mcp",
    "botocore",
    "google.auth",
)


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(f"{p}.") for p in prefixes))


def test_bare_import_loads_nothing_heavy() -> None:
    assert _loaded(_modules_after("import trio_msgstream"), HEAVY) == []


def test_streaming_names_do_not_load_the_optional_surfaces() -> None:
    modules = _modules_after(
        "from trio_msgstream import AsyncClient, open_message_stream, MessageStream"
    )
    assert "trio_msgstream._httpx.async_client" in modules
    assert _loaded(modules, NOT_FOR_STREAMING) == []


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    code = (
        "import trio_msgstream as t\n"
        "names = [n for n in t.__all__ + sorted(t._MOVED)]\n"
        "assert all(getattr(t, n) is not None for n in names)\n"
        "assert set(t.__all__) <= set(dir(t))\n"
    )
    _modules_after(code)


def test_cli_help_does_not_import_the_client() -> None:
    code = (
        "import contextlib, io\n"
        "from trio_msgstream.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
    )
    loaded = _loaded(_modules_after(code), ("trio", "httpx", "pydantic", "trio_msgstream._httpx"))
    assert loaded == []
