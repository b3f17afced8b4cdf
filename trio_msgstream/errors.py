"""Every error class, by the official SDK's names too.

The hierarchy is described in the docs (errors); the most used classes are also
importable from the top level, and every name here is too (``trio_msgstream.X``).
"""

from . import _claim_public
from ._core.exceptions import AnthropicError as AnthropicError
from ._core.exceptions import APIConnectionError as APIConnectionError
from ._core.exceptions import APIError as APIError
from ._core.exceptions import APIResponseValidationError as APIResponseValidationError
from ._core.exceptions import APIStatusError as APIStatusError
from ._core.exceptions import APITimeoutError as APITimeoutError
from ._core.exceptions import APIWebhookValidationError as APIWebhookValidationError
from ._core.exceptions import AuthenticationError as AuthenticationError
from ._core.exceptions import BadRequestError as BadRequestError
from ._core.exceptions import (
    ClaudeCodeKeyCreatorNotMemberError as ClaudeCodeKeyCreatorNotMemberError,
)
from ._core.exceptions import ClaudeCodeVersionTooOldError as ClaudeCodeVersionTooOldError
from ._core.exceptions import ClientClosedError as ClientClosedError
from ._core.exceptions import ClientClosedRequestError as ClientClosedRequestError
from ._core.exceptions import CMEKContextUnavailableError as CMEKContextUnavailableError
from ._core.exceptions import CMEKKeyDisabledError as CMEKKeyDisabledError
from ._core.exceptions import CMEKKeyNetworkBlockedError as CMEKKeyNetworkBlockedError
from ._core.exceptions import CMEKKeyUnreachableError as CMEKKeyUnreachableError
from ._core.exceptions import ConflictError as ConflictError
from ._core.exceptions import ContentTooLargeError as ContentTooLargeError
from ._core.exceptions import ContractSpendLimitReachedError as ContractSpendLimitReachedError
from ._core.exceptions import CredentialsError as CredentialsError
from ._core.exceptions import DeadlineExceededError as DeadlineExceededError
from ._core.exceptions import EnforcedSpendLimitReachedError as EnforcedSpendLimitReachedError
from ._core.exceptions import GatewayTimeoutError as GatewayTimeoutError
from ._core.exceptions import HTTPNotImplementedError as HTTPNotImplementedError
from ._core.exceptions import IdentityTokenFileError as IdentityTokenFileError
from ._core.exceptions import IncompleteStreamError as IncompleteStreamError
from ._core.exceptions import InternalServerError as InternalServerError
from ._core.exceptions import (
    LinkedOrganizationBillingUnavailableError as LinkedOrganizationBillingUnavailableError,
)
from ._core.exceptions import (
    LinkedOrganizationSpendLimitReachedError as LinkedOrganizationSpendLimitReachedError,
)
from ._core.exceptions import MsgStreamError as MsgStreamError
from ._core.exceptions import NotFoundError as NotFoundError
from ._core.exceptions import OrganizationOnHoldError as OrganizationOnHoldError
from ._core.exceptions import OrganizationTypeNotSupportedError as OrganizationTypeNotSupportedError
from ._core.exceptions import (
    OrganizationURLFetchDisabledError as OrganizationURLFetchDisabledError,
)
from ._core.exceptions import OverloadedError as OverloadedError
from ._core.exceptions import ParentOrganizationRequiredError as ParentOrganizationRequiredError
from ._core.exceptions import PaymentRequiredError as PaymentRequiredError
from ._core.exceptions import PermissionDeniedError as PermissionDeniedError
from ._core.exceptions import PreconditionFailedError as PreconditionFailedError
from ._core.exceptions import RampLimitExceededError as RampLimitExceededError
from ._core.exceptions import RateLimitError as RateLimitError
from ._core.exceptions import RequestBodyEncodingInvalidError as RequestBodyEncodingInvalidError
from ._core.exceptions import (
    RequestBodyEncodingUnsupportedError as RequestBodyEncodingUnsupportedError,
)
from ._core.exceptions import (
    RequestBodyTooLargeAfterDecodingError as RequestBodyTooLargeAfterDecodingError,
)
from ._core.exceptions import RequestHeaderFieldsTooLargeError as RequestHeaderFieldsTooLargeError
from ._core.exceptions import RequestParameterError as RequestParameterError
from ._core.exceptions import RequestTimeoutError as RequestTimeoutError
from ._core.exceptions import RequestTooLargeError as RequestTooLargeError
from ._core.exceptions import RetryableError as RetryableError
from ._core.exceptions import SandboxEgressRestrictedError as SandboxEgressRestrictedError
from ._core.exceptions import ServiceUnavailableError as ServiceUnavailableError
from ._core.exceptions import StorageNotReadyError as StorageNotReadyError
from ._core.exceptions import StreamProtocolError as StreamProtocolError
from ._core.exceptions import TimeoutKind as TimeoutKind
from ._core.exceptions import UnprocessableEntityError as UnprocessableEntityError
from ._core.exceptions import UnsupportedEndpointError as UnsupportedEndpointError
from ._core.exceptions import UnsupportedMCPValueError as UnsupportedMCPValueError
from ._core.exceptions import UsageLimitExceeded as UsageLimitExceeded
from ._core.exceptions import WorkspaceHumanReviewDisabledError as WorkspaceHumanReviewDisabledError
from ._core.exceptions import status_error_class as status_error_class

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "APIWebhookValidationError",
    "AnthropicError",
    "AuthenticationError",
    "BadRequestError",
    "CMEKContextUnavailableError",
    "CMEKKeyDisabledError",
    "CMEKKeyNetworkBlockedError",
    "CMEKKeyUnreachableError",
    "ClaudeCodeKeyCreatorNotMemberError",
    "ClaudeCodeVersionTooOldError",
    "ClientClosedRequestError",
    "ConflictError",
    "ContentTooLargeError",
    "ContractSpendLimitReachedError",
    "CredentialsError",
    "DeadlineExceededError",
    "EnforcedSpendLimitReachedError",
    "GatewayTimeoutError",
    "HTTPNotImplementedError",
    "IdentityTokenFileError",
    "IncompleteStreamError",
    "InternalServerError",
    "LinkedOrganizationBillingUnavailableError",
    "LinkedOrganizationSpendLimitReachedError",
    "MsgStreamError",
    "NotFoundError",
    "OrganizationOnHoldError",
    "OrganizationTypeNotSupportedError",
    "OrganizationURLFetchDisabledError",
    "OverloadedError",
    "ParentOrganizationRequiredError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RampLimitExceededError",
    "RateLimitError",
    "RequestBodyEncodingInvalidError",
    "RequestBodyEncodingUnsupportedError",
    "RequestBodyTooLargeAfterDecodingError",
    "RequestHeaderFieldsTooLargeError",
    "RequestParameterError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RetryableError",
    "SandboxEgressRestrictedError",
    "ServiceUnavailableError",
    "StorageNotReadyError",
    "StreamProtocolError",
    "TimeoutKind",
    "UnprocessableEntityError",
    "UnsupportedEndpointError",
    "ClientClosedError",
    "UnsupportedMCPValueError",
    "UsageLimitExceeded",
    "WorkspaceHumanReviewDisabledError",
    "status_error_class",
]

_claim_public(__name__, globals())
del _claim_public
