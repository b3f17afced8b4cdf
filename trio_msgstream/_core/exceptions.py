"""The one exception hierarchy of trio_msgstream.

This module is part of the sans-IO core: it imports neither trio nor httpx, so the
SSE decoder and the accumulator can raise these errors too. The httpx glue translates
transport errors into these classes at the boundary (``raise ... from exc``).

Class names follow the official SDK so that ported ``except`` clauses keep working::

    MsgStreamError
     ├── UnsupportedEndpointError      (the cloud platform lacks it; raised before sending)
     ├── ClientClosedError             (a request on a closed client; a RuntimeError too)
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
          ├── StreamProtocolError      (malformed SSE/JSON, bad block index, oversize
          │                             event, wrong content-type, corrupt frame)
          └── UsageLimitExceeded       (a UsageLimits budget passed; .usage, .limit)

Every other error name the official SDK exports exists too: ``AnthropicError`` (an
alias of ``MsgStreamError``), ``PaymentRequiredError`` 402 (a ``PermissionDeniedError``),
``RequestTimeoutError`` 408, ``PreconditionFailedError`` 412, ``ContentTooLargeError``
(= ``RequestTooLargeError``), ``RequestHeaderFieldsTooLargeError`` 431,
``ClientClosedRequestError`` 499, ``HTTPNotImplementedError`` 501, ``GatewayTimeoutError``
(= ``DeadlineExceededError``), and the classes picked by ``error.details.error_code``
(``RampLimitExceededError`` under ``RateLimitError``, ...; see ``status_error_class``).

``trio.Cancelled`` is never wrapped: cancellation always propagates as itself.

Every error raised after ``message_start`` carries ``partial_message``: the message
accumulated so far, with incomplete tool input kept as raw text.

Every class pickles (so errors cross process boundaries): the round trip keeps the
message and the plain attributes (``status_code``, ``type``, ``request_id``, ``body``,
``partial_message``, ``which``, ...) and drops ``request`` and ``response`` (they are
``None`` after unpickling), so no request header, and so no API key, is pickled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from .error_codes import CODE_CLASS_NAMES, STATUS_CLASS_NAMES, TYPE_CLASS_NAMES
from .error_codes import error_code_of as error_code_of

if TYPE_CHECKING:
    from .schema.models import Message
    from .usage import RunUsage

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
    "UsageLimitExceeded",
    "UnsupportedMCPValueError",
    "TimeoutKind",
    "status_error_class",
    "error_class_for_type",
    "AnthropicError",
    "APIResponseValidationError",
    "APIWebhookValidationError",
    "RetryableError",
    "CredentialsError",
    "IdentityTokenFileError",
    "UnsupportedEndpointError",
    "ClientClosedError",
    "PaymentRequiredError",
    "RequestTimeoutError",
    "PreconditionFailedError",
    "ContentTooLargeError",
    "RequestHeaderFieldsTooLargeError",
    "ClientClosedRequestError",
    "HTTPNotImplementedError",
    "GatewayTimeoutError",
    "ClaudeCodeKeyCreatorNotMemberError",
    "ClaudeCodeVersionTooOldError",
    "CMEKKeyDisabledError",
    "CMEKKeyNetworkBlockedError",
    "OrganizationOnHoldError",
    "OrganizationTypeNotSupportedError",
    "OrganizationURLFetchDisabledError",
    "ParentOrganizationRequiredError",
    "RequestBodyEncodingInvalidError",
    "RequestBodyEncodingUnsupportedError",
    "WorkspaceHumanReviewDisabledError",
    "LinkedOrganizationBillingUnavailableError",
    "LinkedOrganizationSpendLimitReachedError",
    "SandboxEgressRestrictedError",
    "RequestBodyTooLargeAfterDecodingError",
    "ContractSpendLimitReachedError",
    "EnforcedSpendLimitReachedError",
    "RampLimitExceededError",
    "CMEKContextUnavailableError",
    "CMEKKeyUnreachableError",
    "StorageNotReadyError",
    "error_code_of",
    "RequestParameterError",
]

TimeoutKind = Literal["connect", "read", "write", "pool", "content_idle", "deadline"]


_NOT_PICKLED = frozenset({"request", "response"})
"""Attributes that hold transport objects (with the request headers): not pickled."""


class MsgStreamError(Exception):
    """Base class of every error this library raises (never of ``trio.Cancelled``)."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default pickles ``args`` and calls ``cls(*args)`` on the way back, which
        # fails for keyword-only constructors; rebuild without calling ``__init__``.
        state = {k: (None if k in _NOT_PICKLED else v) for k, v in vars(self).items()}
        return (_unpickle, (type(self), self.args, state))


