"""The grammar of a Messages API event stream, as one transition table.

Part of the sans-IO core (no trio, no httpx). Both ways of reading a stream check it
here: the accumulator (which builds the message) and the stream engine's raw mode
(which keeps nothing but the stream's shape).

Theory of operation: a stream is in one of three states, ``BEFORE`` (nothing yet),
``OPEN`` (after ``message_start``) and ``DONE`` (after ``message_stop``). The table
``TRANSITIONS`` says, for each event kind and state, what the event does: an action
(start the message, open a block, act on an open block, close it, stop the message,
nothing) or the error it is. Block events carry an index, and the action checks it:
blocks open in index order (blocks already in ``message_start`` count as opened and
closed), deltas and stops only reach a block that is open. Event kinds the table does
not name (``ping``, ``error``, types this version does not know) are allowed in every
state: the API adds event kinds over time.
"""

from __future__ import annotations

from typing import Final

from ..exceptions import StreamProtocolError

__all__ = ["BEFORE", "DONE", "OPEN", "TRANSITIONS", "StreamGrammar"]

BEFORE: Final = 0
OPEN: Final = 1
DONE: Final = 2

# Actions: what an allowed event does to the state.
_START = "start"  # BEFORE -> OPEN
_OPEN_BLOCK = "open_block"  # the next index opens
_IN_BLOCK = "in_block"  # the index must be open
_CLOSE_BLOCK = "close_block"  # the index must be open; it closes
_STOP = "stop"  # OPEN -> DONE
_NOTHING = "nothing"

_EARLY = "error:{kind} before message_start"
_LATE = "error:{kind} after message_stop"
_AGAIN = "error:a second message_start in one stream"

TRANSITIONS: Final[dict[str, tuple[str, str, str]]] = {
    #                       BEFORE   OPEN          DONE
    "message_start": (_START, _AGAIN, _AGAIN),
    "content_block_start": (_EARLY, _OPEN_BLOCK, _LATE),
    "content_block_delta": (_EARLY, _IN_BLOCK, _LATE),
    "content_block_stop": (_EARLY, _CLOSE_BLOCK, _LATE),
    "message_delta": (_EARLY, _NOTHING, _LATE),
    "message_stop": (_EARLY, _STOP, _LATE),
}
"""Event kind -> what it does in each state (``BEFORE``, ``OPEN``, ``DONE``)."""

# StreamGrammar.delta's shortcut relies on this row.
assert TRANSITIONS["content_block_delta"][OPEN] is _IN_BLOCK


class StreamGrammar:
    """The state of one stream against :data:`TRANSITIONS`.

    Call :meth:`step` with every event's kind (and index, for block events) before
    acting on it; it raises :class:`StreamProtocolError` for an event that breaks the
    grammar and leaves the state as it was.
    """

    __slots__ = ("_open", "blocks_started", "state")

    def __init__(self) -> None:
        self.state: int = BEFORE
        self.blocks_started = 0
        """Blocks opened so far (the next ``content_block_start`` has this index)."""
        self._open: list[int] = []  # (a list: a set costs 216 bytes per stream)

    @property
    def done(self) -> bool:
        """``message_stop`` has been seen."""
        return self.state == DONE

    def is_open(self, index: int) -> bool:
        return index in self._open

    def step(self, kind: str, index: int | None = None, *, initial_blocks: int = 0) -> None:
        """Check one event and move the state.

        Args:
            kind: The event's ``type``.
            index: The block index of a block event.
            initial_blocks: For ``message_start``: the blocks its message already
                holds (they count as opened and closed).

        Raises:
            StreamProtocolError: The event is not allowed here.
        """
        row = TRANSITIONS.get(kind)
        if row is None:
            return
        action = row[self.state]
        if action is _IN_BLOCK or action is _CLOSE_BLOCK:
            if index not in self._open:
                raise StreamProtocolError(self._not_open(kind, index))
            if action is _CLOSE_BLOCK:
                self._open.remove(index)
        elif action is _NOTHING:
            return
        elif action is _OPEN_BLOCK:
            if index != self.blocks_started:
                raise StreamProtocolError(
                    f"{kind} for index {index}, expected {self.blocks_started}"
                )
            self.blocks_started += 1
            self._open.append(index)
        elif action is _START:
            self.state = OPEN
            self.blocks_started = initial_blocks
        elif action is _STOP:
            self.state = DONE
        else:
            raise StreamProtocolError(action[6:].format(kind=kind))

    def delta(self, index: int) -> None:
        """:meth:`step` for ``content_block_delta``, the most frequent event."""
        if self.state != OPEN or index not in self._open:
            self.step("content_block_delta", index)

    def _not_open(self, kind: str, index: int | None) -> str:
        if index is not None and 0 <= index < self.blocks_started:
            return f"{kind} for content block {index}, which has stopped"
        return f"{kind} for unknown content block index {index}"
