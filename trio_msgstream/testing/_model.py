"""The fake model: deterministic answers for requests nobody scripted.

:func:`default_responder` reads a Messages request the way the API would (prompt,
tools, thinking, ``max_tokens``, ``stop_sequences``, ``stream``) and answers with a
short, friendly, reproducible message, so demos and tests run without a key.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ._responses import ScriptedResponse
from ._sse import JSON_CONTENT_TYPE, compact_json
from ._transcripts import (
    Block,
    estimate_tokens,
    message_events,
    message_from_events,
    signature_for,
    stable_id,
    text_block,
    thinking_block,
    tool_block,
    tool_json_pieces,
    word_pieces,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._routes import RecordedRequest

__all__ = ["default_responder"]


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

    blocks: list[Block] = []
    output_tokens = 0
    if wants_thinking:
        thinking = (
            f"The user wrote {len(prompt.split())} words. "
            "They want a short, friendly reply, so I will answer directly.\n"
            + ("I should call the tool first." if tool is not None else "No tools are needed.")
        )
        blocks.append(thinking_block(word_pieces(thinking, 4), signature_for(thinking)))
        output_tokens += len(word_pieces(thinking))

    pieces = word_pieces(answer)
    if len(pieces) > max_tokens:
        pieces = pieces[:max_tokens]
        stop_reason, stop_sequence, tool = "max_tokens", None, None
    if pieces:
        blocks.append(text_block(pieces))
    output_tokens += len(pieces)

    if tool is not None:
        tool_input = _example_value(tool.get("input_schema", {"type": "object"}))
        input_json = json.dumps(tool_input, sort_keys=True)
        tool_id = stable_id("toolu_", tool["name"], input_json, prompt)
        blocks.append(tool_block(tool_id, tool["name"], tool_json_pieces(tool_input, 6)))
        output_tokens += estimate_tokens(input_json) + 10

    events = message_events(
        model=model,
        blocks=blocks,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=_request_text_size(body) // 4 + 8,
        output_tokens=max(1, output_tokens),
        message_id=stable_id("msg_", "demo", request.body.decode("utf-8", "replace")),
    )
    if body.get("stream"):
        return ScriptedResponse.events(events)
    message = message_from_events(events)
    return ScriptedResponse(
        headers=[("content-type", JSON_CONTENT_TYPE)],
        body=compact_json(message).encode("utf-8"),
    )