def _unpickle(
    cls: type[MsgStreamError], args: tuple[Any, ...], state: dict[str, Any]
) -> MsgStreamError:
    exc = cls.__new__(cls, *args)
    exc.args = args
    vars(exc).update(state)
    return exc


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
        request_id: The response's request id, when present: its ``request-id`` header
            (``x-amzn-RequestId`` on Amazon Bedrock).
        type: The API's ``error.type`` (``"overloaded_error"``, ...), when known.
        response: The ``httpx.Response``, when there was one.
        mid_stream: ``True`` when the error arrived as an SSE ``error`` event inside a
            ``200`` stream rather than as the response status.
        api_message: The API's ``error.message`` (its wording can change: don't match
            on it), when the body has one.
        error_code: ``error.details.error_code``, a stable name of the cause, when the
            body has one (branch on it rather than on the message).
        details: ``error.details`` as sent (a dict), when the body has it.
        workspace_id: The ``anthropic-workspace-id`` response header, when present.
    """

    status_code: int
    request_id: str | None
    type: str | None
    response: Any
    mid_stream: bool
    api_message: str | None
    error_code: str | None
    details: dict[str, Any] | None
    workspace_id: str | None

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
        workspace_id: str | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body, partial_message=partial_message)
        self.status_code = status_code
        self.request_id = request_id
        self.type = type
        self.response = response
        self.mid_stream = mid_stream
        self.workspace_id = workspace_id
        # As the official SDK reads them: from the (already redacted) error body.
        error = body.get("error") if isinstance(body, dict) else None
        text = error.get("message") if isinstance(error, dict) else None
        found = error.get("details") if isinstance(error, dict) else None
        self.api_message = text if isinstance(text, str) else None
        self.details = cast("dict[str, Any]", found) if isinstance(found, dict) else None
        self.error_code = error_code_of(body)


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


class UsageLimitExceeded(APIError):
    """A :class:`~trio_msgstream.UsageLimits` budget was passed: the request that would
    pass ``request_limit`` was not sent, the stream whose usage passed a token limit
    was cut at once, the tool calls that would pass ``tool_calls_limit`` were not run.

    It is an :class:`APIError` so that a stream fails with it like with any other
    error (``on_exception`` runs, the consumer raises it); it is never retried.

    Attributes:
        usage: The usage so far (a :class:`~trio_msgstream.RunUsage`), summed over the
            requests of the runner, group or tracker whose budget was passed.
        limit: The name of the limit passed (``"output_tokens_limit"``, ...).
        partial_message: The message of the request that passed the limit, as far as
            it came (the whole reply of a non-streaming request), else ``None``.
    """

    usage: RunUsage
    limit: str

    def __init__(
        self,
        message: str,
        *,
        usage: RunUsage | None = None,
        limit: str = "",
        request: Any = None,
        body: object | None = None,
        partial_message: Message | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body, partial_message=partial_message)
        if usage is None:
            from .usage import RunUsage  # only here: importing the errors stays minimal

            usage = RunUsage()
        self.usage = usage
        self.limit = limit


# --- The rest of the official SDK's error names, so ported ``except`` clauses work. ---

AnthropicError = MsgStreamError
"""The official SDK's name for the base class: :class:`MsgStreamError`."""


class APIResponseValidationError(APIError):
    """A response body did not match the shape its endpoint promises."""


class APIWebhookValidationError(APIError):
    """A webhook payload failed verification (kept for ported ``except`` clauses)."""


class RetryableError(MsgStreamError):
    """Raise it to ask for the attempt to be retried (within ``max_retries``)."""


class CredentialsError(MsgStreamError):
    """Credentials could not be loaded from the arguments or the environment."""


class IdentityTokenFileError(CredentialsError):
    """An identity token file is missing, empty or unreadable."""


class UnsupportedEndpointError(MsgStreamError):
    """The client's cloud platform (Bedrock, Vertex AI, Foundry) does not offer this
    endpoint (batches, models, files, count_tokens on Bedrock): raised before anything
    is sent.

    Attributes:
        platform: ``"bedrock"``, ``"vertex"`` or ``"foundry"``.
        feature: What is missing (``"the Message Batches API"``, ...).
    """

    def __init__(self, message: str, *, platform: str = "", feature: str = "") -> None:
        super().__init__(message)
        self.platform = platform
        self.feature = feature


CLIENT_CLOSED = "the client is closed: make a new one (or use it inside its 'with' block)"


class ClientClosedError(MsgStreamError, RuntimeError):
    """A request was made on a client that has been closed (``close()``/``aclose()``,
    the end of its ``with`` block, or its ``http_client`` closed by its owner). Nothing
    was sent. Also a ``RuntimeError``, which is what the HTTP library raises for it."""


