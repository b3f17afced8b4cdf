"""Names imported for type checkers only, found at run time by ``typing.get_type_hints``.

Part of the sans-IO core. Theory of operation: to keep ``import trio_msgstream`` and a
streaming program light, modules import what their signatures name (the ``**kwargs``
TypedDicts, the batch models, ...) under ``if TYPE_CHECKING:``. With ``from __future__
import annotations`` those names stay strings, and ``typing.get_type_hints()`` (used by
pydantic's ``validate_call``, sphinx, mkdocstrings, IDEs) evaluates them in the
function's module globals, where they are missing: a ``NameError``. A module-level
``__getattr__`` cannot help: the evaluation reads the globals dictionary directly,
never the module's attributes. Its last lookup, the builtins, is the one that can be
deferred.

:func:`resolve_type_checking_names`, called as the last statement of such a module,
gives the module's namespace a builtins mapping that serves the real builtins and, for
a name that is neither global nor builtin, the module's own ``if TYPE_CHECKING:``
block: what it imports there (from a module, or a name another module itself only
defines for type checkers) and the aliases it defines there. The block is read from
the module's source the first time a name is missing; it stays the one list. Nothing
is imported before a name is asked for. Functions and classes defined before the call
keep the real builtins (a function takes them when it is created), so the module's
code runs as before; evaluation in the module's namespace afterwards
(``get_type_hints``, ``inspect.signature(eval_str=True)``) and functions created later
see the mapping. The exceptions module, imported by ``import trio_msgstream`` itself,
gets its mapping when this module is first imported (by any client), so the bare
import does not load this one.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

    _Entry = tuple[str, str, str | None]
    """``("import", module, attribute or None)`` or ``("alias", expression, None)``."""

__all__ = ["resolve_type_checking_names", "type_checking_names", "type_only_name"]


def _is_type_checking(test: Any) -> bool:
    import ast

    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _source(module_name: str, spec: Any) -> str | None:
    """A module's source: from its loader, else its file (an import hook, such as
    pytest's assertion rewriter, may not hand the source out)."""
    get_source = getattr(getattr(spec, "loader", None), "get_source", None)
    try:
        source = get_source(module_name) if get_source is not None else None
    except (ImportError, OSError):
        source = None
    origin = getattr(spec, "origin", None)
    if not source and isinstance(origin, str) and origin.endswith(".py"):
        import tokenize

        try:
            with tokenize.open(origin) as file:
                source = file.read()
        except OSError:
            source = None
    return source if isinstance(source, str) else None


@functools.cache
def type_checking_names(module_name: str) -> Mapping[str, _Entry]:
    """What a module's ``if TYPE_CHECKING:`` blocks bind: its imports and its aliases.
    Empty when the source is unavailable."""
    import ast
    import importlib.util

    module = sys.modules.get(module_name)
    source = _source(module_name, getattr(module, "__spec__", None))
    if not source:
        return {}
    package = getattr(module, "__package__", None) or ""
    names: dict[str, _Entry] = {}
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for statement in node.body:
            for sub in ast.walk(statement):
                if isinstance(sub, ast.ImportFrom):
                    relative = "." * sub.level + (sub.module or "")
                    base = importlib.util.resolve_name(relative, package) if sub.level else relative
                    for alias in sub.names:
                        names[alias.asname or alias.name] = ("import", base, alias.name)
                elif isinstance(sub, ast.Import):
                    for alias in sub.names:
                        if alias.asname:
                            names[alias.asname] = ("import", alias.name, None)
                        else:
                            top = alias.name.partition(".")[0]
                            names[top] = ("import", top, None)
                elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                    if sub.value is not None:
                        names[sub.target.id] = ("alias", ast.unparse(sub.value), None)
                elif isinstance(sub, ast.Assign):
                    for target in sub.targets:
                        if isinstance(target, ast.Name):
                            names[target.id] = ("alias", ast.unparse(sub.value), None)
    return names


def type_only_name(module_name: str, name: str) -> Any:
    """``name`` as module ``module_name`` sees it: its global, a builtin, or what its
    ``if TYPE_CHECKING:`` block binds (imported or evaluated now).

    Raises:
        KeyError: The module has no such name.
    """
    module = importlib.import_module(module_name)
    namespace = vars(module)
    if name in namespace:
        return namespace[name]
    if name in builtins.__dict__:
        return builtins.__dict__[name]
    entry = type_checking_names(module_name).get(name)
    if entry is None:
        raise KeyError(name)
    kind, target, attribute = entry
    if kind == "alias":
        names: Any = _ModuleNames(module_name)  # a mapping as far as eval is concerned
        return eval(target, namespace, names)
    if attribute is None:
        return importlib.import_module(target)
    source = importlib.import_module(target)
    if hasattr(source, attribute):
        return getattr(source, attribute)
    try:
        return type_only_name(target, attribute)  # a name it has for type checkers only
    except KeyError:
        return importlib.import_module(f"{target}.{attribute}")  # a submodule


class _ModuleNames:
    """A module's names, type-only ones included (the locals of an alias's evaluation:
    ``eval`` asks its locals for each name through ``__getitem__``)."""

    __slots__ = ("_module",)

    def __init__(self, module_name: str) -> None:
        self._module = module_name

    def __getitem__(self, name: str) -> Any:
        return type_only_name(self._module, name)


class _TypeCheckingBuiltins(dict):  # type: ignore[type-arg]  # (no generic alias made at import)
    """The builtins of a module's namespace: the real ones, then its type-only names."""

    __slots__ = ("_module",)

    def __init__(self, module: str) -> None:
        super().__init__()
        self._module = module

    def __missing__(self, name: str) -> Any:
        try:
            return builtins.__dict__[name]
        except KeyError:
            pass
        return type_only_name(self._module, name)

    def __repr__(self) -> str:
        return f"<builtins and the TYPE_CHECKING names of {self._module}>"


def resolve_type_checking_names(namespace: MutableMapping[str, Any]) -> None:
    """Let ``typing.get_type_hints`` find the names the module whose ``globals()`` is
    ``namespace`` binds under ``if TYPE_CHECKING:`` (see the module notes). Call it as
    the module's last statement; it imports nothing."""
    namespace["__builtins__"] = _TypeCheckingBuiltins(str(namespace["__name__"]))


# ``import trio_msgstream`` imports the exceptions module, and this module must not
# slow it down: the exceptions get their mapping here, once the first module that needs
# this one is imported (every client is).
resolve_type_checking_names(vars(importlib.import_module(f"{__package__}.exceptions")))
