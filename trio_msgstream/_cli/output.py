"""What the CLI prints: JSON lines, error messages with their cause, stats, notes.

stdout carries the answers (text, or JSON lines); everything else goes to stderr.
"""

from __future__ import annotations

import html
import json
import logging
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pydantic

from .._core.batches.models import BatchWaitTimeout
from .._core.config import Timeout
from .._core.exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IncompleteStreamError,
    MsgStreamError,
    StreamProtocolError,
)
from .._core.schema.model_names import deprecation_notice
from .._core.schema.models import Message, TextBlock
from .._core.stream.events import MessageStreamEvent
from .._core.stream.handlers import is_api_event
from .options import EXIT_API_ERROR, EXIT_TIMEOUT

__all__ = [
    "ErrorContext",
    "RetryNotices",
    "describe_error",
    "err",
    "event_to_json",
    "exit_code_for",
    "format_stats",
    "is_wire_event",
    "max_tokens_note",
    "message_text",
    "model_notices",
]

PROG = "trio-msgstream"


def err(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


@contextmanager
def model_notices(models: Iterable[str], say: Callable[[str], None]) -> Iterator[None]:
    """Say once, as one line, that a model is deprecated, and keep the library's
    :class:`DeprecationWarning` for it quiet for the block: a CLI user gets a notice,
    not a Python warning with a file path and a source line."""
    with warnings.catch_warnings():
        for model in dict.fromkeys(models):
            notice = deprecation_notice(model)
            if notice is not None:
                say(f"warning: {notice}")
                # The library warns with this very text (one source: deprecation_notice).
                warnings.filterwarnings("ignore", re.escape(notice), DeprecationWarning)
        yield


# --------------------------------------------------------------------------- JSON lines


def is_wire_event(event: MessageStreamEvent) -> bool:
    """Whether an event is one the API sent (``text``, ``input_json``, ``thinking``,
    ``signature`` and ``citation`` events are derived from those, and are not)."""
    return is_api_event(event)


def event_to_json(event: MessageStreamEvent) -> str:
    """A wire event as one compact JSON object (no spaces, no ``null`` fields).

    ``content_block_stop`` carries the finished ``content_block`` and ``message_stop``
    the accumulated ``message``, as the library's events do.
    """
    assert isinstance(event, pydantic.BaseModel)
    return event.model_dump_json(exclude_none=True)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def message_text(message: Message) -> str:
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


# --------------------------------------------------------------------------- errors


@dataclass
class ErrorContext:
    """What the CLI knows around a failure, to say what happened."""

    host: str | None = None
    elapsed: float | None = None
    """Seconds from the start of the request (retries included) to the failure."""
    attempts: int | None = None
    limits: Timeout | None = None


_TIMEOUT_PHASES = {
    "connect": "connecting to {host}",
    "read": "reading from {host} (no bytes arrived)",
    "write": "sending the request to {host}",
    "pool": "waiting for a free connection to {host}",
    "content_idle": "waiting for content from {host} (no event but pings)",
    "deadline": "waiting for {host}: the whole request took too long",
}

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def _html_title(body: object) -> str | None:
    """The title of an HTML page (``""`` when it has none); ``None`` when not HTML."""
    if not isinstance(body, str):
        return None
    head = body.lstrip()[:512].lower()
    if not (head.startswith("<!doctype html") or "<html" in head or "<title" in head):
        return None
    match = _TITLE.search(body)
    if match is None:
        return ""
    return " ".join(html.unescape(match.group(1)).split())[:200]


def _attempts(context: ErrorContext) -> str:
    """`` (after 3 attempts, 2.3 s in all)`` when the request was retried, else ``""``."""
    if context.attempts is None or context.attempts < 2:
        return ""
    text = f" (after {context.attempts} attempts"
    if context.elapsed is not None:
        text += f", {context.elapsed:.1f} s in all"
    return text + ")"


def describe_error(exc: BaseException, context: ErrorContext | None = None) -> str:
    """A one-line description of an error with its cause, never a dump."""
    context = context or ErrorContext()
    host = context.host or "the server"
    if isinstance(exc, BatchWaitTimeout):
        # Not a slow server: the batch did not end in time. Its own message says so.
        text = exc.message
    elif isinstance(exc, APITimeoutError):
        phase = _TIMEOUT_PHASES.get(exc.which, "waiting for {host}").format(host=host)
        limit = getattr(context.limits, exc.which, None) if context.limits else None
        text = f"timed out {phase}"
        if limit is not None:
            text += f": {exc.which} timeout of {limit:g} s"
        else:
            text += f": {exc.which} timeout"
        parts = []
        if context.attempts is not None:
            plural = "s" if context.attempts != 1 else ""
            parts.append(f"{context.attempts} attempt{plural}")
        if context.elapsed is not None:
            parts.append(f"gave up after {context.elapsed:.1f} s")
        if parts:
            text += f" ({', '.join(parts)})"
    elif isinstance(exc, IncompleteStreamError):
        text = f"the stream from {host} broke off: {exc.message}" + _attempts(context)
    elif isinstance(exc, APIConnectionError):
        detail = exc.message.removeprefix("connection error:").strip()
        if not detail and exc.__cause__ is not None:
            detail = str(exc.__cause__) or type(exc.__cause__).__name__
        text = f"cannot reach {host}: {detail or 'connection failed'}" + _attempts(context)
    elif isinstance(exc, APIStatusError):
        title = _html_title(exc.body)
        if title is not None:
            text = f"HTTP {exc.status_code} from {host}: an HTML error page"
            if title:
                text += f' titled "{title}"'
        else:
            text = exc.message
            if exc.mid_stream:
                text = f"error event mid-stream: {text}"
        if exc.request_id:
            text += f" (request id {exc.request_id})"
        text += _attempts(context)
    elif isinstance(exc, StreamProtocolError):
        title = _html_title(exc.body)
        if title is not None:
            text = f"{host} answered with an HTML page, not an event stream"
            if title:
                text += f' (titled "{title}")'
        else:
            text = exc.message
    elif isinstance(exc, MsgStreamError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def exit_code_for(exc: BaseException) -> int:
    return EXIT_TIMEOUT if isinstance(exc, APITimeoutError) else EXIT_API_ERROR


def max_tokens_note(message: Message | None, max_tokens: int) -> str | None:
    """The stderr note for an answer cut at the token limit, else ``None``."""
    if message is None or message.stop_reason != "max_tokens":
        return None
    return (
        f"note: the answer stopped at the max_tokens limit ({max_tokens} tokens); "
        "raise --max-tokens for a longer one"
    )


# --------------------------------------------------------------------------- stats


@dataclass
class Timing:
    started: float
    first_text: float | None = None
    ended: float | None = None


def format_stats(
    message: Message | None,
    timing: Timing,
    request_id: str | None,
    *,
    label: str = "",
) -> str:
    """The ``--stats`` line: time to first token, tokens/s, usage, request id."""
    end = timing.ended if timing.ended is not None else timing.started
    parts = [f"stats{label}:"]
    if timing.first_text is not None:
        parts.append(f"ttft={timing.first_text - timing.started:.3f}s")
    else:
        parts.append("ttft=n/a")
    parts.append(f"total={end - timing.started:.3f}s")
    usage = message.usage if message is not None else None
    if usage is not None:
        output = usage.output_tokens
        streaming_time = end - (timing.first_text if timing.first_text is not None else end)
        if output and streaming_time > 0:
            parts.append(f"tokens/s={output / streaming_time:.1f}")
        else:
            parts.append("tokens/s=n/a")
        parts.append(f"input_tokens={usage.input_tokens}")
        parts.append(f"output_tokens={output}")
        for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            value = getattr(usage, name, None)
            if value:
                parts.append(f"{name}={value}")
    if message is not None and message.stop_reason:
        parts.append(f"stop_reason={message.stop_reason}")
    parts.append(f"request_id={request_id or 'n/a'}")
    return " ".join(parts)


# --------------------------------------------------------------------------- retries


class RetryNotices(logging.Handler):
    """Reads the library's structured log records (logger ``trio_msgstream``): says
    each retry on stderr as it is decided, and keeps the attempts of the last request.
    """

    def __init__(self, say: Callable[[str], None] | None) -> None:
        super().__init__(logging.DEBUG)
        self._say = say
        self.attempts: int | None = None
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "trio_msgstream", None)
        if not isinstance(fields, dict):
            return
        if fields.get("event") == "retry":
            self.retries += 1
            self.attempts = int(fields.get("attempt", 0)) + 1
            if self._say is not None:
                self._say(
                    f"attempt {fields.get('attempt')} of {fields.get('attempt_limit')} failed "
                    f"({fields.get('error_type')}); retrying in {fields.get('delay', 0):.2f} s"
                )
        elif fields.get("event") == "end" and isinstance(fields.get("attempts"), int):
            self.attempts = fields["attempts"]

    def __enter__(self) -> RetryNotices:
        logger = logging.getLogger("trio_msgstream")
        self._level = logger.level
        if logger.getEffectiveLevel() > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        logger = logging.getLogger("trio_msgstream")
        logger.removeHandler(self)
        logger.setLevel(self._level)
