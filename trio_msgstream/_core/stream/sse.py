"""Sans-IO decoder for ``text/event-stream`` (Server-Sent Events).

This is the bottom layer of trio_msgstream, in the style of h11: a small state machine
that is fed bytes and hands back events. It does no I/O and imports only the stdlib and
``trio_msgstream._exceptions``.

Theory of operation
-------------------
The parsing rules are WHATWG HTML "Interpreting an event stream":
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

:meth:`SSEDecoder.receive_data` works on bytes, in three steps per chunk:

1. A UTF-8 BOM is stripped once, at the very start of the stream (a partial BOM at the
   start is held back until it can be decided).
2. Line endings are normalized to LF. Lines end at CR, LF or CRLF, all of which are
   ASCII and can never occur inside a multi-byte UTF-8 sequence, so ``bytes.replace``
   is safe. A chunk ending in CR is normalized at once (so CR-terminated events are not
   delayed) and a LF opening the next chunk is then dropped, so a CRLF split across
   chunks counts once. After this step the stream is LF-only, and its normalized form
   does not depend on how it was chunked.
3. The buffer is cut at its *last* blank line (``b"\\n\\n"``). Everything before the cut
   is a run of complete blocks: it is decoded in one go (a cut between two LFs never
   splits a UTF-8 character, so per-run decoding equals incremental decoding), split
   into lines with one ``str.split`` and interpreted; the resulting events are queued.
   The rest (the incomplete block) stays buffered, and the next search resumes at its
   last byte, so a huge event arriving in many small chunks is scanned only once.

:meth:`SSEDecoder.next_event` then just pops the queue. At EOF the incomplete block is
discarded as the spec says (or, optionally, dispatched as if a blank line followed).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn, final

if TYPE_CHECKING:
    from collections.abc import Callable

from ..exceptions import StreamProtocolError

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "NEED_DATA",
    "NeedData",
    "SNIFF_LIMIT",
    "SSEDecoder",
    "ServerSentEvent",
    "sniff_event_stream",
]

# An event is only complete when its blank line arrives, so until then the decoder has to
# buffer it. Without a cap a peer (or a proxy gone wrong) could make us buffer without
# bound by never sending one. The cap is generous: Messages API events are typically well
# under a few KiB, while 16 MiB still fits any plausible single event.
DEFAULT_MAX_EVENT_SIZE: Final = 16 * 1024 * 1024

_BOM: Final = b"\xef\xbb\xbf"

SNIFF_LIMIT: Final = 64
"""Bytes :func:`sniff_event_stream` looks at, at most: a body whose first field has
not begun by then is not taken for an event stream."""

_FIELDS: Final = frozenset({b"", b"event", b"data", b"id", b"retry"})


def sniff_event_stream(head: bytes) -> bool | None:
    """Whether a body starting with ``head`` is an event stream, judged by its first
    line: a field (``event:``, ``data:``, ``id:``, ``retry:``) or a comment (``:``)
    after an optional BOM and blank lines. ``None``: too few bytes to tell yet.

    For a response without a content type: an event stream is read as one, anything
    else (an HTML page, a JSON body) is not.
    """
    if len(head) > SNIFF_LIMIT:
        head = head[:SNIFF_LIMIT]
    head = head.removeprefix(_BOM).lstrip(b"\r\n")
    ends = [i for i in (head.find(b":"), head.find(b"\n"), head.find(b"\r")) if i != -1]
    if not ends:
        if len(head) >= SNIFF_LIMIT or not any(name.startswith(head) for name in _FIELDS):
            return False
        return None  # a field's name may still come (or a BOM, or blank lines)
    end = min(ends)
    return head[end : end + 1] == b":" and head[:end] in _FIELDS


@final
class NeedData:
    """Type of the :data:`NEED_DATA` sentinel. Do not instantiate it yourself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()
