"""The public namespace: ``__all__`` is sorted, complete, and importable."""

from __future__ import annotations

import trio_msgstream
import trio_msgstream.sansio
import trio_msgstream.testing
import trio_msgstream.types

MODULES = (trio_msgstream, trio_msgstream.testing, trio_msgstream.types, trio_msgstream.sansio)


def _public_names(module: object) -> list[str]:
    return sorted(
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), type(trio_msgstream))
    ) + sorted(name for name in ("__version__",) if hasattr(module, name))


def test_all_matches_the_public_names() -> None:
    for module in MODULES:
        exported = set(module.__all__)
        assert len(exported) == len(module.__all__), "duplicates in __all__"
        assert exported == set(_public_names(module)), module.__name__


def test_all_is_sorted() -> None:
    for module in MODULES:
        names = [n for n in module.__all__ if n != "__version__"]
        assert names == sorted(names, key=lambda n: (not n.isupper(), n)), module.__name__


def test_public_classes_claim_the_public_module() -> None:
    for name in trio_msgstream.__all__:
        obj = getattr(trio_msgstream, name)
        if isinstance(obj, type) and obj.__module__.startswith("trio_msgstream"):
            assert obj.__module__ == "trio_msgstream", name


def test_sdk_compatible_aliases() -> None:
    assert trio_msgstream.AsyncAnthropic is trio_msgstream.AsyncClient
    assert trio_msgstream.AsyncMessageStream is trio_msgstream.MessageStream


def test_top_level_stays_small() -> None:
    # The API's objects live in ``types``, the protocol machinery in ``sansio``.
    assert len(trio_msgstream.__all__) <= 60


def test_names_that_moved_still_import_from_the_top_level() -> None:
    moved = trio_msgstream._MOVED
    assert {"TextBlock", "Message", "StreamEngine", "SSEDecoder", "TextEvent"} <= set(moved)
    for name, module in moved.items():
        namespace = getattr(trio_msgstream, module)
        assert getattr(trio_msgstream, name) is getattr(namespace, name), name
        assert name in namespace.__all__, name
    try:
        trio_msgstream.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("unknown names must raise AttributeError")
