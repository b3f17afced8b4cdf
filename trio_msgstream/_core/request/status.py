"""Turning an error response into the right typed exception, and reading a response's
request id. Pure (sans-IO).

The request id is the one header every answer names itself by: ``request-id`` from
the first-party API (and Vertex AI, Foundry), ``x-amzn-requestid`` from Amazon
Bedrock. :data:`REQUEST_ID_HEADERS` lists them and :func:`request_id_of` reads them;
every place that puts a request id on a response, a typed error or a stream reads it
through here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..exceptions import APIStatusError, error_code_of, status_error_class

__all__ = ["MAX_ERROR_BODY", "REQUEST_ID_HEADERS", "request_id_of", "status_error"]

MAX_ERROR_BODY = 64 * 1024
"""Bytes of an error response body that are read; the rest is discarded."""

REQUEST_ID_HEADERS: tuple[str, ...] = ("request-id", "x-amzn-requestid")
"""The response headers that carry the request id, in order of preference: the
first-party API's, then Amazon Bedrock's."""


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The request id a response's ``headers`` carry (see :data:`REQUEST_ID_HEADERS`),
    or ``None``. ``headers`` may be case-insensitive (``httpx.Headers``) or a plain
    mapping in any case."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    if isinstance(headers, dict):  # a plain dict: its keys may be in any case
        lowered: dict[str, str] = {str(k).lower(): v for k, v in headers.items()}
        for name in REQUEST_ID_HEADERS:
            value = lowered.get(name)
            if value:
                return value
    return None


def status_error(
    status_code: int,
    body: bytes,
    *,
    request_id: str | None,
    response: Any = None,
    request: Any = None,
    workspace_id: str | None = None,
) -> APIStatusError:
    """The :class:`APIStatusError` subclass for a non-2xx response: by its status,
    refined by ``error.details.error_code`` (``RampLimitExceededError``, ...).

    The message is the API's ``error.message`` when the body is the usual JSON error
    object, otherwise a short, bounded preview of the body (an HTML error page from a
    proxy, say).
    """
    text = body.decode("utf-8", "replace")
    decoded: object = text
    error_type: str | None = None
    detail = ""
    try:
        decoded = json.loads(text) if text else None
    except ValueError:
        decoded = text
    if isinstance(decoded, dict):
        error = decoded.get("error")
        if isinstance(error, dict):
            error_type = error.get("type") if isinstance(error.get("type"), str) else None
            message = error.get("message")
            detail = message if isinstance(message, str) else ""
        elif isinstance(decoded.get("message"), str):
            detail = decoded["message"]  # AWS's error body (Amazon Bedrock)
    if not detail:
        preview = " ".join(text.split())
        detail = preview[:200] + ("..." if len(preview) > 200 else "")
    cls = status_error_class(status_code, error_code_of(decoded))
    message = f"Error code: {status_code}" + (f" - {error_type}" if error_type else "")
    if detail:
        message += f": {detail}"
    return cls(
        message,
        status_code=status_code,
        request_id=request_id,
        type=error_type,
        response=response,
        request=request,
        body=decoded,
        workspace_id=workspace_id,
    )
