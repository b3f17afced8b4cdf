"""Fake token counting and models endpoints for the fake Anthropic server.

Theory of operation: :class:`FakeModels` and :class:`FakeTokenCounter` add routes to a
running :class:`~trio_msgstream.testing.FakeAnthropicServer` (``add_route``), so a test
decides what the endpoints answer and inspects ``server.requests`` as for messages:

- ``POST /v1/messages/count_tokens``: a deterministic estimate (about four characters
  a token over the system prompt, messages and tools), or what ``count`` returns;
- ``GET /v1/models`` with ``limit``/``after_id``/``before_id`` paging, and
  ``GET /v1/models/{model_id}``: the models given (by default, current Claude
  models), ``404 not_found_error`` for an unknown id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from ._responses import ScriptedResponse
from ._server import FakeAnthropicServer, RecordedRequest

__all__ = ["DEFAULT_FAKE_MODELS", "FakeModels", "FakeTokenCounter", "estimate_input_tokens"]

DEFAULT_FAKE_MODELS: tuple[tuple[str, str], ...] = (
    ("claude-opus-4-6", "Claude Opus 4.6"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6"),
    ("claude-haiku-4-5", "Claude Haiku 4.5"),
)
"""``(id, display_name)`` of the models :class:`FakeModels` lists by default."""


def _json(status: int, payload: object) -> ScriptedResponse:
    return ScriptedResponse(
        status=status,
        headers=[("content-type", "application/json")],
        body=json.dumps(payload).encode(),
    )


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    """About four characters a token over ``system``, ``messages`` and ``tools``
    (deterministic, so tests can assert it)."""
    size = len(json.dumps(body.get("system", ""))) + len(json.dumps(body.get("messages", [])))
    size += len(json.dumps(body.get("tools", [])))
    return max(1, size // 4)


class FakeTokenCounter:
    """``POST /v1/messages/count_tokens`` on ``server``.

    Args:
        server: The fake server to add the route to.
        count: The answer for a request body (default :func:`estimate_input_tokens`).
    """

    def __init__(
        self,
        server: FakeAnthropicServer,
        count: Callable[[Mapping[str, Any]], int] = estimate_input_tokens,
    ) -> None:
        self._count = count
        server.add_route("POST", "/v1/messages/count_tokens", self._answer)

    def _answer(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        body = request.json
        if not isinstance(body, dict) or "model" not in body or "messages" not in body:
            return ScriptedResponse.error(
                400, "invalid_request_error", "model and messages are required"
            )
        return _json(200, {"input_tokens": self._count(body)})


class FakeModels:
    """``GET /v1/models`` and ``GET /v1/models/{model_id}`` on ``server``.

    Args:
        server: The fake server to add the routes to.
        models: The models, newest first: mappings with at least ``id`` (the other
            fields of a model get defaults). Default: :data:`DEFAULT_FAKE_MODELS`.
    """

    def __init__(
        self, server: FakeAnthropicServer, models: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        if models is None:
            models = [{"id": id_, "display_name": name} for id_, name in DEFAULT_FAKE_MODELS]
        self.models: list[dict[str, Any]] = [
            {
                "type": "model",
                "display_name": model["id"],
                "created_at": "2026-01-01T00:00:00Z",
                "lifecycle": "active",
                **model,
            }
            for model in models
        ]
        server.add_route("GET", "/v1/models", self._list)
        server.add_route("GET", "/v1/models/{model_id}", self._retrieve)

    def _retrieve(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        for model in self.models:
            if model["id"] == params["model_id"]:
                return _json(200, model)
        return ScriptedResponse.error(404, "not_found_error", f"model: {params['model_id']}")

    def _list(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        query = dict(parse_qsl(request.query))
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            return ScriptedResponse.error(400, "invalid_request_error", "limit: not a number")
        if not 1 <= limit <= 1000:
            return ScriptedResponse.error(400, "invalid_request_error", "limit: 1 to 1000")
        ids = [model["id"] for model in self.models]
        start, end = 0, len(ids)
        if "after_id" in query:
            start = ids.index(query["after_id"]) + 1 if query["after_id"] in ids else end
        if "before_id" in query:
            end = ids.index(query["before_id"]) if query["before_id"] in ids else 0
            start = max(start, end - limit)
        page = self.models[start : min(end, start + limit)]
        has_more = start + limit < end if "before_id" not in query else start > 0
        return _json(
            200,
            {
                "data": page,
                "has_more": has_more,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            },
        )
