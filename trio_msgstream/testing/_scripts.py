"""Response scripts for the fake Anthropic server.

This module knows nothing about sockets: it builds :class:`ScriptedResponse` objects
(status, headers, body, how the body is cut into network chunks, and which faults to
inject), encodes Server-Sent Events the way the Messages API does, and provides the
deterministic :func:`default_responder` used when no script is queued.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http
import itertools
import json
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

    from ._server import RecordedRequest

from .._core.model_names import DEFAULT_MODEL as _CURRENT_DEFAULT_MODEL

__all__ = [
    "DEFAULT_MODEL",
    "ScriptedResponse",
    "chunked",
    "default_responder",
    "error_response",
    "events_response",
    "replay_sse_file",
    "split_events",
    "sse_bytes",
    "text_response",
    "thinking_response",
    "tool_use_response",
]

DEFAULT_MODEL = _CURRENT_DEFAULT_MODEL
"""Model name reported by canned responses when none is given (a current model)."""

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"

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

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------- encoding


def _compact_json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def sse_bytes(events: Iterable[Mapping[str, Any] | tuple[str, Mapping[str, Any] | str]]) -> bytes:
    """Encode events as a ``text/event-stream`` body.

    Args:
        events: Each item is either a mapping, encoded as ``event: <d["type"]>`` followed by
            ``data: <compact JSON>``, or a ``(name, payload)`` tuple giving the event name
            explicitly. In a tuple, a mapping payload is JSON-encoded and a string payload is
            sent verbatim as the data (one ``data:`` line per line of the string), which lets
            you send malformed JSON on purpose.

    Returns:
        The UTF-8 encoded body; every event is terminated by a blank line (``\\n\\n``).

    Raises:
        ValueError: If a mapping has no string ``"type"`` key.

    Example:
        >>> sse_bytes([{"type": "ping"}, ("error", "not json")])
        b'event: ping\\ndata: {"type":"ping"}\\n\\nevent: error\\ndata: not json\\n\\n'
    """
    parts: list[str] = []
    for item in events:
        if isinstance(item, tuple):
            name, payload = item
            data = payload if isinstance(payload, str) else _compact_json(payload)
        else:
            name = item.get("type")  # type: ignore[assignment]
            if not isinstance(name, str):
                raise ValueError(f"event mapping without a string 'type': {item!r}")
            data = _compact_json(item)
        lines = data.split("\n")
        parts.append(f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n")
    return "".join(parts).encode("utf-8")


def chunked(data: bytes, splits: Sequence[int]) -> list[bytes]:
    """Split ``data`` at the given byte offsets.

    Args:
        data: The bytes to split.
        splits: Absolute offsets into ``data`` (any order, duplicates allowed). Offsets ``0``
            and ``len(data)`` are accepted and produce no empty pieces.

    Returns:
        The non-empty pieces, in order; ``b"".join(result) == data``.

    Raises:
        ValueError: If an offset is outside ``0..len(data)``.

    Example:
        >>> chunked(b"abcdef", [2, 3])
        [b'ab', b'c', b'def']
    """
    points = sorted(set(splits))
    for point in points:
        if not 0 <= point <= len(data):
            raise ValueError(f"split offset {point} outside 0..{len(data)}")
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def split_events(data: bytes) -> list[bytes]:
    """Split an SSE body into one chunk per event, as the real API sends it.

    Each piece ends right after the blank line that terminates an event (``\\n\\n`` or
    ``\\r\\n\\r\\n``). Trailing bytes without a terminating blank line form a last piece.

    Args:
        data: A ``text/event-stream`` body.

    Returns:
        The non-empty pieces, in order; ``b"".join(result) == data``.
    """
    return chunked(data, [m.end() for m in _BLANK_LINE.finditer(data)])


def _looks_like_sse(body: bytes) -> bool:
    return body.startswith((b"event:", b"data:", b":", b"id:", b"retry:"))


# --------------------------------------------------------------------------- ids & tokens


def _stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    number = int.from_bytes(digest[:20], "big")
    chars = []
    for _ in range(22):
        number, rem = divmod(number, 62)
        chars.append(_BASE62[rem])
    return prefix + "01" + "".join(chars)


def _estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _word_pieces(text: str, words_per_piece: int = 1) -> list[str]:
    """Cut text into word-sized pieces, each carrying its leading whitespace."""
    if words_per_piece < 1:
        raise ValueError("words_per_piece must be >= 1")
    words = re.findall(r"\s*\S+", text)
    if not words:
        return [text] if text else []
    tail = text[sum(len(w) for w in words) :]
    words[-1] += tail
    return ["".join(words[i : i + words_per_piece]) for i in range(0, len(words), words_per_piece)]


def _fixed_pieces(text: str, size: int) -> list[str]:
    if size < 1:
        raise ValueError("piece size must be >= 1")
    return [text[i : i + size] for i in range(0, len(text), size)]


# --------------------------------------------------------------------------- event building


@dataclass
class _Block:
    start: dict[str, Any]
    deltas: list[dict[str, Any]]


def _text_block(pieces: Sequence[str]) -> _Block:
    return _Block(
        {"type": "text", "text": ""},
        [{"type": "text_delta", "text": piece} for piece in pieces],
    )


def _tool_block(tool_id: str, name: str, json_pieces: Sequence[str]) -> _Block:
    return _Block(
        {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        [{"type": "input_json_delta", "partial_json": piece} for piece in json_pieces],
    )


def _thinking_block(pieces: Sequence[str], signature: str) -> _Block:
    deltas: list[dict[str, Any]] = [{"type": "thinking_delta", "thinking": p} for p in pieces]
    deltas.append({"type": "signature_delta", "signature": signature})
    return _Block({"type": "thinking", "thinking": "", "signature": ""}, deltas)


def _signature_for(thinking: str) -> str:
    digest = hashlib.sha256(("signature\x00" + thinking).encode("utf-8")).digest()
    return base64.b64encode(b"\x12\x0c" + digest + digest[:16]).decode("ascii")


def _tool_json_pieces(tool_input: Any, piece_size: int) -> list[str]:
    text = json.dumps(tool_input, ensure_ascii=False)
    # The real API starts every tool_use block with an empty partial_json delta.
    return ["", *_fixed_pieces(text, piece_size)]


def _message_events(
    *,
    model: str,
    blocks: Sequence[_Block],
    stop_reason: str | None,
    stop_sequence: str | None = None,
    input_tokens: int,
    output_tokens: int,
    message_id: str,
    ping: bool = True,
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
    ]
    for index, block in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block.start})
        if ping and index == 0:
            events.append({"type": "ping"})
        for delta in block.deltas:
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    if ping and not blocks:
        events.append({"type": "ping"})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
            "usage": {"output_tokens": output_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _accumulate_message(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold streaming events into the equivalent non-streaming Message object."""
    message: dict[str, Any] = {}
    partial_json: dict[int, str] = {}
    for event in events:
        kind = event["type"]
        if kind == "message_start":
            message = json.loads(json.dumps(event["message"]))
        elif kind == "content_block_start":
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            index = event["index"]
            block = message["content"][index]
            delta = event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial_json[index] = partial_json.get(index, "") + delta["partial_json"]
        elif kind == "content_block_stop":
            index = event["index"]
            if index in partial_json:
                text = partial_json.pop(index)
                message["content"][index]["input"] = json.loads(text) if text else {}
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"].update(event["usage"])
    return message