"""Returned by :meth:`SSEDecoder.next_event` when no complete event is buffered."""


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSentEvent:
    """One dispatched Server-Sent Event. Immutable; don't subclass.

    Attributes:
        event: The event type; ``"message"`` when the block had no (or an empty)
            ``event`` field.
        data: The data buffer: the ``data`` field values joined with LF.
        id: The last event ID in force when the event was dispatched. It persists
            across events; ``None`` means it was never set, ``""`` that the server
            explicitly reset it.
        retry: A valid ``retry`` value (milliseconds) given in the same block, else
            ``None``. See :attr:`SSEDecoder.retry` for the reconnection time in force.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


# The dataclass-generated __init__ of a frozen class goes through object.__setattr__ once
# per field, which costs ~0.5 µs per event; the decoder is the hot path, so it fills the
# slots directly through their descriptors (~0.2 µs). Public callers use the constructor.
def _slot_setter(name: str) -> Callable[[ServerSentEvent, object], None]:
    setter: Callable[[ServerSentEvent, object], None] = vars(ServerSentEvent)[name].__set__
    return setter


_new_event = object.__new__
_set_event = _slot_setter("event")
_set_data = _slot_setter("data")
_set_id = _slot_setter("id")
_set_retry = _slot_setter("retry")


class SSEDecoder:
    """Incremental, sans-IO ``text/event-stream`` decoder.

    Feed it bytes with :meth:`receive_data` (``b""`` signals EOF) and pull events with
    :meth:`next_event`, or do both at once with :meth:`feed`. Results never depend on
    how the stream is split into chunks.

    After a :class:`~trio_msgstream.StreamProtocolError` the decoder is broken for good:
    every later method call raises :class:`~trio_msgstream.StreamProtocolError` again.

    Args:
        max_event_size: The largest event, in bytes (after line-ending normalization,
            counting its lines and their terminators but not the blank line that ends
            it), that the decoder accepts. A larger event, complete or still being
            buffered, is an error.
        dispatch_incomplete_at_eof: When ``True``, a block cut off by EOF (no blank line
            after it) is dispatched as if a blank line followed, its unterminated last
            line included. The spec (and the default, ``False``) discards it.
    """

    __slots__ = (
        "_at_start",
        "_bom_buf",
        "_buf",
        "_bytes_received",
        "_discarded_at_eof",
        "_dispatch_incomplete_at_eof",
        "_eof",
        "_error",
        "_events",
        "_last_event_id",
        "_max_event_size",
        "_retry",
        "_skip_lf",
    )

    def __init__(
        self,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        dispatch_incomplete_at_eof: bool = False,
    ) -> None:
        if max_event_size < 1:
            raise ValueError(f"max_event_size must be positive, got {max_event_size}")
        self._max_event_size = max_event_size
        self._dispatch_incomplete_at_eof = dispatch_incomplete_at_eof
        self._buf = bytearray()  # the incomplete block, LF-normalized, never has b"\n\n"
        # Made for a chunk of several events and dropped once they are taken: an empty
        # deque is 600 bytes, and a stream read one event per chunk never needs one.
        self._events: deque[ServerSentEvent] | None = None
        self._at_start = True  # nothing but a possible BOM prefix seen yet
        self._bom_buf = b""
        self._skip_lf = False  # the previous chunk ended in CR: drop a leading LF
        self._last_event_id: str | None = None
        self._retry: int | None = None
        self._eof = False
        self._discarded_at_eof = False
        self._bytes_received = 0
        self._error: str | None = None

    # -- read-only state ------------------------------------------------------------

    @property
    def last_event_id(self) -> str | None:
        """The last event ID string: set when a block ends, ``None`` if never set."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) in force, from the last valid ``retry`` field."""
        return self._retry

    @property
    def eof(self) -> bool:
        """Whether EOF (``receive_data(b"")``) has been received."""
        return self._eof

    @property
    def discarded_at_eof(self) -> bool:
        """Whether EOF cut off a block with fields, which was then thrown away."""
        return self._discarded_at_eof

    @property
    def bytes_received(self) -> int:
        """The number of raw bytes received so far."""
        return self._bytes_received

    # -- public API -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the stream; ``b""`` means EOF.

        Args:
            data: The next chunk of the response body, or ``b""`` at EOF.

        Raises:
            StreamProtocolError: An event exceeds ``max_event_size``, or the decoder
                already failed.
            RuntimeError: Data arrived after EOF.
        """
        single = self.receive_single(data)
        if single is not None:
            ev = _new_event(ServerSentEvent)
            _set_event(ev, single[0])
            _set_data(ev, single[1])
            _set_id(ev, self._last_event_id)
            _set_retry(ev, None)
            self._queue().append(ev)

    def receive_single(self, data: bytes) -> tuple[str, str] | None:
        """:meth:`receive_data`, but a chunk that is exactly one event in the form the
        Messages API sends (``event: NAME\\ndata: DATA\\n\\n``) while no event is
        queued is not queued: its ``(event, data)`` is returned at once (the hot path of
        a stream read one event per network chunk; such an event has no ``id`` or
        ``retry`` of its own). ``None`` otherwise.

        Raises:
            StreamProtocolError: As for :meth:`receive_data`.
            RuntimeError: As for :meth:`receive_data`.
        """
        if not (self._at_start or self._skip_lf or self._error or self._eof):
            if data and 0x0D not in data and not self._buf:
                # The common case, by far: a chunk of LF-only complete events.
                if data.endswith(b"\n\n") and len(data) <= self._max_event_size:
                    self._bytes_received += len(data)
                    text = data.decode("utf-8", "replace")
                    # Same result as _interpret for exactly "event: NAME\ndata: DATA\n\n".
                    if text.count("\n") == 3 and text[:7] == "event: " and not self._events:
                        nl = text.index("\n")
                        if text[nl + 1 : nl + 7] == "data: ":
                            return text[7:nl] or "message", text[nl + 7 : -2]
                    self._interpret(text.split("\n"))
                    return None
        self._receive_general(data)
        return None

    def skip_event(self, size: int) -> bool:
        """Count a chunk of ``size`` bytes that the caller has read itself, if it may:
        the caller checked that the chunk is exactly one ``event: NAME\\ndata:
        DATA\\n\\n`` in ASCII, and the decoder is between events (no partial block,
        nothing queued, no pending CR or BOM) with room for it. Returns whether it was
        counted; when not, feed the chunk to :meth:`receive_single` as usual."""
        if (
            self._at_start
            or self._skip_lf
            or self._buf
            or self._events
            or self._error
            or self._eof
            or size > self._max_event_size
        ):
            return False
        self._bytes_received += size
        return True

    def next_event(self) -> ServerSentEvent | NeedData:
        """Return the next complete event.

        Returns:
            The next :class:`ServerSentEvent`, or :data:`NEED_DATA` when none is
            complete yet (or, after EOF, when all have been returned).

        Raises:
            StreamProtocolError: The decoder failed earlier.
        """
        events = self._events
        if events:
            # Complete events that arrived before a failure are still handed out:
            # the error is raised once they are gone, so nothing is lost.
            return events.popleft()
        if self._error is not None:
            self._raise_broken()
        self._events = None  # a waiting stream keeps no empty queue
        return NEED_DATA

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Receive ``data`` and return every event that is now complete.

        Args:
            data: The next chunk of the response body, or ``b""`` at EOF.

        Returns:
            The completed events, in order (often empty).

        Raises:
            StreamProtocolError: As for :meth:`receive_data`.
            RuntimeError: As for :meth:`receive_data`.
        """
        self.receive_data(data)
        events = self._events
        if not events:
            return []
        out = list(events)
        events.clear()
        return out

    def close(self) -> list[ServerSentEvent]:
        """Signal EOF; the same as ``feed(b"")``.

        Returns:
            The events still queued (plus the cut-off block, when
            ``dispatch_incomplete_at_eof`` is set and it has data).

        Raises:
            StreamProtocolError: As for :meth:`receive_data`.
            RuntimeError: EOF was already received.
        """
        return self.feed(b"")

    # -- internals ------------------------------------------------------------------

    def _queue(self) -> deque[ServerSentEvent]:
        events = self._events
        if events is None:
            events = self._events = deque()
        return events

    def _raise_broken(self) -> NoReturn:
        raise StreamProtocolError(f"SSE decoder is in an error state: {self._error}")

    def _fail(self, message: str) -> NoReturn:
        # Events completed before the failure stay queued for next_event.
        self._error = message
        self._buf = bytearray()
        raise StreamProtocolError(message)

    def _receive_general(self, data: bytes) -> None:
        if self._error is not None:
            self._raise_broken()
        if self._eof:
            raise RuntimeError("received data after EOF")
        if not data:
            self._receive_eof()
            return
        self._bytes_received += len(data)
        if self._at_start:
            data = self._strip_bom(data)
            if not data:
                return
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return
        if 0x0D in data:
            self._skip_lf = data[-1] == 0x0D
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self._receive_lf(data)

    def _strip_bom(self, data: bytes) -> bytes:
        head = self._bom_buf + data
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._bom_buf = head  # might still become a BOM
            return b""
        self._at_start = False
        self._bom_buf = b""
        return head[3:] if head.startswith(_BOM) else head

    def _receive_lf(self, data: bytes) -> None:
        """Process a chunk of the LF-normalized stream."""
        buf = self._buf
        if buf:
            # The buffer holds no blank line, so a new one can start at its last byte
            # at the earliest: searching from there keeps big events linear.
            start = len(buf) - 1
            buf += data
            cut = buf.rfind(b"\n\n", start)
            if cut < 0:
                if len(buf) > self._max_event_size:
                    self._fail_oversize(len(buf), complete=False)
                return
            end = cut + 2
            if end > self._max_event_size:
                self._check_complete_sizes(bytes(buf[:end]))
            text = buf[:end].decode("utf-8", "replace")
            if len(buf) - end > self._max_event_size:
                self._interpret(text.split("\n"))
                self._fail_oversize(len(buf) - end, complete=False)
            del buf[:end]
        else:
            cut = data.rfind(b"\n\n")
            if cut < 0:
                if len(data) > self._max_event_size:
                    self._fail_oversize(len(data), complete=False)
                buf += data
                return
            end = cut + 2
            if end > self._max_event_size:
                self._check_complete_sizes(data[:end])
            if end == len(data):
                text = data.decode("utf-8", "replace")
            else:
                text = data[:end].decode("utf-8", "replace")
                if len(data) - end > self._max_event_size:
                    self._interpret(text.split("\n"))
                    self._fail_oversize(len(data) - end, complete=False)
                buf += data[end:]
        self._interpret(text.split("\n"))

    def _check_complete_sizes(self, blocks: bytes) -> None:
        # Only called when a run of complete blocks exceeds the limit. An event counts
        # its lines and their LFs, without any stray leading LFs; that is exactly the
        # most the incomplete-event check can see of it, so the outcome does not depend
        # on chunking.
        parts = blocks.split(b"\n\n")
        for i, part in enumerate(parts):
            size = len(part.lstrip(b"\n")) + 1
            if size > self._max_event_size:
                if i:  # the events before the oversize one are delivered first
                    before = b"\n\n".join(parts[:i]) + b"\n\n"
                    self._interpret(before.decode("utf-8", "replace").split("\n"))
                self._fail_oversize(size, complete=True)

    def _fail_oversize(self, size: int, *, complete: bool) -> NoReturn:
        what = "an SSE event" if complete else "an incomplete SSE event"
        self._fail(f"{what} of {size} bytes exceeds max_event_size ({self._max_event_size} bytes)")

    def _interpret(self, lines: list[str]) -> None:
        """Run the spec's line algorithm over ``lines``, which end with a blank line.

        Block state (data, event type, retry of this block) is local: every call starts
        and ends at a block boundary, so it is always empty in between.
        """
        append_event = self._queue().append
        last_id = self._last_event_id
        data: list[str] = []
        event_type = ""
        retry: int | None = None
        for line in lines:
            if not line:
                # Blank line: dispatch. (The last event ID string is committed here too,
                # but as the ID buffer is never reset, keeping one variable suffices.)
                if data:
                    ev = _new_event(ServerSentEvent)
                    _set_event(ev, event_type or "message")
                    _set_data(ev, data[0] if len(data) == 1 else "\n".join(data))
                    _set_id(ev, last_id)
                    _set_retry(ev, retry)
                    append_event(ev)
                    data = []
                event_type = ""
                retry = None
                continue
            if line[:6] == "data: ":
                data.append(line[6:])
                continue
            if line[:7] == "event: ":
                event_type = line[7:]
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event_type = value
            elif name == "id":
                if "\x00" not in value:
                    last_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                retry = self._retry = int(value)
            # Anything else, comments (empty name) included, is ignored.
        self._last_event_id = last_id

    def _receive_eof(self) -> None:
        self._eof = True
        self._skip_lf = False
        if self._at_start:
            # A stream that was just a BOM prefix, e.g. b"\xef\xbb": it is data after all.
            self._at_start = False
            pending, self._bom_buf = self._bom_buf, b""
            if pending:
                self._receive_lf(pending)
        if not self._buf:
            return
        lines = self._buf.decode("utf-8", "replace").split("\n")
        self._buf = bytearray()
        if self._dispatch_incomplete_at_eof:
            lines.append("")
            self._interpret(lines)
            return
        # The spec discards the block, but fields on complete lines were already
        # processed, and one of them has an effect beyond the block: retry.
        for line in lines[:-1]:
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "retry" and value.isascii() and value.isdigit():
                self._retry = int(value)
        self._discarded_at_eof = any(line and line[0] != ":" for line in lines)
