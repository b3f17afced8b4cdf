"""An incremental JSON parser: feed text in pieces, read the value parsed so far.

Part of the sans-IO core (stdlib only).

Theory of operation: the parser is a push-down state machine over the characters of
the text. Every character is looked at once, when its piece is fed, so feeding a whole
document costs time linear in its length however it is cut; nothing is re-parsed when
a piece arrives. Containers are built in place: an object or array is inserted into
its parent as soon as its opening bracket is seen, and each finished value is stored
into the innermost open container. Reading :meth:`PartialJSONParser.value` at any time
returns that tree, with the string being received (if any) added as a partial value;
an unfinished number, ``true``/``false``/``null`` or object key is left out until it is
complete. Runs of string and number characters are scanned with regular expressions,
not one character at a time.

Grammar: RFC 8259 (https://www.rfc-editor.org/rfc/rfc8259). Anything else (text
around the value, a second value, a bad token) puts the parser in an error state:
:attr:`PartialJSONParser.error` says why, and later pieces are ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["PartialJSONParser"]

_WS: Final = " \t\n\r"
# A run of string characters, escapes included (the unrolled form is fast in ``re``).
_STRING_RUN: Final = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_NUMBER_RUN: Final = re.compile(r"[-+0-9.eE]*")
_LITERAL_RUN: Final = re.compile(r"[a-z]*")
_LITERALS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}
# An incomplete escape at the end of a string's raw text: an odd backslash, maybe
# followed by part of ``uXXXX``.
_INCOMPLETE_ESCAPE: Final = re.compile(r"(?<!\\)(?:\\\\)*(\\(?:u[0-9a-fA-F]{0,3})?)$")

# What the parser expects next.
_VALUE, _ARRAY_FIRST, _OBJECT_FIRST, _KEY, _COLON, _AFTER = range(6)
_STRING, _KEY_STRING, _NUMBER, _LITERAL, _END, _ERROR = range(6, 12)

_MISSING: Final[Any] = object()


class PartialJSONParser:
    """Parse one JSON value from pieces of text, in time linear in the text.

    Example::

        parser = PartialJSONParser()
        parser.feed('{"name": "Ada", "tags": ["ma')
        parser.value()  # {'name': 'Ada', 'tags': ['ma']}
        parser.feed('th"]}')
        parser.complete  # True

    Attributes:
        error: Why the text is not JSON (with the character offset), or ``None``.
    """

    __slots__ = (
        "_chars",
        "_escape",
        "_frames",
        "_partial_in_list",
        "_root",
        "_scalar",
        "_state",
        "_string",
        "error",
    )

    def __init__(self) -> None:
        self._state = _VALUE
        self._root: Any = _MISSING
        # Open containers, innermost last, each ``[container, key]``: for an object,
        # ``key`` is the key whose value comes next.
        self._frames: list[list[Any]] = []
        self._string: list[str] = []  # raw (still escaped) pieces of the string
        self._escape = False  # the last piece ended with an escape's backslash
        self._scalar: list[str] = []  # pieces of a number or literal
        self._partial_in_list = False  # a partial string sits at the end of the list
        self._chars = 0
        self.error: str | None = None

    @property
    def complete(self) -> bool:
        """A whole JSON value has been received."""
        return self._state == _END

    def feed(self, text: str) -> None:
        """Consume the next piece of text. Never raises; see :attr:`error`."""
        i, n = 0, len(text)
        while i < n:
            state = self._state
            if state == _STRING or state == _KEY_STRING:
                i = self._scan_string(text, i)
                continue
            if state == _NUMBER or state == _LITERAL:
                i = self._scan_scalar(text, i)
                continue
            if state == _ERROR:
                break
            char = text[i]
            if char in _WS:
                i += 1
                continue
            if state == _VALUE or state == _ARRAY_FIRST:
                if char == "]" and state == _ARRAY_FIRST:
                    self._close()
                elif char == "{":
                    self._open({}, _OBJECT_FIRST)
                elif char == "[":
                    self._open([], _ARRAY_FIRST)
                elif char == '"':
                    self._string = []
                    self._state = _STRING
                elif char == "-" or "0" <= char <= "9":
                    self._scalar = []
                    self._state = _NUMBER
                    continue  # the number's scan takes this character
                elif char in "tfn":
                    self._scalar = []
                    self._state = _LITERAL
                    continue
                else:
                    self._fail(f"unexpected {char!r}", i)
            elif state == _OBJECT_FIRST or state == _KEY:
                if char == "}" and state == _OBJECT_FIRST:
                    self._close()
                elif char == '"':
                    self._string = []
                    self._state = _KEY_STRING
                else:
                    self._fail(f"expected an object key, got {char!r}", i)
            elif state == _COLON:
                if char == ":":
                    self._state = _VALUE
                else:
                    self._fail(f"expected ':', got {char!r}", i)
            elif state == _AFTER and self._frames:
                container = self._frames[-1][0]
                if char == ",":
                    self._state = _KEY if isinstance(container, dict) else _VALUE
                elif char == ("}" if isinstance(container, dict) else "]"):
                    self._close()
                else:
                    self._fail(f"expected ',' or a closing bracket, got {char!r}", i)
            else:  # _END, or _AFTER at the top level
                self._fail(f"unexpected {char!r} after the JSON value", i)
            i += 1
        self._chars += n

    def finish(self) -> None:
        """Mark the end of the text: a number or literal being read completes, and
        an incomplete value sets :attr:`error`."""
        if self._state == _NUMBER or self._state == _LITERAL:
            self._end_scalar(0)
        if self._state != _END and self.error is None:
            self.error = "the JSON text ends before the value is complete"

    def value(self) -> Any:
        """The value parsed so far (``None`` before one starts), partial strings included.

        The objects returned are the parser's own and change as pieces arrive: copy
        them to keep a snapshot. Reading costs time in the length of the string being
        received, not of the whole text.
        """
        if self._state == _STRING:
            self._store(_decode_prefix("".join(self._string)), partial=True)
        return None if self._root is _MISSING else self._root

    # -- internals ----------------------------------------------------------------------

    def _fail(self, why: str, i: int) -> None:
        self.error = f"{why} at character {self._chars + i}"
        self._state = _ERROR

    def _open(self, container: dict[str, Any] | list[Any], state: int) -> None:
        self._store(container)
        self._frames.append([container, None])
        self._state = state

    def _close(self) -> None:
        self._frames.pop()
        self._partial_in_list = False
        self._state = _AFTER if self._frames else _END

    def _store(self, value: Any, *, partial: bool = False) -> None:
        """Put ``value`` where the next value goes; a partial one is replaced later."""
        if not self._frames:
            self._root = value
        else:
            frame = self._frames[-1]
            container = frame[0]
            if isinstance(container, dict):
                container[frame[1]] = value
            elif self._partial_in_list:
                container[-1] = value
            else:
                container.append(value)
            self._partial_in_list = partial and isinstance(container, list)
        if not partial and self._state != _END:
            self._state = _AFTER if self._frames else _END

    def _scan_string(self, text: str, i: int) -> int:
        if self._escape:
            # The last piece ended in the middle of an escape: take its character.
            self._escape = False
            self._string.append(text[i])
            i += 1
            if i >= len(text):
                return i
        match = _STRING_RUN.match(text, i)
        assert match is not None  # the pattern matches the empty string
        end = match.end()
        if end > i:
            self._string.append(text[i:end])
        if end >= len(text):
            return end
        if text[end] == "\\":  # a lone backslash ends the piece
            self._string.append("\\")
            self._escape = True
            return end + 1
        raw = "".join(self._string)  # text[end] is the closing quote
        self._string = []
        try:
            decoded: str = json.loads('"' + raw + '"')
        except ValueError:
            self._fail("invalid string", end)
            return end + 1
        if self._state == _KEY_STRING:
            self._frames[-1][1] = decoded
            self._state = _COLON
        else:
            self._store(decoded)
        return end + 1

    def _scan_scalar(self, text: str, i: int) -> int:
        pattern = _NUMBER_RUN if self._state == _NUMBER else _LITERAL_RUN
        match = pattern.match(text, i)
        assert match is not None
        end = match.end()
        if end > i:
            self._scalar.append(text[i:end])
        if end < len(text):
            self._end_scalar(end)
        return end

    def _end_scalar(self, where: int) -> None:
        raw = "".join(self._scalar)
        self._scalar = []
        if self._state == _LITERAL:
            if raw not in _LITERALS:
                self._fail(f"invalid literal {raw!r}", where)
                return
            self._store(_LITERALS[raw])
            return
        try:
            number = json.loads(raw)
        except ValueError:
            self._fail(f"invalid number {raw!r}", where)
            return
        if not isinstance(number, (int, float)):  # pragma: no cover - defensive
            self._fail(f"invalid number {raw!r}", where)
            return
        self._store(number)


def _decode_prefix(raw: str) -> str:
    """Decode the complete escapes of a string's raw text, dropping an open one."""
    cut = _INCOMPLETE_ESCAPE.search(raw)
    if cut is not None:
        raw = raw[: cut.start(1)]
    try:
        decoded: str = json.loads('"' + raw + '"')
    except ValueError:
        return ""
    return decoded
