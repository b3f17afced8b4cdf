"""The sans-IO core imports neither trio nor httpx; the runtime does not import httpx."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "trio_msgstream"

CORE = [
    "_sse",
    "_models",
    "_events",
    "_accumulate",
    "_engine",
    "_retry",
    "_status",
    "_config",
    "_exceptions",
    "_handlers",
]
RUNTIME = ["_wire", "_stream", "_raw", "_api"]


def _import_with_blocked(
    modules: list[str], blocked: list[str]
) -> subprocess.CompletedProcess[str]:
    # Load the private modules under a bare package object, so the package's
    # __init__ (which imports every layer) does not run.
    code = textwrap.dedent(
        f"""
        import importlib, sys, types
        for name in {blocked!r}:
            sys.modules[name] = None
        pkg = types.ModuleType("trio_msgstream")
        pkg.__path__ = [{str(PACKAGE_DIR)!r}]
        sys.modules["trio_msgstream"] = pkg
        for module in {modules!r}:
            importlib.import_module("trio_msgstream." + module)
        loaded = sorted(
            m for m in sys.modules
            if m.split(".")[0] in {blocked!r} and sys.modules[m] is not None
        )
        print("LOADED", loaded)
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_core_imports_without_trio_or_httpx() -> None:
    result = _import_with_blocked(CORE, ["trio", "httpx", "httpcore", "anyio", "outcome"])
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_runtime_imports_without_httpx() -> None:
    result = _import_with_blocked(CORE + RUNTIME, ["httpx", "httpcore"])
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


@pytest.mark.parametrize("module", CORE)
def test_core_module_source_names_no_io_library(module: str) -> None:
    source = (PACKAGE_DIR / f"{module}.py").read_text()
    for banned in ("import trio", "import httpx", "from trio", "from httpx"):
        assert banned not in source, f"{module} has {banned!r}"
