"""The official SDK as a test-only oracle: the request body it sends for given calls.

The SDK talks to a mock transport of its HTTP library that records the request and answers with
a canned message, so nothing leaves the process.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

CANNED_MESSAGE = {
    "id": "msg_oracle",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5-5",
    "content": [{"type": "text", "text": "{}"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}


def sdk_request_body(method: str, **kwargs: Any) -> dict[str, Any]:
    """The JSON body the SDK sends for ``client.<method>(**kwargs)``
    (``method`` like ``"messages.create"`` or ``"beta.messages.parse"``)."""
    import anthropic
    import httpx2  # the SDK's own copy of httpx

    bodies: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=CANNED_MESSAGE)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = anthropic.Anthropic(
            api_key="sk-oracle", base_url="http://oracle", http_client=http
        )
        target: Any = client
        for part in method.split("."):
            target = getattr(target, part)
        try:
            with warnings.catch_warnings():  # e.g. the SDK's model deprecation notices
                warnings.simplefilter("ignore")
                target(**kwargs)
        except Exception as exc:  # the canned reply may not validate; only the request matters
            if not bodies:
                raise
            del exc
    assert len(bodies) == 1, bodies
    return bodies[0]


def sdk_input_json_snapshots(
    body: bytes, *, betas: list[str] | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """What the SDK's streaming helper shows for an SSE ``body``: the ``snapshot`` of
    every ``input_json`` event, and the final message's dump. With ``betas`` the
    request goes through ``client.beta.messages.stream(betas=...)``."""
    import anthropic
    import httpx2

    def handler(request: Any) -> Any:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    snapshots: list[Any] = []
    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = anthropic.Anthropic(
            api_key="sk-oracle", base_url="http://oracle", http_client=http
        )
        params: dict[str, Any] = {
            "model": "claude-sonnet-5-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manager: Any = (
                client.beta.messages.stream(betas=betas, **params)
                if betas is not None
                else client.messages.stream(**params)
            )
            with manager as stream:
                for event in stream:
                    if event.type == "input_json":
                        snapshots.append(json.loads(json.dumps(event.snapshot)))
                final = stream.get_final_message()
    return snapshots, final.model_dump(mode="json", exclude_none=True)
