"""Wire-shaped refusal-fallback streams and a harness that runs them on both clients.

The streams are synthetic but shaped as the API sends them: ``STREAM_A`` refuses after
a thinking block and a partial text block and mints a credit token with a prefill
claim; ``STREAM_B`` is the fallback's complete answer; ``STREAM_A_TOOL`` refuses after a
server tool call and its result. :class:`Both` runs one operation on the async client
(in the test's task) or the sync client (in a worker thread) against the test's fake
server, so every case is written once.
"""

from __future__ import annotations

import json
from typing import Any

import trio
from _shared import API_KEY

import trio_msgstream as tms
from trio_msgstream.middleware import BetaFallbackState
from trio_msgstream.testing import FakeAnthropicServer, ScriptedResponse, sse_bytes

PRIMARY = "claude-fable-5"
FALLBACK = "claude-opus-4-8"
SECOND = "claude-sonnet-4-6"
FALLBACKS: list[dict[str, Any]] = [{"model": FALLBACK}]
TWO_FALLBACKS: list[dict[str, Any]] = [{"model": FALLBACK}, {"model": SECOND}]
PARAMS: dict[str, Any] = {
    "model": PRIMARY,
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "What is a solar eclipse?"}],
}
TOOL_ID = "srvtoolu_01"


def start(model: str = PRIMARY, message_id: str = "msg_a") -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        },
    }


def block(index: int, content_block: dict[str, Any], *deltas: dict[str, Any]) -> list[Any]:
    return [
        {"type": "content_block_start", "index": index, "content_block": content_block},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def text(index: int, value: str) -> list[Any]:
    return block(index, {"type": "text", "text": ""}, {"type": "text_delta", "text": value})


def thinking(index: int, value: str, signature: str | None = "sig==") -> list[Any]:
    deltas: list[dict[str, Any]] = [{"type": "thinking_delta", "thinking": value}]
    if signature is not None:
        deltas.append({"type": "signature_delta", "signature": signature})
    return block(index, {"type": "thinking", "thinking": "", "signature": ""}, *deltas)


def tool_use(index: int, query: str, tool_id: str = TOOL_ID) -> list[Any]:
    use = {"type": "server_tool_use", "id": tool_id, "name": "web_search", "input": {}}
    piece = json.dumps({"query": query})
    return block(
        index,
        use,
        {"type": "input_json_delta", "partial_json": piece[:9]},
        {"type": "input_json_delta", "partial_json": piece[9:]},
    )


def tool_result(index: int, tool_id: str = TOOL_ID) -> list[Any]:
    result = {
        "type": "web_search_tool_result",
        "tool_use_id": tool_id,
        "content": [
            {
                "type": "web_search_result",
                "url": "https://example.com",
                "title": "x",
                "encrypted_content": "e",
                "page_age": None,
            }
        ],
    }
    return block(index, result)


def refusal(token: str | None = "tok_a", claim: bool = True, **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {
            "stop_reason": "refusal",
            "stop_sequence": None,
            "stop_details": {
                "type": "refusal",
                "category": None,
                "explanation": None,
                "fallback_credit_token": token,
                "fallback_has_prefill_claim": claim if token is not None else None,
            },
        },
        "usage": {"output_tokens": 20, "iterations": [{"type": "message", "output_tokens": 20}]}
        | usage,
    }


def end(stop_reason: str = "end_turn") -> list[Any]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]


STOP = {"type": "message_stop"}
PING = {"type": "ping"}

STREAM_A: list[Any] = [
    start(),
    *thinking(0, "A plain question about astronomy."),
    PING,
    *text(1, "Hi"),
    refusal(),
    STOP,
]
STREAM_B: list[Any] = [start(FALLBACK, "msg_b"), *text(0, " there! Happy to explain."), *end()]
STREAM_A_TOOL: list[Any] = [
    start(),
    *tool_use(0, "solar eclipse viewing safety"),
    *tool_result(1),
    *text(2, "Based on that, "),
    refusal(),
    STOP,
]


def hop_refusal(token: str | None = "tok_b", claim: bool = True) -> list[Any]:
    """A fallback hop that writes one text block, then refuses with a fresh token."""
    return [start(FALLBACK, "msg_h"), *text(0, "Partial from B. "), refusal(token, claim), STOP]


