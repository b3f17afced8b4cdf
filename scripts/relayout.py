"""Move the core and the trio runtime into sub-packages, and rewrite imports to match.

Issue 20's layout, as a table (:data:`MOVES`). Two jobs:

- ``python scripts/relayout.py --move`` does the ``git mv`` of every module in the table
  and creates the new packages' ``__init__.py`` (run once, on the commit that moves);
- ``python scripts/relayout.py`` (no flag) rewrites every reference to an old module
  path in the tree: relative and absolute imports in ``.py`` files, dotted and slashed
  paths in code, docs and config. It is idempotent, so a branch written against the old
  layout can merge the move and run it again.

A relative import is resolved from the file's place in the new layout first; if that
names no module, from the file's old place (the table read backwards), which is how
the modules that moved still import their old neighbours (``--old-first`` reverses
the order for moved files: right on the commit that moves, when none is rewritten yet).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = "trio_msgstream"

_GROUPS: dict[str, tuple[str, ...]] = {
    "_core.schema": ("blocks", "param_types", "models", "params", "model_names"),
    "_core.typed_json": ("tools", "output_schema", "structured", "partial_json"),
    "_core.stream": (
        "sse",
        "decoding",
        "grammar",
        "engine",
        "accumulate",
        "pieces",
        "lazy_deltas",
        "events",
        "consumer",
        "handlers",
    ),
    "_core.request": (
        "calls",
        "options",
        "client_config",
        "endpoints",
        "session",
        "retry",
        "status",
        "ratelimit",
    ),
    "_core.agents": ("tool_runner",),
}

MOVES: dict[str, str] = {
    f"_core.{name}": f"{group}.{name}" for group, names in _GROUPS.items() for name in names
}
MOVES.update(
    {
        "_core.observe": "_core.observe.telemetry",
        "_core.observation": "_core.observe.observation",
        "_core.observe_otel": "_core.observe.otel",
        "_core.request": "_core.request.spec",
        "_core.batches": "_core.batches.models",
        "_core.batch_build": "_core.batches.build",
        "_core.batch_calls": "_core.batches.calls",
        "_core.batch_ops": "_core.batches.ops",
        "_core.batch_results": "_core.batches.results",
        "_core.batch_wait": "_core.batches.wait",
        "_trio.fanout": "_trio.fanout.scheduler",
        "_trio.fanout_events": "_trio.fanout.events",
        "_trio.fanout_gate": "_trio.fanout.gate",
        "_trio.fanout_handle": "_trio.fanout.handle",
        "_trio.fanout_results": "_trio.fanout.results",
    }
)
"""Old module (below the package) -> new module."""

INVERSE = {new: old for old, new in MOVES.items()}
OLD_FIRST = "--old-first" in sys.argv
"""Resolve the relative imports of moved files from their old place first: right for
files not yet rewritten (the move itself); without it, from the new place first."""
NEW_PACKAGES = sorted({new.rsplit(".", 1)[0] for new in MOVES.values()} - {"_core", "_trio"})

_PACKAGE_DOCS = {
    "_core.schema": "The API's objects: the generated models and parameter types, the\n"
    "hand-written message and parameter helpers, and the model names.",
    "_core.typed_json": "Where Python types meet JSON: tool definitions from functions, output\n"
    "schemas from types, structured outputs, and the partial JSON parser.",
    "_core.stream": "The event stream: bytes in, events and a message out (SSE and content\n"
    "decoding, the grammar, the engine, the accumulator, lazy deltas, the consumer rules,\n"
    "handlers).",
    "_core.request": "One request: its spec and options, the client configuration, the\n"
    "endpoints, the request session with its retry, status and rate-limit rules.",
    "_core.agents": "Agent loops: the tool runner's state machine.",
    "_core.batches": "Message Batches: the objects, the request builders, the calls, waiting\n"
    "and the results reader.",
    "_core.observe": "Observation of requests: OpenTelemetry spans, metrics and log records.",
    "_trio.fanout": "Fan-out: many concurrent streams under one scope (the scheduler, the\n"
    "admission gate, item handles, results and events).",
}


def _exists(module: str) -> bool:
    base = ROOT / PKG / Path(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _is_package(module: str) -> bool:
    return (ROOT / PKG / Path(*module.split(".")) / "__init__.py").exists()


def _map(module: str, names: list[str] | None = None) -> str:
    """The new path of ``module`` (below the package), which may already be new."""
    if module in MOVES and _is_package(module) and module not in INVERSE:
        # An old module that became a package of the same name: the package itself is
        # meant only when what is imported from it are its sub-modules.
        if names and all(_exists(f"{module}.{n}") for n in names):
            return module
        return MOVES[module]
    if module in MOVES and not _exists(module):
        return MOVES[module]
    return module


def move() -> None:
    for package in NEW_PACKAGES:
        (ROOT / PKG / Path(*package.split("."))).mkdir(exist_ok=True)
    for old, new in MOVES.items():
        src = ROOT / PKG / Path(*old.split(".")).with_suffix(".py")
        dst = ROOT / PKG / Path(*new.split(".")).with_suffix(".py")
        if src.exists() and not dst.exists():
            subprocess.run(["git", "mv", str(src), str(dst)], check=True, cwd=ROOT)
    for package in NEW_PACKAGES:
        init = ROOT / PKG / Path(*package.split(".")) / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{_PACKAGE_DOCS[package]}"""\n')
            subprocess.run(["git", "add", str(init)], check=True, cwd=ROOT)