# --------------------------------------------------------------------------- ScriptedResponse


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
        if _looks_like_sse(self.body) or (not self.body and self.status == 200):
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
        pieces = _word_pieces(text, chunk_size_words)
        events = _message_events(
            model=model,
            blocks=[_text_block(pieces)],
            stop_reason=stop_reason,
            stop_sequence=stop_sequence,
            input_tokens=input_tokens,
            output_tokens=max(1, len(_word_pieces(text))),
            message_id=message_id or _stable_id("msg_", "text", model, text),
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
        input_json = json.dumps(input, ensure_ascii=False, sort_keys=True)
        blocks: list[_Block] = []
        output_tokens = _estimate_tokens(input_json) + 10
        if text:
            blocks.append(_text_block(_word_pieces(text)))
            output_tokens += len(_word_pieces(text))
        tool_id = tool_use_id or _stable_id("toolu_", name, input_json)
        blocks.append(_tool_block(tool_id, name, _tool_json_pieces(input, json_chunk_size)))
        events = _message_events(
            model=model,
            blocks=blocks,
            stop_reason="tool_use",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            message_id=message_id
            or _stable_id("msg_", "tool", model, name, input_json, text or ""),
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
        thinking_pieces = _word_pieces(thinking, 4)
        text_pieces = _word_pieces(text)
        events = _message_events(
            model=model,
            blocks=[
                _thinking_block(thinking_pieces, signature or _signature_for(thinking)),
                _text_block(text_pieces),
            ],
            stop_reason="end_turn",
            input_tokens=input_tokens,
            output_tokens=len(_word_pieces(thinking)) + len(text_pieces),
            message_id=message_id or _stable_id("msg_", "thinking", model, thinking, text),
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
            body=_compact_json(body).encode("utf-8"),
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


# --------------------------------------------------------------------------- module helpers


def text_response(text: str, **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.text`.

    Args:
        text: The assistant text.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.text`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.text(text, **kwargs)


def tool_use_response(name: str, input: Mapping[str, Any], **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.tool_use`.

    Args:
        name: Tool name.
        input: Tool input.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.tool_use`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.tool_use(name, input, **kwargs)


def thinking_response(thinking: str, text: str, **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.thinking`.

    Args:
        thinking: Thinking text.
        text: Answer text.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.thinking`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.thinking(thinking, text, **kwargs)


def events_response(
    events: Iterable[Mapping[str, Any] | tuple[str, Any]], **kwargs: Any
) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.events`.

    Args:
        events: Event mappings or ``(name, payload)`` tuples.
        **kwargs: Other :class:`ScriptedResponse` fields.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.events(events, **kwargs)


def error_response(
    status: int, error_type: str, message: str | None = None, **kwargs: Any
) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.error`.

    Args:
        status: HTTP status code.
        error_type: ``error.type``.
        message: ``error.message``.
        **kwargs: Keyword arguments of :meth:`ScriptedResponse.error`.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.error(status, error_type, message, **kwargs)


def replay_sse_file(path: str | os.PathLike[str], **kwargs: Any) -> ScriptedResponse:
    """Shortcut for :meth:`ScriptedResponse.sse_file`.

    Args:
        path: File holding a raw ``text/event-stream`` body.
        **kwargs: Other :class:`ScriptedResponse` fields.

    Returns:
        The scripted response.
    """
    return ScriptedResponse.sse_file(path, **kwargs)


# --------------------------------------------------------------------------- default responder


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


def _last_user_turn(messages: list[Any]) -> tuple[str, list[str]]:
    """Return (prompt text, tool result texts) of the last user message."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        tool_results: list[str] = []
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    tool_results.append(_block_text(block.get("content", "")))
        return _block_text(content), tool_results
    return "", []


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _compose_answer(prompt: str, tool_results: list[str]) -> str:
    if tool_results:
        result = _snippet(" ".join(tool_results), 120) or "(empty)"
        return (
            f"Thanks, I got the tool result: {result}. "
            "Based on that, everything looks good. Let me know if you need anything else!"
        )
    words = prompt.split()
    match = re.match(r"(?is)^\s*say\s+(.+?)\s*$", prompt)
    if match and match.group(1).strip(" .!?"):
        phrase = match.group(1).strip().rstrip(".!?")
        opening = phrase[0].upper() + phrase[1:] + "!"
    elif not words:
        opening = "Hello!"
    else:
        opening = "Thanks for your message!"
    plural = "" if len(words) == 1 else "s"
    return (
        f'{opening} You wrote {len(words)} word{plural}: "{_snippet(prompt)}". '
        "This is a deterministic reply from the trio_msgstream fake server. Have a great day!"
    )


def _example_value(schema: Any, depth: int = 0) -> Any:
    if not isinstance(schema, dict) or depth > 5:
        return "example"
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return _example_value(options[0], depth + 1)
        if "properties" in schema:
            kind = "object"
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        return [_example_value(schema.get("items", {"type": "string"}), depth + 1)]
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {name: _example_value(sub, depth + 1) for name, sub in properties.items()}
    return "example"


def _pick_tool(body: Mapping[str, Any]) -> dict[str, Any] | None:
    tools = [
        t for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
    ]
    if not tools:
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        if choice.get("type") == "none":
            return None
        if choice.get("type") == "tool":
            named = [t for t in tools if t["name"] == choice.get("name")]
            return named[0] if named else None
    return tools[0]


def _invalid(message: str) -> ScriptedResponse:
    return ScriptedResponse.error(400, "invalid_request_error", message)


def _request_text_size(body: Mapping[str, Any]) -> int:
    total = 0
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            content = message.get("content")
            total += len(content) if isinstance(content, str) else len(json.dumps(content))
    system = body.get("system")
    if system is not None:
        total += len(system) if isinstance(system, str) else len(json.dumps(system))
    if body.get("tools"):
        total += len(json.dumps(body["tools"]))
    return total


def default_responder(request: RecordedRequest) -> ScriptedResponse:
    """The fake server's deterministic demo responder, used when no script is queued.

    It answers the last user message (string content or a list of blocks) with a short,
    friendly text built from the prompt: ``"Say hello there!"`` gets
    ``"Hello there! You wrote 3 words: ..."``. The same request always gets the same bytes.

    Behaviour:

    * The text is streamed in word-sized ``text_delta`` events, with a ``ping`` after the
      first ``content_block_start``; ``message_start.message.model`` echoes the request.
    * ``usage.input_tokens`` is estimated from the request size (about 4 characters per
      token); ``output_tokens`` counts the streamed pieces.
    * ``max_tokens`` cuts the text after that many words (``stop_reason`` ``"max_tokens"``).
    * ``stop_sequences``: the text is cut before the first member it contains, or after the
      first sentence if only the prompt contains one (``stop_reason`` ``"stop_sequence"``).
    * With ``tools`` (and ``tool_choice`` not ``none``), a short text block is followed by a
      ``tool_use`` block calling the first tool (or the one named by ``tool_choice``) with an
      input built from its ``input_schema`` (strings ``"example"``, numbers ``1``, booleans
      ``true``, first ``enum`` value, ...), streamed as ``input_json_delta`` pieces
      (``stop_reason`` ``"tool_use"``). If the last user message carries ``tool_result``
      blocks, it answers with text instead, so agent loops terminate.
    * With ``thinking: {"type": "enabled", ...}``, a thinking block (``thinking_delta``
      pieces and a ``signature_delta``) comes first.
    * With ``"stream": false`` (or absent) it returns the equivalent JSON Message.
    * Requests without a JSON object body, ``model``, ``messages`` or ``max_tokens`` get a
      ``400 invalid_request_error``.

    Args:
        request: The recorded request.

    Returns:
        The response to serve.
    """
    body = request.json
    if not isinstance(body, dict):
        return _invalid("Request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _invalid("model: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _invalid("messages: Field required")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return _invalid("max_tokens: Field required")

    prompt, tool_results = _last_user_turn(messages)
    tool = None if tool_results else _pick_tool(body)
    thinking_cfg = body.get("thinking")
    wants_thinking = isinstance(thinking_cfg, dict) and thinking_cfg.get("type") == "enabled"

    answer = _compose_answer(prompt, tool_results)
    if tool is not None:
        answer = f"I'll use the {tool['name']} tool to help with that."

    stop_reason = "tool_use" if tool is not None else "end_turn"
    stop_sequence: str | None = None
    sequences = [s for s in body.get("stop_sequences") or [] if isinstance(s, str) and s]
    hits = [(answer.find(s), s) for s in sequences if s in answer]
    if hits:
        position, stop_sequence = min(hits)
        answer = answer[:position]
        stop_reason, tool = "stop_sequence", None
    else:
        prompt_hits = [s for s in sequences if s in prompt]
        if prompt_hits:
            stop_sequence = prompt_hits[0]
            first_sentence = re.match(r".*?[.!?](?=\s|$)", answer)
            answer = first_sentence.group(0) if first_sentence else answer
            stop_reason, tool = "stop_sequence", None

    blocks: list[_Block] = []
    output_tokens = 0
    if wants_thinking:
        thinking = (
            f"The user wrote {len(prompt.split())} words. "
            "They want a short, friendly reply, so I will answer directly.\n"
            + ("I should call the tool first." if tool is not None else "No tools are needed.")
        )
        blocks.append(_thinking_block(_word_pieces(thinking, 4), _signature_for(thinking)))
        output_tokens += len(_word_pieces(thinking))

    pieces = _word_pieces(answer)
    if len(pieces) > max_tokens:
        pieces = pieces[:max_tokens]
        stop_reason, stop_sequence, tool = "max_tokens", None, None
    if pieces:
        blocks.append(_text_block(pieces))
    output_tokens += len(pieces)

    if tool is not None:
        tool_input = _example_value(tool.get("input_schema", {"type": "object"}))
        input_json = json.dumps(tool_input, sort_keys=True)
        tool_id = _stable_id("toolu_", tool["name"], input_json, prompt)
        blocks.append(_tool_block(tool_id, tool["name"], _tool_json_pieces(tool_input, 6)))
        output_tokens += _estimate_tokens(input_json) + 10

    events = _message_events(
        model=model,
        blocks=blocks,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=_request_text_size(body) // 4 + 8,
        output_tokens=max(1, output_tokens),
        message_id=_stable_id("msg_", "demo", request.body.decode("utf-8", "replace")),
    )
    if body.get("stream"):
        return ScriptedResponse.events(events)
    message = _accumulate_message(events)
    return ScriptedResponse(
        headers=[("content-type", JSON_CONTENT_TYPE)],
        body=_compact_json(message).encode("utf-8"),
    )
