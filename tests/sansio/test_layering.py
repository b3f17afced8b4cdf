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

PACKAGE = "trio_msgstream"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

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

CORE_GROUPS: dict[str, set[str]] = {
    "base": {"base"},
    "schema": {"base", "schema"},
    "typed_json": {"base", "schema", "typed_json"},
    "stream": {"base", "schema", "typed_json", "stream"},
    "observe": {"base", "schema", "observe"},
    "request": {"base", "schema", "typed_json", "stream", "observe", "request"},
    "agents": {"base", "schema", "typed_json", "stream", "request", "agents"},
    "batches": {"base", "schema", "typed_json", "stream", "request", "batches"},
    "files": {"base", "schema", "request", "files"},
    "middleware": {"base", "schema", "typed_json", "stream", "request", "middleware"},
}
"""The core's groups (its sub-packages; ``base`` is the modules directly in ``_core``)
and the groups each may import at run time: the event stream and observation on the
API's objects and typed JSON, the request on those, agents, batches and middleware on top. Imports
under ``if TYPE_CHECKING:`` are exempt: they name types and load nothing."""


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE_DIR / layer).rglob("*.py"))


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """What a module imports: ("ours", module path below the package, type-only) or
    ("lib", [top-level library], type-only)."""
    tree = ast.parse(path.read_text())
    type_only = _type_checking_nodes(tree)
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[str, list[str], bool]] = []
    for node in ast.walk(tree):
        typed = id(node) in type_only
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                top = node.module.split(".")
                if top[0] == PACKAGE:
                    found.append(("ours", top[1:], typed))
                else:
                    found.append(("lib", top[:1], typed))
                continue
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            found.append(("ours", target, typed))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")
                found.append(("ours" if top[0] == PACKAGE else "lib", top[1:] or top, typed))
    return found


def _core_group(module: list[str]) -> str:
    """The core group of a module path below the package (``["_core", "stream", ...]``)."""
    if len(module) > 2:
        return module[1]
    if len(module) == 2 and (PACKAGE_DIR / module[0] / module[1] / "__init__.py").exists():
        return module[1]
    return "base"


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer: str) -> None:
    assert _modules(layer)
    for path in _modules(layer):
        where = path.relative_to(PACKAGE_DIR)
        for kind, target, _typed in _imports(path):
            if kind == "ours":
                assert target[0] in ALLOWED[layer], f"{where} imports {'.'.join(target)}"
            elif layer in BANNED_LIBRARIES:
                assert target[0] not in BANNED_LIBRARIES[layer], f"{where} imports {target[0]}"


def test_core_groups_import_downwards() -> None:
    seen: set[str] = set()
    for path in _modules("_core"):
        group = _core_group(_module_name(path))
        assert group in CORE_GROUPS, f"{group}: a new core group; place it in CORE_GROUPS"
        seen.add(group)
        for kind, target, typed in _imports(path):
            if kind != "ours" or typed or target[:1] != ["_core"]:
                continue
            other = _core_group(target)
            where = path.relative_to(PACKAGE_DIR)
            assert other in CORE_GROUPS[group], f"{where} ({group}) imports {'.'.join(target)}"
    assert seen == set(CORE_GROUPS)


def test_no_folder_is_a_flat_room() -> None:
    # Issue 20's rules: at most 25 hand-written modules a folder, and no four sibling
    # modules sharing a name prefix (a prefix standing in for a folder).
    for folder in [PACKAGE_DIR, *(p for p in PACKAGE_DIR.rglob("*") if p.is_dir())]:
        names = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"]
        assert len(names) <= 25, f"{folder} holds {len(names)} modules"
        prefixes: dict[str, int] = {}
        for name in names:
            head = name.lstrip("_").split("_")[0]
            if head != name.lstrip("_"):
                prefixes[head] = prefixes.get(head, 0) + 1
        crowded = {p: n for p, n in prefixes.items() if n >= 4}
        assert not crowded, f"{folder}: modules share a prefix {crowded}"


def test_sync_transport_helpers_do_not_need_trio() -> None:
    # The sync client uses the httpx glue's shared helpers: those must not import trio.
    for kind, target, _typed in _imports(PACKAGE_DIR / "_httpx" / "transport.py"):
        assert not (kind == "lib" and target[0] == "trio")
        assert not (kind == "ours" and target[0] == "_trio")


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
    return [".".join(_module_name(path)) for path in _modules(layer)]


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