_FROM = re.compile(r"^(?P<indent>[ \t]*)from (?P<dots>\.+)(?P<mod>[\w.]*) import (?P<rest>.*)$")


def _module_of(path: Path) -> str | None:
    """The dotted module (below the package) of a file of the package."""
    try:
        rel = path.relative_to(ROOT / PKG)
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts)


def _resolve(base_pkg: list[str], dots: str, mod: str) -> list[str] | None:
    up = len(dots) - 1
    if up > len(base_pkg):
        return None
    parts = base_pkg[: len(base_pkg) - up] if up else list(base_pkg)
    return parts + (mod.split(".") if mod else [])


def _relative(from_pkg: list[str], target: list[str]) -> str:
    common = 0
    while common < len(from_pkg) and common < len(target) and from_pkg[common] == target[common]:
        common += 1
    dots = "." * (len(from_pkg) - common + 1)
    return dots + ".".join(target[common:])


def _imported_names(rest: str) -> list[str]:
    text = rest.strip().strip("()").split("#")[0]
    return [n.strip().split(" as ")[0] for n in text.split(",") if n.strip()]


def _module_import(m: re.Match[str], new_pkg: list[str], name: str, new: str) -> str:
    parent, leaf = new.rsplit(".", 1)
    alias = m["rest"].strip()[len(name) :].strip()
    if not alias and leaf != name:
        alias = f"as {name}"
    if alias == f"as {leaf}":
        alias = ""
    rel = _relative(new_pkg, parent.split("."))
    return f"{m['indent']}from {rel} import {leaf}" + (f" {alias}" if alias else "")


def _fix_relative(path: Path, lines: list[str]) -> list[str]:
    module = _module_of(path)
    if module is None:
        return lines
    new_pkg = module.split(".")[:-1]
    old_module = INVERSE.get(module, module)
    old_pkg = old_module.split(".")[:-1]
    out = []
    for line in lines:
        m = _FROM.match(line)
        if not m:
            out.append(line)
            continue
        names = _imported_names(m["rest"])
        target = _resolve(new_pkg, m["dots"], m["mod"])
        dotted = ".".join(target) if target else ""
        if dotted in ("_core", "_trio") and len(names) == 1:
            moved = f"{dotted}.{names[0]}"
            if moved in MOVES and not _exists(moved):
                # ``from .._core import batch_ops as ops``: a module imported by name.
                out.append(_module_import(m, new_pkg, names[0], MOVES[moved]))
                continue
        prefer_old = OLD_FIRST and module in INVERSE
        if target and dotted and _exists(dotted) and dotted not in MOVES and not prefer_old:
            out.append(line)
            continue
        if (
            target
            and not prefer_old
            and dotted in MOVES
            and _is_package(dotted)
            and _map(dotted, names) == dotted
        ):
            out.append(line)
            continue
        old_target = _resolve(old_pkg, m["dots"], m["mod"])
        if not old_target:
            out.append(line)
            continue
        old_dotted = ".".join(old_target)
        if old_dotted in ("_core", "_trio") and len(names) == 1:
            moved = f"{old_dotted}.{names[0]}"
            if moved in MOVES:
                out.append(_module_import(m, new_pkg, names[0], MOVES[moved]))
                continue
        mapped = _map(old_dotted, names)
        if mapped == old_dotted and target and ".".join(target) == mapped:
            out.append(line)
            continue
        rel = _relative(new_pkg, mapped.split("."))
        out.append(f"{m['indent']}from {rel} import {m['rest']}")
    return out


_IMPORTED = re.compile(r" import (?P<names>[\w, ]+)")


def _fix_absolute(text: str) -> str:
    """Dotted (``trio_msgstream._core.sse``) and slashed (``_core/sse.py``) paths."""

    def dotted(m: re.Match[str]) -> str:
        old, tail = m["mod"], m["tail"]
        first = tail.split(".")[1] if tail.startswith(".") else None
        if first is not None and (_exists(f"{old}.{first}") or f"{old}.{first}" in INVERSE):
            return m.group(0)  # already the new package and one of its modules
        imported = _IMPORTED.match(m.string, m.end())
        if not tail and imported and _is_package(old):
            names = _imported_names(imported["names"])
            if names and all(_exists(f"{old}.{n}") for n in names):
                return m.group(0)  # ``from <new package> import <its modules>``
        return f"{PKG}.{MOVES[old]}{tail}"

    olds = sorted(MOVES, key=len, reverse=True)
    alt = "|".join(re.escape(o) for o in olds)
    text = re.sub(rf"{PKG}\.(?P<mod>{alt})(?P<tail>(?:\.\w+)*)\b", dotted, text)

    def slashed(m: re.Match[str]) -> str:
        old = m["mod"].replace("/", ".")
        if old not in MOVES:
            return m.group(0)
        return MOVES[old].replace(".", "/") + ".py"

    slash_alt = "|".join(re.escape(o.replace(".", "/")) for o in olds)
    return re.sub(rf"(?<![\w/])(?P<mod>{slash_alt})\.py\b", slashed, text)


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    keep = (".py", ".md", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".txt", ".json")
    return [ROOT / p for p in out if p.endswith(keep) and (ROOT / p).exists()]


def fix() -> int:
    changed = 0
    for path in _tracked_files():
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text()
        new = _fix_absolute(text)
        if path.suffix == ".py":
            new = "\n".join(_fix_relative(path, new.split("\n")))
        if new != text:
            path.write_text(new)
            changed += 1
            print(f"rewrote {path.relative_to(ROOT)}")
    return changed


if __name__ == "__main__":
    if "--move" in sys.argv:
        move()
    else:
        fix()
