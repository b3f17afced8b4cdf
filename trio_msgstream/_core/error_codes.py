"""Which error class an error response gets: the lookup tables, by class name. Pure.

Theory of operation: an error response is classified by its HTTP status, refined by
``error.details.error_code`` (as the official SDK maps them), and a mid-stream
``error`` event by its ``error.type``. The tables name the classes of
:mod:`trio_msgstream._core.exceptions` (the one exceptions module), which resolves
the names into classes when it is imported, so an unknown name fails at import.
"""

from __future__ import annotations

__all__ = ["CODE_CLASS_NAMES", "STATUS_CLASS_NAMES", "TYPE_CLASS_NAMES", "error_code_of"]

STATUS_CLASS_NAMES: dict[int, str] = {
    400: "BadRequestError",
    401: "AuthenticationError",
    402: "PaymentRequiredError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    408: "RequestTimeoutError",
    409: "ConflictError",
    412: "PreconditionFailedError",
    413: "RequestTooLargeError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    431: "RequestHeaderFieldsTooLargeError",
    499: "ClientClosedRequestError",
    501: "HTTPNotImplementedError",
    503: "ServiceUnavailableError",
    504: "DeadlineExceededError",
    529: "OverloadedError",
}

# error.type (in an error body or a mid-stream ``error`` event) -> (class, status)
TYPE_CLASS_NAMES: dict[str, tuple[str, int]] = {
    "invalid_request_error": ("BadRequestError", 400),
    "authentication_error": ("AuthenticationError", 401),
    "billing_error": ("PaymentRequiredError", 402),
    "permission_error": ("PermissionDeniedError", 403),
    "not_found_error": ("NotFoundError", 404),
    "request_too_large": ("RequestTooLargeError", 413),
    "rate_limit_error": ("RateLimitError", 429),
    "api_error": ("InternalServerError", 500),
    "timeout_error": ("DeadlineExceededError", 504),
    "overloaded_error": ("OverloadedError", 529),
}

# (status, error.details.error_code) -> a more specific class, as the official SDK maps.
CODE_CLASS_NAMES: dict[tuple[int, str], str] = {
    (400, "claude_code_key_creator_not_member"): "ClaudeCodeKeyCreatorNotMemberError",
    (400, "claude_code_version_too_old"): "ClaudeCodeVersionTooOldError",
    (400, "cmek_key_disabled"): "CMEKKeyDisabledError",
    (400, "cmek_key_network_blocked"): "CMEKKeyNetworkBlockedError",
    (400, "organization_on_hold"): "OrganizationOnHoldError",
    (400, "organization_type_not_supported"): "OrganizationTypeNotSupportedError",
    (400, "organization_url_fetch_disabled"): "OrganizationURLFetchDisabledError",
    (400, "parent_organization_required"): "ParentOrganizationRequiredError",
    (400, "request_body_encoding_invalid"): "RequestBodyEncodingInvalidError",
    (400, "request_body_encoding_unsupported"): "RequestBodyEncodingUnsupportedError",
    (400, "workspace_human_review_disabled"): "WorkspaceHumanReviewDisabledError",
    (402, "linked_organization_billing_unavailable"): "LinkedOrganizationBillingUnavailableError",
    (402, "linked_organization_spend_limit_reached"): "LinkedOrganizationSpendLimitReachedError",
    (403, "sandbox_egress_restricted"): "SandboxEgressRestrictedError",
    (413, "request_body_too_large_after_decoding"): "RequestBodyTooLargeAfterDecodingError",
    (429, "contract_spend_limit_reached"): "ContractSpendLimitReachedError",
    (429, "enforced_spend_limit_reached"): "EnforcedSpendLimitReachedError",
    (429, "ramp_limit_exceeded"): "RampLimitExceededError",
    (503, "cmek_context_unavailable"): "CMEKContextUnavailableError",
    (503, "cmek_key_unreachable"): "CMEKKeyUnreachableError",
    (503, "storage_not_ready"): "StorageNotReadyError",
}


def error_code_of(body: object) -> str | None:
    """``error.details.error_code`` of an error body, when it has one."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None