class PaymentRequiredError(PermissionDeniedError):
    """402 or a mid-stream ``billing_error`` (a :class:`PermissionDeniedError`, as
    billing errors were before this class existed)."""


class RequestTimeoutError(APIStatusError):
    """408: the server timed out waiting for the request."""


class PreconditionFailedError(APIStatusError):
    """412."""


ContentTooLargeError = RequestTooLargeError
"""The official SDK's newer name for :class:`RequestTooLargeError` (413)."""


class RequestHeaderFieldsTooLargeError(APIStatusError):
    """431: the request's headers are too large."""


class ClientClosedRequestError(APIStatusError):
    """499: the request was closed before the server answered."""


class HTTPNotImplementedError(InternalServerError):
    """501."""


GatewayTimeoutError = DeadlineExceededError
"""The official SDK's newer name for :class:`DeadlineExceededError` (504)."""


class ClaudeCodeKeyCreatorNotMemberError(BadRequestError):
    """400 ``claude_code_key_creator_not_member``."""


class ClaudeCodeVersionTooOldError(BadRequestError):
    """400 ``claude_code_version_too_old``."""


class CMEKKeyDisabledError(BadRequestError):
    """400 ``cmek_key_disabled``."""


class CMEKKeyNetworkBlockedError(BadRequestError):
    """400 ``cmek_key_network_blocked``."""


class OrganizationOnHoldError(BadRequestError):
    """400 ``organization_on_hold``."""


class OrganizationTypeNotSupportedError(BadRequestError):
    """400 ``organization_type_not_supported``."""


class OrganizationURLFetchDisabledError(BadRequestError):
    """400 ``organization_url_fetch_disabled``: URL image and document sources, the
    ``web_fetch`` tool and ``mcp_servers`` are turned off for the organization."""


class ParentOrganizationRequiredError(BadRequestError):
    """400 ``parent_organization_required``."""


class RequestBodyEncodingInvalidError(BadRequestError):
    """400 ``request_body_encoding_invalid``."""


class RequestBodyEncodingUnsupportedError(BadRequestError):
    """400 ``request_body_encoding_unsupported``."""


class WorkspaceHumanReviewDisabledError(BadRequestError):
    """400 ``workspace_human_review_disabled``."""


class LinkedOrganizationBillingUnavailableError(PaymentRequiredError):
    """402 ``linked_organization_billing_unavailable``."""


class LinkedOrganizationSpendLimitReachedError(PaymentRequiredError):
    """402 ``linked_organization_spend_limit_reached``."""


class SandboxEgressRestrictedError(PermissionDeniedError):
    """403 ``sandbox_egress_restricted``."""


class RequestBodyTooLargeAfterDecodingError(RequestTooLargeError):
    """413 ``request_body_too_large_after_decoding``."""


class ContractSpendLimitReachedError(RateLimitError):
    """429 ``contract_spend_limit_reached``."""


class EnforcedSpendLimitReachedError(RateLimitError):
    """429 ``enforced_spend_limit_reached``."""


class RampLimitExceededError(RateLimitError):
    """429 ``ramp_limit_exceeded``."""


class CMEKContextUnavailableError(ServiceUnavailableError):
    """503 ``cmek_context_unavailable``."""


class CMEKKeyUnreachableError(ServiceUnavailableError):
    """503 ``cmek_key_unreachable``."""


class StorageNotReadyError(ServiceUnavailableError):
    """503 ``storage_not_ready``: the workspace is still being connected to its
    storage; try again in a minute."""


def _named(name: str) -> type[APIStatusError]:
    cls = globals()[name]
    if not (isinstance(cls, type) and issubclass(cls, APIStatusError)):
        raise TypeError(f"{name} is not an APIStatusError")
    return cls


_STATUS_CLASSES = {status: _named(name) for status, name in STATUS_CLASS_NAMES.items()}
_TYPE_CLASSES = {kind: (_named(name), status) for kind, (name, status) in TYPE_CLASS_NAMES.items()}
_CODE_CLASSES = {key: _named(name) for key, name in CODE_CLASS_NAMES.items()}


class UnsupportedMCPValueError(MsgStreamError, ValueError):
    """An MCP value (content block, resource) that the Messages API cannot take: an
    audio block, a resource link, an unsupported MIME type."""


class RequestParameterError(MsgStreamError, ValueError):
    """A request the API version in use would reject, caught before it is sent
    (``temperature`` under ``2026-10-21``, ...)."""


def status_error_class(status_code: int, error_code: str | None = None) -> type[APIStatusError]:
    """The error class for an HTTP status code (and ``error.details.error_code``)."""
    if error_code is not None:
        specific = _CODE_CLASSES.get((status_code, error_code))
        if specific is not None:
            return specific
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
