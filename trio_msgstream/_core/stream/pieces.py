"""Appended pieces of a block's content, and snapshots of them built only on demand.

Part of the sans-IO core (no trio, no httpx). The accumulator appends each delta's
piece in O(1); a derived event keeps its source and position, and asks for its
``snapshot`` (the text, the partial tool input, the citations so far) only when read.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

from .events import _SnapshotSource

__all__ = ["Chunks", "Items", "JsonChunks", "parse_partial"]


class Chunks(_SnapshotSource):
    """Appended string pieces, joined on demand with a cache of the last join."""

    __slots__ = ("_joined", "_joined_n", "chunks")

    def __init__(self, initial: str) -> None:
        self.chunks: list[str] = [initial] if initial else []
        self._joined = ""
        self._joined_n = 0

    def append(self, piece: str) -> int:
        self.chunks.append(piece)
        return len(self.chunks)

    def snapshot_at(self, n: int) -> Any:
        return self.text_at(n)

    def text_at(self, n: int) -> str:
        """The concatenation of the first ``n`` pieces."""
        if n == self._joined_n:
            return self._joined
        if n < self._joined_n:
            return "".join(self.chunks[:n])
        # Hand the cached string to a local first: when nobody else holds it, CPython
        # grows it in place, so reading every snapshot in order stays near-linear.
        joined = self._joined
        self._joined = ""
        joined += "".join(self.chunks[self._joined_n : n])
        self._joined, self._joined_n = joined, n
        return joined

    def value(self) -> str:
        return self.text_at(len(self.chunks))


class JsonChunks(Chunks):
    """Tool input JSON pieces; the partial parse is done only when read.

    A snapshot keeps the string being received (an editor shows a file's text as it
    streams); the block's own ``input`` keeps complete values only (see
    :func:`parse_partial`).
    """

    __slots__ = ("_parsed", "_parsed_n")

    def __init__(self) -> None:
        super().__init__("")
        self._parsed: Any = None
        self._parsed_n = -1

    def snapshot_at(self, n: int) -> Any:
        if n != self._parsed_n:
            self._parsed = parse_partial(self.text_at(n), trailing_string=True)
            self._parsed_n = n
        return self._parsed


class Items(_SnapshotSource):
    """Appended items (citations); a snapshot is a new list of the first ``n``."""

    __slots__ = ("items",)

    def __init__(self, initial: list[Any] | None) -> None:
        self.items: list[Any] = list(initial) if initial else []

    def append(self, item: Any) -> int:
        self.items.append(item)
        return len(self.items)

    def snapshot_at(self, n: int) -> Any:
        return self.items[:n]


def parse_partial(raw: str, *, trailing_string: bool = False) -> Any:
    """The values of a JSON prefix; ``None`` when it is not valid JSON.

    A value being received is left out until it is complete (a cut number or path
    would read as a wrong value), except, with ``trailing_string``, the string being
    received: its characters so far are kept (``{"text": "Hello, wor``), for the
    snapshots a stream shows as a tool's input arrives.
    """
    if not raw.strip():
        return {}
    try:
        return from_json(raw, allow_partial="trailing-strings" if trailing_string else True)
    except ValueError:
        return None
