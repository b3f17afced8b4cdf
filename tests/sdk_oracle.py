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
