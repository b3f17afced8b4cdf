"""The layers' imports point one way: core <- trio runtime <- httpx glue; sync <- core.

Two kinds of proof: the import graph read from the sources (which sub-package may
import which), and real imports with the forbidden libraries blocked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "trio_msgstream"

ALLOWED: dict[str, set[str]] = {
    "_core": {"_core", "_version"},
    "_trio": {"_core", "_trio", "_version"},
    "_httpx": {"_core", "_trio", "_httpx", "_version"},
    "_sync": {"_core", "_httpx", "_sync", "_version"},
}
"""Which sub-packages each layer may import from."""

BANNED_LIBRARIES: dict[str, set[str]] = {
    "_core": {"trio", "httpx", "httpcore", "anyio", "outcome"},
    "_trio": {"httpx", "httpcore"},
    "_sync": {"trio", "outcome"},
}


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE_DIR / layer).glob("*.py"))


def _imported_layers(path: Path) -> set[tuple[str, str]]:
    """(layer, library) pairs a module imports: sub-packages of ours and top-level libraries."""
    tree = ast.parse(path.read_text())
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.add(("lib", node.module.split(".")[0]))
            elif node.level == 1:
                found.add(("ours", path.parent.name))
            elif node.level == 2 and node.module:
                found.add(("ours", node.module.split(".")[0]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.add(("lib", alias.name.split(".")[0]))
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer: str) -> None:
    for path in _modules(layer):
        for kind, name in _imported_layers(path):
            if kind == "ours":
                assert name in ALLOWED[layer], f"{layer}/{path.name} imports {name}"
            elif layer in BANNED_LIBRARIES:
                assert name not in BANNED_LIBRARIES[layer], f"{layer}/{path.name} imports {name}"


def test_sync_transport_helpers_do_not_need_trio() -> None:
    # The sync client uses the httpx glue's shared helpers: those must not import trio.
    for kind, name in _imported_layers(PACKAGE_DIR / "_httpx" / "transport.py"):
        assert not (kind == "lib" and name == "trio")
        assert not (kind == "ours" and name == "_trio")


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


def _dotted(layer: str) -> list[str]:
    return [f"{layer}.{path.stem}" for path in _modules(layer) if path.stem != "__init__"]


@pytest.mark.slow  # starts a Python subprocess
def test_core_imports_without_trio_or_httpx() -> None:
    result = _import_with_blocked(
        _dotted("_core"), ["trio", "httpx", "httpcore", "anyio", "outcome"]
    )
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


@pytest.mark.slow  # starts a Python subprocess
def test_runtime_imports_without_httpx() -> None:
    result = _import_with_blocked(_dotted("_core") + _dotted("_trio"), ["httpx", "httpcore"])
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


@pytest.mark.slow  # starts a Python subprocess
def test_sync_client_imports_without_trio() -> None:
    result = _import_with_blocked(_dotted("_core") + _dotted("_sync"), ["trio", "outcome"])
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout
