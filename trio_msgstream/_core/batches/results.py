"""The results file of a Message Batch, decoded line by line. Sans-IO (model: h11).

Theory of operation: a batch's results come as JSON Lines (https://jsonlines.org),
one :class:`MessageBatchIndividualResponse` per line, in no particular order, and the
file can be hundreds of megabytes. :class:`BatchResultsDecoder` is fed the body's
bytes as they arrive (``receive_data``, with ``b""`` for the end of the file) and
hands out one typed result per line (``next_result``), so memory holds at most one
line plus one network chunk however large the file is.

A line that is not a result (bad JSON, a missing ``custom_id``, a wrong shape) raises
:class:`BatchResultsError` naming its line number and, when it can be read from the
line at all, its ``custom_id``. Every result before it has been handed out already
(and :meth:`BatchResultsDecoder.feed` attaches those of its own chunk to the error),
so nothing is lost; the bad line is consumed, and decoding may go on after it. A line
longer than ``max_line_size`` is an error too (the buffer is bounded, as h11's is) and
ends the decoding.
"""

from __future__ import annotations

import json
import re
from typing import Final

from pydantic import ValidationError

from ..exceptions import StreamProtocolError
from ..stream.sse import NEED_DATA, NeedData
from .models import MessageBatchIndividualResponse

__all__ = ["DEFAULT_MAX_RESULT_LINE", "BatchResultsDecoder", "BatchResultsError"]

DEFAULT_MAX_RESULT_LINE: Final = 64 * 1024 * 1024
"""Bytes one results line may take. A result is one message, at most a few hundred
thousand tokens of output: far below this, so only a broken file reaches it."""

_COMPACT_AT = 64 * 1024
"""Consumed bytes at the front of the buffer that trigger compacting it."""

_CUSTOM_ID = re.compile(rb'"custom_id"\s*:\s*"((?:[^"\\]|\\.){1,256})"')


def _custom_id_from(line: bytes | bytearray) -> str | None:
    """The ``custom_id`` of a broken line, when it can be read at all."""
    try:
        decoded = json.loads(line)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        value = decoded.get("custom_id")
        return value if isinstance(value, str) else None
    match = _CUSTOM_ID.search(line[:4096])
    if match is None:
        return None
    try:
        value = json.loads(b'"' + match.group(1) + b'"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


class BatchResultsError(StreamProtocolError):
    """A line of a batch's results file is not a result.

    Attributes:
        line_number: The line, counted from 1.
        custom_id: The line's ``custom_id``, when it could be read; else ``None``.
        results: The results decoded from the same chunk before this line, by
            :meth:`BatchResultsDecoder.feed` (empty otherwise): they are not lost.
    """

    def __init__(
        self,
        message: str,
        *,
        line_number: int,
        custom_id: str | None,
        body: object | None = None,
    ) -> None:
        super().__init__(message, body=body)
        self.line_number = line_number
        self.custom_id = custom_id
        self.results: list[MessageBatchIndividualResponse] = []


def _short(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    text = f"{first.get('msg', 'invalid')}" + (f" at {where}" if where else "")
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


class BatchResultsDecoder:
    """Turns the bytes of a JSONL results file into typed results, one line at a time.

    Args:
        max_line_size: The longest line accepted, in bytes.

    Example::

        decoder = BatchResultsDecoder()
        for chunk in chunks:
            for result in decoder.feed(chunk):
                ...
        for result in decoder.feed(b""):  # the end of the file
            ...
    """

    def __init__(self, *, max_line_size: int = DEFAULT_MAX_RESULT_LINE) -> None:
        if max_line_size < 1:
            raise ValueError("max_line_size must be >= 1")
        self._max_line_size = max_line_size
        self._buffer = bytearray()
        self._start = 0  # first unconsumed byte of the buffer
        self._scanned = 0  # bytes after _start known to hold no newline
        self._eof = False
        self._failed = False
        self._line_number = 0

    @property
    def line_number(self) -> int:
        """Lines consumed so far (blank ones included)."""
        return self._line_number

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed (an incomplete line)."""
        return len(self._buffer) - self._start

    def receive_data(self, data: bytes) -> None:
        """Add bytes of the file; ``b""`` says the file has ended.

        Raises:
            RuntimeError: Data after the end of the file.
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RuntimeError("receive_data() after the end of the file")
        if self._start >= _COMPACT_AT and self._start * 2 >= len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += data

    def next_result(self) -> MessageBatchIndividualResponse | NeedData:
        """The next result, or :data:`NEED_DATA` when no complete line is buffered.

        After the end of the file (``receive_data(b"")``) has been consumed it keeps
        returning :data:`NEED_DATA`.

        Raises:
            BatchResultsError: The next line is not a result (it is consumed), or a
                line is longer than ``max_line_size`` (decoding ends).
        """
        while True:
            if self._failed:
                raise RuntimeError("the results decoder failed on an oversize line")
            line = self._next_line()
            if line is None:
                return NEED_DATA
            self._line_number += 1
            if line.strip():
                return self._parse(line)

    def feed(self, data: bytes) -> list[MessageBatchIndividualResponse]:
        """:meth:`receive_data` then every complete result.

        Raises:
            BatchResultsError: With ``.results`` holding the results decoded from this
                chunk before the bad line.
        """
        self.receive_data(data)
        results: list[MessageBatchIndividualResponse] = []
        while True:
            try:
                result = self.next_result()
            except BatchResultsError as exc:
                exc.results = results
                raise
            if result is NEED_DATA:
                return results
            assert isinstance(result, MessageBatchIndividualResponse)
            results.append(result)

    def _next_line(self) -> bytes | None:
        buffer = self._buffer
        end = buffer.find(b"\n", self._start + self._scanned)
        if end < 0:
            pending = len(buffer) - self._start
            if pending > self._max_line_size:
                self._fail_oversize()
            if not self._eof or pending == 0:
                self._scanned = pending
                return None
            end = len(buffer)
            line = bytes(buffer[self._start : end])
            self._start = end
        else:
            if end - self._start > self._max_line_size:
                self._fail_oversize()
            line = bytes(buffer[self._start : end])
            self._start = end + 1
        self._scanned = 0
        if self._start == len(buffer):
            buffer.clear()
            self._start = 0
        return line[:-1] if line.endswith(b"\r") else line

    def _fail_oversize(self) -> None:
        self._failed = True
        head = bytes(self._buffer[self._start : self._start + 4096])
        number = self._line_number + 1
        custom_id = _custom_id_from(head)
        self._buffer = bytearray()
        self._start = 0
        raise BatchResultsError(
            f"results line {number}{_naming(custom_id)} is longer than {self._max_line_size} bytes",
            line_number=number,
            custom_id=custom_id,
        )

    def _parse(self, line: bytes) -> MessageBatchIndividualResponse:
        try:
            return MessageBatchIndividualResponse.model_validate_json(line)
        except ValidationError as exc:
            custom_id = _custom_id_from(line)
            preview = line[:200].decode("utf-8", "replace")
            raise BatchResultsError(
                f"results line {self._line_number}{_naming(custom_id)} is not a batch "
                f"result: {_short(exc)}",
                line_number=self._line_number,
                custom_id=custom_id,
                body=preview,
            ) from None


def _naming(custom_id: str | None) -> str:
    return f" (custom_id {custom_id!r})" if custom_id is not None else ""
