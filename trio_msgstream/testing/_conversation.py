"""Scripted multi-turn conversations for the fake server: test your agent loops.

A :class:`Conversation` is a responder (``open_fake_anthropic(responder=conv)``) that
answers each request with the next step of a script. A step is a
:class:`ScriptedResponse`, or a function that sees the request as a
:class:`ConversationTurn` (its messages, the tool results the agent sent back, the
tools it offers) and returns the response, so a test can check what the agent sent
and script what the model says next::

    conv = Conversation(
        tool_calls_response([("get_weather", {"city": "Paris"})]),
        lambda turn: text_response(f"It is {turn.tool_result_text()}."),
    )
    async with open_fake_anthropic(responder=conv) as server:
        ...
    assert conv.turns[1].tool_results  # what the agent answered

Every step answers in the form the request asked for: an event stream, or with
``"stream": false`` the same reply as one JSON message (folded from the events by the
library's own sans-IO engine). Requests beyond the script get a 500 ``api_error`` whose
message says so, unless a ``fallback`` responder is given.

:func:`tool_calls_response` scripts a turn with several tool calls (parallel tool use)
and :func:`json_response` a structured-output reply whose JSON arrives in small pieces.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._core.stream.engine import StreamEngine
from ._responses import ScriptedResponse
from ._server import RecordedRequest, Responder
from ._transcripts import (
    DEFAULT_MODEL,
    Block,
    _fixed_pieces,
    message_events,
    text_block,
    tool_block,
    tool_json_pieces,
)

__all__ = [
    "Conversation",
    "ConversationTurn",
    "json_response",
    "tool_calls_response",
]

Step = ScriptedResponse | Callable[["ConversationTurn"], ScriptedResponse]
"""One step of a conversation: a response, or a function of the request."""


@dataclass(frozen=True)
class ConversationTurn:
    """One request of a conversation, as the responder saw it.

    Attributes:
        index: The request's number in the conversation, from 0.
        request: The request as recorded by the server.
    """

    index: int
    request: RecordedRequest

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body (``{}`` when it was not a JSON object)."""
        body = self.request.json
        return body if isinstance(body, dict) else {}

    @property
    def stream(self) -> bool:
        """Whether the request asked for an event stream."""
        return bool(self.body.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation sent."""
        messages = self.body.get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered."""
        tools = self.body.get("tools") or []
        return [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]

    @property
    def last_message(self) -> dict[str, Any] | None:
        """The last message of the conversation sent."""
        return self.messages[-1] if self.messages else None

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The ``tool_result`` blocks of the last message, in order."""
        last = self.last_message
        content = last.get("content") if last is not None else None
        if not isinstance(content, list):
            return []
        return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]

    def tool_result(self, tool_use_id: str) -> dict[str, Any]:
        """The ``tool_result`` block answering ``tool_use_id``.

        Raises:
            KeyError: The last message has no result for it.
        """
        for block in self.tool_results:
            if block.get("tool_use_id") == tool_use_id:
                return block
        raise KeyError(tool_use_id)

    def tool_result_text(self, tool_use_id: str | None = None) -> str:
        """The text of a tool result (the first one when no id is given)."""
        results = self.tool_results if tool_use_id is None else [self.tool_result(tool_use_id)]
        if not results:
            raise KeyError("the last message has no tool_result")
        content = results[0].get("content", "")
        if isinstance(content, list):
            return "".join(b.get("text", "") for b in content if isinstance(b, dict))
        return str(content)


class Conversation:
    """A responder that answers each request with the next step of a script.

    Args:
        *steps: Responses, or functions from :class:`ConversationTurn` to response.
        fallback: Answers the requests beyond the script (default: a 500 error).

    Attributes:
        turns: Every request answered so far, in order.
    """

    def __init__(self, *steps: Step, fallback: Responder | None = None) -> None:
        self._steps: list[Step] = list(steps)
        self._fallback = fallback
        self._lock = threading.Lock()
        self.turns: list[ConversationTurn] = []

    def add(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        """Steps not used yet."""
        with self._lock:
            return max(0, len(self._steps) - len(self.turns))

    def __call__(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            turn = ConversationTurn(len(self.turns), request)
            self.turns.append(turn)
            step = self._steps[turn.index] if turn.index < len(self._steps) else None
        if step is None:
            if self._fallback is not None:
                return self._fallback(request)
            return ScriptedResponse.error(
                500, "api_error", f"Conversation: no step for request {turn.index + 1}"
            )
        response = step(turn) if callable(step) else step
        if not turn.stream and response.status == 200 and response.is_sse:
            return _as_json(response)
        return response


def tool_calls_response(
    calls: Sequence[tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], str]],
    *,
    text: str | None = None,
    model: str = DEFAULT_MODEL,
    json_chunk_size: int = 8,
    stop_reason: str = "tool_use",
    message_id: str | None = None,
    **kwargs: Any,
) -> ScriptedResponse:
    """A streamed turn calling several tools (parallel tool use).

    Args:
        calls: ``(name, input)`` or ``(name, input, tool_use_id)`` per call; ids
            default to ``toolu_<n>`` (numbered from 1 within the turn).
        text: A text block before the calls.
        model: Model name in ``message_start``.
        json_chunk_size: Characters per ``input_json_delta``.
        stop_reason: ``stop_reason`` of the turn.
        message_id: The message id (default ``msg_tools``).
        **kwargs: Other :class:`ScriptedResponse` fields (``chunk_delay``...).
    """
    blocks: list[Block] = []
    if text is not None:
        blocks.append(text_block([text]))
    for n, call in enumerate(calls, start=1):
        name, tool_input = call[0], call[1]
        tool_id = call[2] if len(call) > 2 else f"toolu_{n}"
        blocks.append(tool_block(tool_id, name, tool_json_pieces(tool_input, json_chunk_size)))
    return ScriptedResponse.events(
        _events(blocks, model=model, stop_reason=stop_reason, message_id=message_id or "msg_tools"),
        **kwargs,
    )


def json_response(
    value: Any,
    *,
    chunk_size: int = 8,
    stop_reason: str = "end_turn",
    model: str = DEFAULT_MODEL,
    message_id: str | None = None,
    raw: str | None = None,
    **kwargs: Any,
) -> ScriptedResponse:
    """A streamed structured-output reply: ``value`` as JSON in one text block,
    ``chunk_size`` characters per ``text_delta``.

    Args:
        value: The output (dumped with ``json.dumps``).
        chunk_size: Characters per text delta.
        stop_reason: ``stop_reason`` of the turn (``"max_tokens"`` to script a cut).
        model: Model name in ``message_start``.
        message_id: The message id (default ``msg_json``).
        raw: Send this text instead of ``value``'s JSON (for invalid replies).
        **kwargs: Other :class:`ScriptedResponse` fields (``chunk_delay``...).
    """
    text = raw if raw is not None else json.dumps(value, ensure_ascii=False)
    blocks = [text_block(_fixed_pieces(text, chunk_size))]
    return ScriptedResponse.events(
        _events(blocks, model=model, stop_reason=stop_reason, message_id=message_id or "msg_json"),
        **kwargs,
    )


def _events(
    blocks: Sequence[Block], *, model: str, stop_reason: str, message_id: str
) -> list[dict[str, Any]]:
    return message_events(
        model=model,
        blocks=blocks,
        stop_reason=stop_reason,
        input_tokens=10,
        output_tokens=5 + sum(len(block.deltas) for block in blocks),
        message_id=message_id,
        ping=False,
    )


def _as_json(response: ScriptedResponse) -> ScriptedResponse:
    """The non-streaming form of a scripted event stream: one JSON message."""
    engine = StreamEngine()
    engine.receive_data(response.body)
    engine.receive_eof()
    message = engine.snapshot()
    if message is None:
        return ScriptedResponse.error(500, "api_error", "Conversation: the step has no message")
    body = message.model_dump_json().encode("utf-8")
    return ScriptedResponse(headers=[("content-type", "application/json")], body=body)