def serving(model: str = FALLBACK, message_id: str = "msg_b") -> list[Any]:
    return [start(model, message_id), *text(0, "Happy to help."), *end()]


def sse(events: list[Any]) -> ScriptedResponse:
    return ScriptedResponse(body=sse_bytes(events))


def message(model: str, **fields: Any) -> ScriptedResponse:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
        **fields,
    }
    return ScriptedResponse(body=json.dumps(body).encode())


def refused(model: str, token: str | None = None, category: str | None = None) -> ScriptedResponse:
    details = {
        "type": "refusal",
        "category": category,
        "explanation": None,
        "fallback_credit_token": token,
    }
    return message(model, stop_reason="refusal", stop_details=details)


class Both:
    """One operation on the ``kind`` client against ``server`` (``max_retries=0``)."""

    def __init__(self, kind: str, server: FakeAnthropicServer) -> None:
        self.kind = kind
        self.server = server

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [request.json for request in self.server.requests]

    @property
    def betas(self) -> list[str | None]:
        return [request.header("anthropic-beta") for request in self.server.requests]

    async def run(
        self,
        middleware: list[Any],
        operation: str,
        *,
        state: BetaFallbackState | None = None,
        surface: str = "beta",
        read: int | None = None,
        **params: Any,
    ) -> Any:
        """``operation``: ``create`` (the message), ``events`` (the raw stream's events;
        with ``read``, that many then close) or ``final`` (``messages.stream``'s final
        message)."""
        params = {**PARAMS, **params}
        options: dict[str, Any] = dict(
            base_url=self.server.base_url, api_key=API_KEY, max_retries=0, middleware=middleware
        )
        if self.kind == "async":
            async with tms.AsyncClient(**options) as client:
                messages = client.beta.messages if surface == "beta" else client.messages
                if state is None:
                    return await _async_op(messages, operation, read, params)
                with state:
                    return await _async_op(messages, operation, read, params)

        def in_thread() -> Any:
            sync_options = {**options, "middleware": [_sync_twin(m) for m in middleware]}
            with tms.Client(**sync_options) as client:
                messages = client.beta.messages if surface == "beta" else client.messages
                if state is None:
                    return _sync_op(messages, operation, read, params)
                with state:
                    return _sync_op(messages, operation, read, params)

        return await trio.to_thread.run_sync(in_thread)


def _sync_twin(middleware: Any) -> Any:
    # A test's async function middleware has a ``sync`` attribute: its twin.
    return getattr(middleware, "sync", middleware)


async def _async_op(messages: Any, operation: str, read: int | None, params: Any) -> Any:
    if operation == "create":
        return await messages.create(**params)
    if operation == "final":
        async with messages.stream(**params) as stream:
            return await stream.get_final_message()
    events = []
    async with await messages.create(**params, stream=True) as raw:
        async for event in raw:
            events.append(event)
            if read is not None and len(events) == read:
                break
    return events


def _sync_op(messages: Any, operation: str, read: int | None, params: Any) -> Any:
    if operation == "create":
        return messages.create(**params)
    if operation == "final":
        with messages.stream(**params) as stream:
            return stream.get_final_message()
    events = []
    with messages.create(**params, stream=True) as raw:
        for event in raw:
            events.append(event)
            if read is not None and len(events) == read:
                break
    return events


def block_starts(events: list[Any]) -> list[tuple[int, str]]:
    return [(e.index, e.content_block.type) for e in events if e.type == "content_block_start"]


def seams(events: list[Any]) -> list[tuple[str, str]]:
    return [
        (e.content_block.from_.model, e.content_block.to.model)
        for e in events
        if e.type == "content_block_start" and e.content_block.type == "fallback"
    ]


def iterations(event: Any) -> list[tuple[str, str | None]]:
    return [(i.type, i.model) for i in (event.usage.iterations or [])]


def skeleton(events: list[Any]) -> list[str]:
    out = []
    for event in events:
        if event.type == "content_block_start":
            out.append(f"start[{event.index}] {event.content_block.type}")
        elif event.type == "content_block_delta":
            out.append(f"delta[{event.index}] {event.delta.type}")
        elif event.type == "content_block_stop":
            out.append(f"stop[{event.index}]")
        elif event.type == "message_delta":
            out.append(f"message_delta {event.delta.stop_reason} iter={iterations(event)}")
        else:
            out.append(event.type)
    return out
