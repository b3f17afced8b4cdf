"""The one exception hierarchy of trio_msgstream.

This module is part of the sans-IO core: it imports neither trio nor httpx, so the
SSE decoder and the accumulator can raise these errors too. The httpx glue translates
transport errors into these classes at the boundary (``raise ... from exc``).

Class names follow the official SDK so that ported ``except`` clauses keep working::

    MsgStreamError
     └── APIError                      (message, request, body, partial_message)
          ├── APIStatusError           (status_code, request_id, type, response, mid_stream)
          │    ├── BadRequestError            400
          │    ├── AuthenticationError        401
          │    ├── PermissionDeniedError      403
          │    ├── NotFoundError              404
          │    ├── ConflictError              409
          │    ├── RequestTooLargeError       413
          │    ├── UnprocessableEntityError   422
          │    ├── RateLimitError             429
          │    ├── InternalServerError        >= 500
          │    │    ├── ServiceUnavailableError   503
          │    │    └── DeadlineExceededError     504
          │    └── OverloadedError            529
          ├── APIConnectionError       (the response never completed)
          │    ├── APITimeoutError          (.which: connect, read, content_idle, deadline)
          │    └── IncompleteStreamError    (EOF or reset before ``message_stop``)
          └── StreamProtocolError      (malformed SSE/JSON, bad block index, oversize
                                        event, wrong content-type)

``trio.Cancelled`` is never wrapped: cancellation always propagates as itself.

Every error raised after ``message_start`` carries ``partial_message``: the message
accumulated so far, with incomplete tool input kept as raw text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .models import Message

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DeadlineExceededError",
    "IncompleteStreamError",
    "InternalServerError",
    "MsgStreamError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "ServiceUnavailableError",
    "StreamClosedError",
    "StreamProtocolError",
    "UnprocessableEntityError",
    "TimeoutKind",
    "status_error_class",
    "error_class_for_type",
]

TimeoutKind = Literal["connect", "read", "write", "pool", "content_idle", "deadline"]


class MsgStreamError(Exception):
    """Base class of every error this library raises (never of ``trio.Cancelled``)."""


class StreamClosedError(MsgStreamError):
    """The stream was closed (``close()``) before its message was complete, and its
    message was asked for. The async client's is also a ``trio.ClosedResourceError``."""


class APIError(MsgStreamError):
    """An error talking to the Messages API.

    Attributes:
        message: A human-readable description. Never contains the API key.
        request: The ``httpx.Request`` that failed, when there was one.
        body: The decoded error body (JSON object) or raw text, when there was one.
        partial_message: The message accumulated before the failure, or ``None`` when
            the failure came before ``message_start``.
    """

    message: str
    request: Any
    body: object | None
    partial_message: Message | None

    def __init__(
        self,
        message: str,
        *,
        request: Any = None,
        body: object | None = None,
        partial_message: Message | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        self.partial_message = partial_message


class APIStatusError(APIError):
    """The API answered with an error: a non-2xx status, or an ``error`` event mid-stream.

    Attributes:
        status_code: The HTTP status, or for a mid-stream error event the status its
            ``error.type`` stands for (``overloaded_error`` -> 529).
        request_id: The ``request-id`` response header, when present.
        type: The API's ``error.type`` (``"overloaded_error"``, ...), when known.
        response: The ``httpx.Response``, when there was one.
        mid_stream: ``True`` when the error arrived as an SSE ``error`` event inside a
            ``200`` stream rather than as the response status.
    """

    status_code: int
    request_id: str | None
    type: str | None
    response: Any
    mid_stream: bool

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        type: str | None = None,
        response: Any = None,
        mid_stream: bool = False,
        request: Any = None,
        body: object | None = None,
        partial_message: Message | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body, partial_message=partial_message)
        self.status_code = status_code
        self.request_id = request_id
        self.type = type
        self.response = response
        self.mid_stream = mid_stream


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: no such resource (or model)."""


class ConflictError(APIStatusError):
    """409: a conflict; retried by default."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is over the API's size limit."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429 or a mid-stream ``rate_limit_error``."""


class InternalServerError(APIStatusError):
    """5xx or a mid-stream ``api_error``."""


class ServiceUnavailableError(InternalServerError):
    """503."""


class DeadlineExceededError(InternalServerError):
    """504: the API's own deadline passed."""


class OverloadedError(APIStatusError):
    """529 or a mid-stream ``overloaded_error``."""


class APIConnectionError(APIError):
    """The connection failed or the response did not complete."""


class APITimeoutError(APIConnectionError):
    """A timeout fired.

    Attributes:
        which: The limit that fired: ``"connect"``, ``"read"`` (no bytes for too long),
            ``"write"``, ``"pool"``, ``"content_idle"`` (no non-ping event for too long)
            or ``"deadline"`` (the overall limit).
    """

    which: TimeoutKind

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        which: TimeoutKind,
        request: Any = None,
        body: object | None = None,
        partial_message: Message | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body, partial_message=partial_message)
        self.which = which


class IncompleteStreamError(APIConnectionError):
    """The stream ended (EOF, reset, truncated chunked body) before ``message_stop``."""


class StreamProtocolError(APIError):
    """The server sent something that is not a valid Messages event stream.

    Malformed SSE or JSON, a delta for a block that was never started, an oversize
    event, or a non-SSE content type such as an HTML error page.
    """


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
    504: DeadlineExceededError,
    529: OverloadedError,
}

# error.type (in an error body or a mid-stream ``error`` event) -> (class, status)
_TYPE_CLASSES: dict[str, tuple[type[APIStatusError], int]] = {
    "invalid_request_error": (BadRequestError, 400),
    "authentication_error": (AuthenticationError, 401),
    "billing_error": (PermissionDeniedError, 402),
    "permission_error": (PermissionDeniedError, 403),
    "not_found_error": (NotFoundError, 404),
    "request_too_large": (RequestTooLargeError, 413),
    "rate_limit_error": (RateLimitError, 429),
    "api_error": (InternalServerError, 500),
    "timeout_error": (DeadlineExceededError, 504),
    "overloaded_error": (OverloadedError, 529),
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP status code."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is not None:
        return cls
    if status_code >= 500:
        return InternalServerError
    return APIStatusError


def error_class_for_type(error_type: str | None) -> tuple[type[APIStatusError], int]:
    """The error class and nominal status for an API ``error.type`` string.

    Unknown types map to :class:`APIStatusError` with a nominal status of 500;
    callers keep the real ``type`` on the error.
    """
    if error_type is not None and error_type in _TYPE_CLASSES:
        return _TYPE_CLASSES[error_type]
    return APIStatusError, 500
