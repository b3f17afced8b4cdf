"""Request parameters are typed: a misspelt key or a wrong message shape is an error.

Each ``# type: ignore[...]`` marks an error both checkers must report; mypy's
``warn_unused_ignores`` (strict) and pyright's ``reportUnnecessaryTypeIgnoreComment``
fail the check if the error goes away.
"""

from __future__ import annotations

from trio_msgstream.types import MessageCountTokensParams, MessageCreateParams

GOOD: MessageCreateParams = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 1024,
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is in this file?"}]},
        {"role": "assistant", "content": "Let me look."},
    ],
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "tools": [
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
    ],
    "tool_choice": {"type": "auto"},
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "metadata": {"user_id": "u-1"},
    "stop_sequences": ["END"],
}

COUNT: MessageCountTokensParams = {"model": "claude-sonnet-5-5", "messages": []}

M = "claude-sonnet-5-5"

# One statement per line, so that both checkers report on the line that carries the
# expected error.
# fmt: off
TYPO: MessageCreateParams = {"model": M, "max_token": 1, "messages": []}  # type: ignore[typeddict-item, typeddict-unknown-key]

MISSING: MessageCreateParams = {"model": M, "messages": []}  # type: ignore[typeddict-item]

BAD_TURN: MessageCreateParams = {"model": M, "max_tokens": 1, "messages": [{"role": "user", "contnt": "hi"}]}  # type: ignore[list-item]  # noqa: E501

BAD_ROLE: MessageCreateParams = {"model": M, "max_tokens": 1, "messages": [{"role": "robot", "content": "hi"}]}  # type: ignore[list-item, misc]  # noqa: E501

BAD_BLOCK: MessageCreateParams = {"model": M, "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "txt", "text": "hi"}]}]}  # type: ignore[list-item, misc]  # noqa: E501

BAD_TOOL_CHOICE: MessageCreateParams = {"model": M, "max_tokens": 1, "messages": [], "tool_choice": {"type": "sometimes"}}  # type: ignore[typeddict-item, misc]  # noqa: E501
# fmt: on
