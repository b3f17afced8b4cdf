"""Which HTTP library a client speaks: ``httpx`` or ``httpx2``.

``httpx2`` is httpx's continuation under another module name (the same API, the same
classes and exception tree). The glue is written once against that shared API; the
few places that need the library itself (a client to make, the exception classes to
translate) ask an :class:`HttpLibrary`, found from an object of it (:func:`library_of`:
the client or transport the user passed, a response, an exception) or, when the user
passed neither a client nor a transport, :func:`default_library`.

Theory of operation:

- **Lazy.** Nothing here imports either library at import time: a library is imported
  when an object of it is met (then it is already imported) or when it is the default
  and a client is made. A process with only one of them installed uses that one.
- **Detection by class.** An object belongs to the library that defines one of the
  classes in its MRO (``httpx.AsyncClient`` and a user's subclass of it alike). After
  ``httpx2.alias_httpx()`` the name ``httpx`` is httpx2 itself: its classes report the
  module ``httpx2``, and one library is in use.
- **The default** is httpx, else httpx2 when httpx is not installed (see
  ``docs/migrating.md``, "httpx or httpx2", for the measurements behind it).
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any, Literal

from .._core.exceptions import TimeoutKind

__all__ = ["LIBRARY_NAMES", "HttpLibrary", "default_library", "library_of", "load_library"]

LibraryName = Literal["httpx", "httpx2"]

LIBRARY_NAMES: tuple[LibraryName, ...] = ("httpx", "httpx2")
"""The HTTP libraries the glue speaks, in the order of preference of the default."""

preferred: tuple[LibraryName, ...] = LIBRARY_NAMES
"""The default's order of preference (the test suite runs it the other way round)."""


class HttpLibrary:
    """One HTTP library (its module, and what the glue looks up in it once).

    Attributes:
        name: ``"httpx"`` or ``"httpx2"``.
        module: The module itself (``module.AsyncClient``, ``module.Headers``, ...).
        timeout_kinds: Its timeout exception classes and the :data:`TimeoutKind` each
            means, most specific first.
    """

    __slots__ = ("module", "name", "timeout_kinds")

    def __init__(self, name: LibraryName, module: ModuleType) -> None:
        self.name: LibraryName = name
        self.module: Any = module
        self.timeout_kinds: tuple[tuple[type[BaseException], TimeoutKind], ...] = (
            (module.ConnectTimeout, "connect"),
            (module.ReadTimeout, "read"),
            (module.WriteTimeout, "write"),
            (module.PoolTimeout, "pool"),
        )

    def __repr__(self) -> str:
        return f"<HttpLibrary {self.name}>"


@functools.cache
def load_library(name: LibraryName) -> HttpLibrary:
    """The library ``name`` (imported now if it was not yet).

    Raises:
        ImportError: It is not installed.
    """
    return HttpLibrary(name, importlib.import_module(name))


_by_class: dict[type, HttpLibrary | None] = {}


def library_of(obj: object) -> HttpLibrary | None:
    """The library ``obj`` (a client, transport, request, response or exception)
    belongs to; ``None`` for an object of neither."""
    cls = type(obj)
    try:
        return _by_class[cls]
    except KeyError:
        pass
    found: HttpLibrary | None = None
    for base in cls.__mro__:
        root = base.__module__.partition(".")[0]
        if root == "httpx" or root == "httpx2":
            found = load_library(root)
            break
    if len(_by_class) >= 256:  # classes made on the fly: keep the cache bounded
        _by_class.clear()
    _by_class[cls] = found
    return found


def default_library() -> HttpLibrary:
    """The library of the clients made when the user passes neither a client nor a
    transport: httpx, else httpx2.

    Raises:
        ImportError: Neither is installed.
    """
    for name in preferred:
        try:
            return load_library(name)
        except ImportError:
            continue
    raise ImportError("trio_msgstream needs httpx or httpx2: pip install httpx (or httpx2)")
