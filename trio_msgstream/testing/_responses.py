"""Scripted responses of the fake server: status, headers, body, chunking and faults.

This module knows nothing about sockets. A :class:`ScriptedResponse` says what to send
and how to break it (drops, resets, stalls, pings while stalled); the server plays it.
The message-shaped constructors take their events from ``_transcripts``.
"""

from __future__ import annotations

import dataclasses
import http
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._sse import (
    JSON_CONTENT_TYPE,
    SSE_CONTENT_TYPE,
    chunked,
    compact_json,
    looks_like_sse,
    split_events,
    sse_bytes,
)
from ._transcripts import (
    DEFAULT_MODEL,
    text_transcript,
    thinking_transcript,
    tool_use_transcript,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "ScriptedResponse",
]

_DEFAULT_ERROR_MESSAGES = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Permission denied",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Rate limited",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}

_REASONS = {429: "Too Many Requests", 529: "Overloaded"}


def _has_header(headers: Iterable[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


@dataclass
class ScriptedResponse:
    """One scripted HTTP response of the fake server, including injected faults.

    Build one with a convenience constructor (:meth:`text`, :meth:`error`, ...) or directly.
    When ``headers`` has no ``content-type`` one is inferred from the body (SSE bodies get
    ``text/event-stream; charset=utf-8`` and ``cache-control: no-cache``, bodies starting with
    ``{`` get ``application/json``). The server always adds a unique ``request-id`` header
    when absent.

    Framing: SSE bodies (and any response with explicit ``chunks`` or ``stall_pings_every``)
    are sent with ``Transfer-Encoding: chunked``; everything else with ``Content-Length``.
    Override with ``chunked_encoding``.

    Attributes:
        status: HTTP status code.
        headers: Extra response headers as ``(name, value)`` pairs.
        body: The full response body.
        chunks: Explicit network chunks (each is sent with its own write). ``None`` means one
            chunk per SSE event for SSE bodies and a single chunk otherwise. If given while
            ``body`` is empty, ``body`` becomes their concatenation; otherwise they must
            concatenate to ``body``.
        chunk_delay: Seconds to ``trio.sleep`` between chunks (virtual time under MockClock).
        drop_after_bytes: Send this many body bytes, then abort the connection without the
            terminating zero-length chunk (the client sees an incomplete chunked read). Values
            beyond the body length send the whole body first.
        drop_with_reset: When dropping, reset the TCP connection (``SO_LINGER`` 0, the peer
            typically gets ``ECONNRESET``) instead of closing it gracefully with a FIN.
        stall_after_bytes: After this many body bytes, stall.
        stall_seconds: How long to stall; ``math.inf`` stalls until the client disconnects
            or the server is stopped. Afterwards the rest of the body is sent.
        stall_pings_every: While stalled, send an ``event: ping`` every this many seconds
            (ignored if ``chunked_encoding`` is forced to ``False``). Place the stall at an
            event boundary so that the pings do not land inside another event.
        chunked_encoding: Force (``True``) or forbid (``False``) chunked transfer encoding;
            ``None`` picks automatically as described above.
        reason: HTTP reason phrase; derived from the status when ``None``.
        ping_bytes: What one ping of ``stall_pings_every`` writes (``None``: an SSE
            ``event: ping``; another framing, such as Bedrock's, sends its own).
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None
    chunk_delay: float = 0.0
    drop_after_bytes: int | None = None
    drop_with_reset: bool = False
    stall_after_bytes: int | None = None
    stall_seconds: float = 0.0
    stall_pings_every: float | None = None
    chunked_encoding: bool | None = None
    reason: str | None = None
    ping_bytes: bytes | None = None

    def __post_init__(self) -> None:
        if self.chunks is not None:
            joined = b"".join(self.chunks)
            if not self.body:
                self.body = joined
            elif joined != self.body:
                raise ValueError("chunks must concatenate to body")
        if self.chunk_delay < 0 or self.stall_seconds < 0:
            raise ValueError("delays must be >= 0")
        if self.stall_pings_every is not None and self.stall_pings_every <= 0:
            raise ValueError("stall_pings_every must be > 0")
        for name in ("drop_after_bytes", "stall_after_bytes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0")

    # ---- derived properties used by the server

    @property
    def content_type(self) -> str:
        """The effective content type (explicit header, else inferred from the body)."""
        for key, value in self.headers:
            if key.lower() == "content-type":
                return value
        stripped = self.body.lstrip()
        if stripped.startswith((b"{", b"[")):
            return JSON_CONTENT_TYPE
        if looks_like_sse(self.body) or (not self.body and self.status == 200):
            return SSE_CONTENT_TYPE
        return "text/plain; charset=utf-8"

    @property
    def is_sse(self) -> bool:
        """Whether the body is served as ``text/event-stream``."""
        return self.content_type.lower().startswith("text/event-stream")

    @property
    def uses_chunked_encoding(self) -> bool:
        """Whether the body is sent with ``Transfer-Encoding: chunked``."""
        if self.chunked_encoding is not None:
            return self.chunked_encoding
        return self.is_sse or self.chunks is not None or self.stall_pings_every is not None

    @property
    def reason_phrase(self) -> str:
        """The HTTP reason phrase sent on the status line."""
        if self.reason is not None:
            return self.reason
        if self.status in _REASONS:
            return _REASONS[self.status]
        try:
            return http.HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def effective_headers(self) -> list[tuple[str, str]]:
        """Headers to send, with ``content-type``/``cache-control`` defaults filled in.

        ``request-id`` and the framing headers are added by the server.
        """
        headers = list(self.headers)
        if not _has_header(headers, "content-type"):
            headers.append(("content-type", self.content_type))
        if self.is_sse and not _has_header(headers, "cache-control"):
            headers.append(("cache-control", "no-cache"))
        return headers

    def network_chunks(self) -> list[bytes]:
        """The body cut into the chunks that are written one by one."""
        if self.chunks is not None:
            return [c for c in self.chunks if c]
        if self.is_sse:
            return split_events(self.body)
        return [self.body] if self.body else []

    # ---- convenience constructors

    @classmethod
    def events(
        cls, events: Iterable[Mapping[str, Any] | tuple[str, Any]], **kwargs: Any
    ) -> ScriptedResponse:
        """A 200 SSE response made of the given events (see :func:`sse_bytes`).

        Args:
            events: Event mappings or ``(name, payload)`` tuples.
            **kwargs: Other :class:`ScriptedResponse` fields (faults, ``chunk_delay``, ...).

        Returns:
            The scripted response.
        """
        kwargs.setdefault(
            "headers", [("content-type", SSE_CONTENT_TYPE), ("cache-control", "no-cache")]
        )
        return cls(body=sse_bytes(events), **kwargs)

    @classmethod
    def text(
        cls,
        text: str,
        *,
        model: str = DEFAULT_MODEL,
        chunk_size_words: int = 1,
        input_tokens: int = 12,
        stop_reason: str = "end_turn",
        stop_sequence: str | None = None,
        message_id: str | None = None,
        **kwargs: Any,
    ) -> ScriptedResponse:
        """A complete streamed message with one text block.

        Args:
            text: The assistant text, streamed as ``text_delta`` pieces.
            model: Model name in ``message_start``.
            chunk_size_words: Words per ``text_delta``.
            input_tokens: ``usage.input_tokens`` in ``message_start``.
            stop_reason: ``stop_reason`` in ``message_delta``.
            stop_sequence: ``stop_sequence`` in ``message_delta``.
            message_id: Message id; derived deterministically from the text when ``None``.
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response.
        """
        events = text_transcript(
            text,
            model=model,
            chunk_size_words=chunk_size_words,
            input_tokens=input_tokens,
            stop_reason=stop_reason,
            stop_sequence=stop_sequence,
            message_id=message_id,
        )
        return cls.events(events, **kwargs)

    @classmethod
    def tool_use(
        cls,
        name: str,
        input: Mapping[str, Any],
        *,
        text: str | None = None,
        model: str = DEFAULT_MODEL,
        tool_use_id: str | None = None,
        json_chunk_size: int = 8,
        input_tokens: int = 120,
        message_id: str | None = None,
        **kwargs: Any,
    ) -> ScriptedResponse:
        """A streamed message that calls a tool (``stop_reason`` ``"tool_use"``).

        Args:
            name: Tool name.
            input: Tool input; its JSON is streamed as ``input_json_delta`` pieces.
            text: Optional text block sent before the tool call.
            model: Model name in ``message_start``.
            tool_use_id: Tool use id; derived deterministically when ``None``.
            json_chunk_size: Characters per ``partial_json`` piece.
            input_tokens: ``usage.input_tokens`` in ``message_start``.
            message_id: Message id; derived deterministically when ``None``.
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response.
        """
        events = tool_use_transcript(
            name,
            input,
            text=text,
            model=model,
            tool_use_id=tool_use_id,
            json_chunk_size=json_chunk_size,
            input_tokens=input_tokens,
            message_id=message_id,
        )
        return cls.events(events, **kwargs)

    @classmethod
    def thinking(
        cls,
        thinking: str,
        text: str,
        *,
        model: str = DEFAULT_MODEL,
        signature: str | None = None,
        input_tokens: int = 40,
        message_id: str | None = None,
        **kwargs: Any,
    ) -> ScriptedResponse:
        """A streamed message with a thinking block followed by a text block.

        Args:
            thinking: Thinking text, streamed as ``thinking_delta`` pieces (a few words each).
            text: Answer text, streamed as word-sized ``text_delta`` pieces.
            model: Model name in ``message_start``.
            signature: Value of the ``signature_delta``; derived from ``thinking`` when ``None``.
            input_tokens: ``usage.input_tokens`` in ``message_start``.
            message_id: Message id; derived deterministically when ``None``.
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response.
        """
        events = thinking_transcript(
            thinking,
            text,
            model=model,
            signature=signature,
            input_tokens=input_tokens,
            message_id=message_id,
        )
        return cls.events(events, **kwargs)

    @classmethod
    def sse_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> ScriptedResponse:
        """Replay a recorded ``.sse`` file byte for byte (one chunk per event).

        Args:
            path: File holding a raw ``text/event-stream`` body.
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response.
        """
        with open(path, "rb") as fh:
            body = fh.read()
        kwargs.setdefault(
            "headers", [("content-type", SSE_CONTENT_TYPE), ("cache-control", "no-cache")]
        )
        return cls(body=body, **kwargs)

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str,
        message: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> ScriptedResponse:
        """A JSON error response, e.g. ``429 rate_limit_error`` with ``retry-after``.

        Args:
            status: HTTP status code.
            error_type: ``error.type``, e.g. ``"overloaded_error"``.
            message: ``error.message``; a typical message for the type when ``None``.
            headers: Extra headers such as ``("retry-after", "2")``,
                ``("retry-after-ms", "1500")`` or ``("x-should-retry", "false")``.
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response (``content-type: application/json``, ``Content-Length``).
        """
        if message is None:
            message = _DEFAULT_ERROR_MESSAGES.get(error_type, error_type)
        body = {"type": "error", "error": {"type": error_type, "message": message}}
        return cls(
            status=status,
            headers=[("content-type", JSON_CONTENT_TYPE), *headers],
            body=compact_json(body).encode("utf-8"),
            **kwargs,
        )

    @classmethod
    def html(cls, status: int = 502, **kwargs: Any) -> ScriptedResponse:
        """An HTML error page like the ones proxies return (``content-type: text/html``).

        Args:
            status: HTTP status code.
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response.
        """
        title = f"{status} {cls(status=status).reason_phrase}".strip()
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return cls(
            status=status,
            headers=[("content-type", "text/html")],
            body=page.encode("ascii"),
            **kwargs,
        )

    @classmethod
    def garbage(cls, n_bytes: int, seed: int = 0, **kwargs: Any) -> ScriptedResponse:
        """A 200 response with an SSE content type but a body of pseudo-random bytes.

        Args:
            n_bytes: Body length.
            seed: Seed of the byte generator (same seed, same bytes).
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response (chunked encoding, 512-byte chunks unless ``chunks`` given).
        """
        body = random.Random(seed).randbytes(n_bytes)
        kwargs.setdefault("chunks", chunked(body, range(512, n_bytes, 512)))
        return cls(
            headers=[("content-type", SSE_CONTENT_TYPE), ("cache-control", "no-cache")],
            body=body,
            **kwargs,
        )

    @classmethod
    def pings_only(cls, count: int, interval: float = 1.0, **kwargs: Any) -> ScriptedResponse:
        """A 200 SSE stream of ``count`` ping events, ``interval`` seconds apart, then EOF.

        Args:
            count: Number of ``event: ping`` events.
            interval: Seconds between pings (``chunk_delay``).
            **kwargs: Other :class:`ScriptedResponse` fields.

        Returns:
            The scripted response.
        """
        kwargs.setdefault("chunk_delay", interval)
        return cls.events([{"type": "ping"}] * count, **kwargs)

    @classmethod
    def error_event_after(
        cls,
        k: int,
        events_or_response: Sequence[Mapping[str, Any]] | ScriptedResponse,
        error_type: str = "overloaded_error",
        message: str | None = None,
        **kwargs: Any,
    ) -> ScriptedResponse:
        """Send the first ``k`` events of a stream, then an ``event: error`` and end it.

        Args:
            k: Number of events to send before the error.
            events_or_response: Event mappings, or an SSE :class:`ScriptedResponse` whose raw
                events are reused byte for byte (its other fields are kept).
            error_type: ``error.type`` of the error event.
            message: ``error.message``; a typical message for the type when ``None``.
            **kwargs: Other :class:`ScriptedResponse` fields (override the source's).

        Returns:
            The scripted response.
        """
        if message is None:
            message = _DEFAULT_ERROR_MESSAGES.get(error_type, error_type)
        error_event = sse_bytes(
            [{"type": "error", "error": {"type": error_type, "message": message}}]
        )
        if isinstance(events_or_response, ScriptedResponse):
            head = b"".join(split_events(events_or_response.body)[:k])
            return dataclasses.replace(
                events_or_response, body=head + error_event, chunks=None, **kwargs
            )
        return cls.events(
            [
                *events_or_response[:k],
                {"type": "error", "error": {"type": error_type, "message": message}},
            ],
            **kwargs,
        )
