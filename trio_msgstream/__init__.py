"""Trio-native streaming for the Anthropic Messages API.

Layers, imports pointing one way (the folders show them):

- ``_core``: the sans-IO core (SSE decoder, events and models, accumulator, stream
  engine, request session, retry rules, errors): no trio, no httpx;
- ``_trio``: the trio runtime (producer tasks, streams, fan-out): no httpx;
- ``_httpx``: the httpx glue and the async client;
- ``_sync``: the synchronous client, the same core driven by ``httpx.Client``: no trio;
- ``_cli`` and ``testing``: the command line and the testing kit.

The top level holds what an application needs first; the API's objects live in
:mod:`trio_msgstream.types` and the protocol machinery in :mod:`trio_msgstream.sansio`.
Names that used to live here (``TextBlock``, ``StreamEngine``, ...) still import from
here.
"""

import typing as _typing

from ._core.config import NOT_GIVEN as NOT_GIVEN
from ._core.config import NotGiven as NotGiven
from ._core.config import Timeout as Timeout
from ._core.exceptions import APIConnectionError as APIConnectionError
from ._core.exceptions import APIError as APIError
from ._core.exceptions import APIStatusError as APIStatusError
from ._core.exceptions import APITimeoutError as APITimeoutError
from ._core.exceptions import AuthenticationError as AuthenticationError
from ._core.exceptions import BadRequestError as BadRequestError
from ._core.exceptions import ConflictError as ConflictError
from ._core.exceptions import DeadlineExceededError as DeadlineExceededError
from ._core.exceptions import IncompleteStreamError as IncompleteStreamError
from ._core.exceptions import InternalServerError as InternalServerError
from ._core.exceptions import MsgStreamError as MsgStreamError
from ._core.exceptions import NotFoundError as NotFoundError
from ._core.exceptions import OverloadedError as OverloadedError
from ._core.exceptions import PermissionDeniedError as PermissionDeniedError
from ._core.exceptions import RateLimitError as RateLimitError
from ._core.exceptions import RequestTooLargeError as RequestTooLargeError
from ._core.exceptions import ServiceUnavailableError as ServiceUnavailableError
from ._core.exceptions import StreamClosedError as StreamClosedError
from ._core.exceptions import StreamProtocolError as StreamProtocolError
from ._core.exceptions import UnprocessableEntityError as UnprocessableEntityError
from ._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from ._core.agents.usage_limits import UsageLimits as UsageLimits
    from ._core.typed_json.structured import OutputRefusedError as OutputRefusedError
    from ._core.typed_json.structured import OutputTruncatedError as OutputTruncatedError
    from ._core.typed_json.structured import OutputValidationError as OutputValidationError
    from ._core.typed_json.structured import ParsedMessage as ParsedMessage
    from ._core.typed_json.structured import StructuredOutputError as StructuredOutputError
    from ._core.typed_json.tools import FunctionTool as FunctionTool
    from ._core.typed_json.tools import ToolError as ToolError
    from ._core.typed_json.tools import tool as tool
    from ._httpx.async_client import AsyncClient as AsyncClient
    from ._httpx.async_client import AsyncMessages as AsyncMessages
    from ._sync.client import Client as Client
    from ._sync.client import Messages as Messages
    from ._sync.raw import SyncRawMessageStream as SyncRawMessageStream
    from ._sync.stream import SyncMessageStream as SyncMessageStream
    from ._sync.stream import SyncMessageStreamManager as SyncMessageStreamManager
    from ._sync.tool_runner import ToolRunner as ToolRunner
    from ._trio.api import MessageStreamManager as MessageStreamManager
    from ._trio.api import open_message_stream as open_message_stream
    from ._trio.api import start_message_stream as start_message_stream
    from ._trio.fanout.handle import FanOutHandle as FanOutHandle
    from ._trio.fanout.results import FanOutCancelled as FanOutCancelled
    from ._trio.fanout.results import FanOutMetrics as FanOutMetrics
    from ._trio.fanout.results import FanOutResult as FanOutResult
    from ._trio.fanout.results import FanOutStatistics as FanOutStatistics
    from ._trio.fanout.scheduler import FanOut as FanOut
    from ._trio.fanout.scheduler import open_fan_out as open_fan_out
    from ._trio.raw import RawMessageStream as RawMessageStream
    from ._trio.stream import MessageStream as MessageStream
    from ._trio.stream import StreamStatistics as StreamStatistics
    from ._trio.tool_runner import AsyncToolRunner as AsyncToolRunner

    AsyncAnthropic = AsyncClient
    """The official SDK's name for :class:`AsyncClient`, so ported code changes one import."""
    AsyncMessageStream = MessageStream
    """The official SDK's name for :class:`MessageStream`."""
    Anthropic = Client
    """The official SDK's name for the synchronous :class:`Client`."""
    beta_tool = tool
    """The official SDK's name for :func:`tool` (sync functions)."""
    beta_async_tool = tool
    """The official SDK's name for :func:`tool` (async functions)."""

    from .errors import AnthropicError as AnthropicError
    from .errors import APIResponseValidationError as APIResponseValidationError
    from .errors import APIWebhookValidationError as APIWebhookValidationError
    from .errors import ClaudeCodeKeyCreatorNotMemberError as ClaudeCodeKeyCreatorNotMemberError
    from .errors import ClaudeCodeVersionTooOldError as ClaudeCodeVersionTooOldError
    from .errors import ClientClosedError as ClientClosedError
    from .errors import ClientClosedRequestError as ClientClosedRequestError
    from .errors import CMEKContextUnavailableError as CMEKContextUnavailableError
    from .errors import CMEKKeyDisabledError as CMEKKeyDisabledError
    from .errors import CMEKKeyNetworkBlockedError as CMEKKeyNetworkBlockedError
    from .errors import CMEKKeyUnreachableError as CMEKKeyUnreachableError
    from .errors import ContentTooLargeError as ContentTooLargeError
    from .errors import ContractSpendLimitReachedError as ContractSpendLimitReachedError
    from .errors import CredentialsError as CredentialsError
    from .errors import EnforcedSpendLimitReachedError as EnforcedSpendLimitReachedError
    from .errors import GatewayTimeoutError as GatewayTimeoutError
    from .errors import HTTPNotImplementedError as HTTPNotImplementedError
    from .errors import IdentityTokenFileError as IdentityTokenFileError
    from .errors import (
        LinkedOrganizationBillingUnavailableError as LinkedOrganizationBillingUnavailableError,
    )
    from .errors import (
        LinkedOrganizationSpendLimitReachedError as LinkedOrganizationSpendLimitReachedError,
    )
    from .errors import OrganizationOnHoldError as OrganizationOnHoldError
    from .errors import OrganizationTypeNotSupportedError as OrganizationTypeNotSupportedError
    from .errors import OrganizationURLFetchDisabledError as OrganizationURLFetchDisabledError
    from .errors import ParentOrganizationRequiredError as ParentOrganizationRequiredError
    from .errors import PaymentRequiredError as PaymentRequiredError
    from .errors import PreconditionFailedError as PreconditionFailedError
    from .errors import RampLimitExceededError as RampLimitExceededError
    from .errors import RequestBodyEncodingInvalidError as RequestBodyEncodingInvalidError
    from .errors import RequestBodyEncodingUnsupportedError as RequestBodyEncodingUnsupportedError
    from .errors import (
        RequestBodyTooLargeAfterDecodingError as RequestBodyTooLargeAfterDecodingError,
    )
    from .errors import RequestHeaderFieldsTooLargeError as RequestHeaderFieldsTooLargeError
    from .errors import RequestParameterError as RequestParameterError
    from .errors import RequestTimeoutError as RequestTimeoutError
    from .errors import RetryableError as RetryableError
    from .errors import SandboxEgressRestrictedError as SandboxEgressRestrictedError
    from .errors import StorageNotReadyError as StorageNotReadyError
    from .errors import UnsupportedEndpointError as UnsupportedEndpointError
    from .errors import UsageLimitExceeded as UsageLimitExceeded
    from .errors import WorkspaceHumanReviewDisabledError as WorkspaceHumanReviewDisabledError
    from .middleware import APIRequest as APIRequest
    from .middleware import APIResponse as APIResponse
    from .middleware import AsyncAPIResponse as AsyncAPIResponse
    from .middleware import AsyncCallNext as AsyncCallNext
    from .middleware import BetaFallbackState as BetaFallbackState
    from .middleware import BetaRefusalFallbackMiddleware as BetaRefusalFallbackMiddleware
    from .middleware import CallNext as CallNext
    from .middleware import Middleware as Middleware
    from .platforms import AnthropicBedrock as AnthropicBedrock
    from .platforms import AnthropicFoundry as AnthropicFoundry
    from .platforms import AnthropicVertex as AnthropicVertex
    from .platforms import AsyncAnthropicBedrock as AsyncAnthropicBedrock
    from .platforms import AsyncAnthropicFoundry as AsyncAnthropicFoundry
    from .platforms import AsyncAnthropicVertex as AsyncAnthropicVertex
    from .sansio import NEED_DATA as NEED_DATA
    from .sansio import MessageAccumulator as MessageAccumulator
    from .sansio import ServerSentEvent as ServerSentEvent
    from .sansio import SSEDecoder as SSEDecoder
    from .sansio import StreamEngine as StreamEngine
    from .sansio import parse_event as parse_event
    from .types import CitationEvent as CitationEvent
    from .types import CitationsDelta as CitationsDelta
    from .types import ContentBlock as ContentBlock
    from .types import ContentBlockStopEvent as ContentBlockStopEvent
    from .types import InputJSONDelta as InputJSONDelta
    from .types import InputJsonEvent as InputJsonEvent
    from .types import Message as Message
    from .types import MessageStopEvent as MessageStopEvent
    from .types import MessageStreamEvent as MessageStreamEvent
    from .types import RawContentBlockDeltaEvent as RawContentBlockDeltaEvent
    from .types import RawContentBlockStartEvent as RawContentBlockStartEvent
    from .types import RawContentBlockStopEvent as RawContentBlockStopEvent
    from .types import RawErrorEvent as RawErrorEvent
    from .types import RawMessageDeltaEvent as RawMessageDeltaEvent
    from .types import RawMessageStartEvent as RawMessageStartEvent
    from .types import RawMessageStopEvent as RawMessageStopEvent
    from .types import RawMessageStreamEvent as RawMessageStreamEvent
    from .types import RawPingEvent as RawPingEvent
    from .types import RedactedThinkingBlock as RedactedThinkingBlock
    from .types import RunnerTool as RunnerTool
    from .types import ServerToolUseBlock as ServerToolUseBlock
    from .types import SignatureDelta as SignatureDelta
    from .types import SignatureEvent as SignatureEvent
    from .types import TextBlock as TextBlock
    from .types import TextDelta as TextDelta
    from .types import TextEvent as TextEvent
    from .types import ThinkingBlock as ThinkingBlock
    from .types import ThinkingDelta as ThinkingDelta
    from .types import ThinkingEvent as ThinkingEvent
    from .types import ToolUseBlock as ToolUseBlock
    from .types import UnknownBlock as UnknownBlock
    from .types import UnknownDelta as UnknownDelta
    from .types import UnknownEvent as UnknownEvent
    from .types import Usage as Usage
    from .types import WebSearchToolResultBlock as WebSearchToolResultBlock
    from .usage import RunUsage as RunUsage
    from .usage import UsageTracker as UsageTracker

_LAZY: dict[str, tuple[str, str]] = {
    "OutputRefusedError": ("trio_msgstream._core.typed_json.structured", "OutputRefusedError"),
    "OutputTruncatedError": ("trio_msgstream._core.typed_json.structured", "OutputTruncatedError"),
    "OutputValidationError": (
        "trio_msgstream._core.typed_json.structured",
        "OutputValidationError",
    ),
    "ParsedMessage": ("trio_msgstream._core.typed_json.structured", "ParsedMessage"),
    "StructuredOutputError": (
        "trio_msgstream._core.typed_json.structured",
        "StructuredOutputError",
    ),
    "FunctionTool": ("trio_msgstream._core.typed_json.tools", "FunctionTool"),
    "ToolError": ("trio_msgstream._core.typed_json.tools", "ToolError"),
    "tool": ("trio_msgstream._core.typed_json.tools", "tool"),
    "AsyncClient": ("trio_msgstream._httpx.async_client", "AsyncClient"),
    "AsyncMessages": ("trio_msgstream._httpx.async_client", "AsyncMessages"),
    "Client": ("trio_msgstream._sync.client", "Client"),
    "Messages": ("trio_msgstream._sync.client", "Messages"),
    "SyncRawMessageStream": ("trio_msgstream._sync.raw", "SyncRawMessageStream"),
    "SyncMessageStream": ("trio_msgstream._sync.stream", "SyncMessageStream"),
    "SyncMessageStreamManager": ("trio_msgstream._sync.stream", "SyncMessageStreamManager"),
    "ToolRunner": ("trio_msgstream._sync.tool_runner", "ToolRunner"),
    "MessageStreamManager": ("trio_msgstream._trio.api", "MessageStreamManager"),
    "open_message_stream": ("trio_msgstream._trio.api", "open_message_stream"),
    "start_message_stream": ("trio_msgstream._trio.api", "start_message_stream"),
    "FanOut": ("trio_msgstream._trio.fanout.scheduler", "FanOut"),
    "open_fan_out": ("trio_msgstream._trio.fanout.scheduler", "open_fan_out"),
    "FanOutHandle": ("trio_msgstream._trio.fanout.handle", "FanOutHandle"),
    "FanOutCancelled": ("trio_msgstream._trio.fanout.results", "FanOutCancelled"),
    "FanOutMetrics": ("trio_msgstream._trio.fanout.results", "FanOutMetrics"),
    "FanOutResult": ("trio_msgstream._trio.fanout.results", "FanOutResult"),
    "FanOutStatistics": ("trio_msgstream._trio.fanout.results", "FanOutStatistics"),
    "RawMessageStream": ("trio_msgstream._trio.raw", "RawMessageStream"),
    "MessageStream": ("trio_msgstream._trio.stream", "MessageStream"),
    "StreamStatistics": ("trio_msgstream._trio.stream", "StreamStatistics"),
    "AsyncToolRunner": ("trio_msgstream._trio.tool_runner", "AsyncToolRunner"),
    "AsyncAnthropic": ("trio_msgstream._httpx.async_client", "AsyncClient"),
    "AsyncMessageStream": ("trio_msgstream._trio.stream", "MessageStream"),
    "Anthropic": ("trio_msgstream._sync.client", "Client"),
    "beta_tool": ("trio_msgstream._core.typed_json.tools", "tool"),
    "beta_async_tool": ("trio_msgstream._core.typed_json.tools", "tool"),
    "UsageLimits": ("trio_msgstream._core.agents.usage_limits", "UsageLimits"),
}
"""Public name -> (module, attribute): imported on first use (PEP 562), so
``import trio_msgstream`` stays cheap."""

_MOVED = {
    "MessageAccumulator": "sansio",
    "StreamEngine": "sansio",
    "CitationEvent": "types",
    "ContentBlockStopEvent": "types",
    "InputJsonEvent": "types",
    "MessageStopEvent": "types",
    "MessageStreamEvent": "types",
    "RawContentBlockDeltaEvent": "types",
    "RawContentBlockStartEvent": "types",
    "RawContentBlockStopEvent": "types",
    "RawErrorEvent": "types",
    "RawMessageDeltaEvent": "types",
    "RawMessageStartEvent": "types",
    "RawMessageStopEvent": "types",
    "RawMessageStreamEvent": "types",
    "RawPingEvent": "types",
    "SignatureEvent": "types",
    "TextEvent": "types",
    "ThinkingEvent": "types",
    "UnknownEvent": "types",
    "parse_event": "sansio",
    "CitationsDelta": "types",
    "ContentBlock": "types",
    "InputJSONDelta": "types",
    "Message": "types",
    "RedactedThinkingBlock": "types",
    "ServerToolUseBlock": "types",
    "SignatureDelta": "types",
    "TextBlock": "types",
    "TextDelta": "types",
    "ThinkingBlock": "types",
    "ThinkingDelta": "types",
    "ToolUseBlock": "types",
    "RunnerTool": "types",
    "UnknownBlock": "types",
    "UnknownDelta": "types",
    "Usage": "types",
    "WebSearchToolResultBlock": "types",
    "NEED_DATA": "sansio",
    "ServerSentEvent": "sansio",
    "SSEDecoder": "sansio",
    "APIResponseValidationError": "errors",
    "APIWebhookValidationError": "errors",
    "AnthropicError": "errors",
    "CMEKContextUnavailableError": "errors",
    "CMEKKeyDisabledError": "errors",
    "CMEKKeyNetworkBlockedError": "errors",
    "CMEKKeyUnreachableError": "errors",
    "ClaudeCodeKeyCreatorNotMemberError": "errors",
    "ClaudeCodeVersionTooOldError": "errors",
    "ClientClosedRequestError": "errors",
    "ContentTooLargeError": "errors",
    "ContractSpendLimitReachedError": "errors",
    "ClientClosedError": "errors",
    "CredentialsError": "errors",
    "EnforcedSpendLimitReachedError": "errors",
    "GatewayTimeoutError": "errors",
    "HTTPNotImplementedError": "errors",
    "IdentityTokenFileError": "errors",
    "LinkedOrganizationBillingUnavailableError": "errors",
    "LinkedOrganizationSpendLimitReachedError": "errors",
    "OrganizationOnHoldError": "errors",
    "OrganizationTypeNotSupportedError": "errors",
    "OrganizationURLFetchDisabledError": "errors",
    "ParentOrganizationRequiredError": "errors",
    "PaymentRequiredError": "errors",
    "PreconditionFailedError": "errors",
    "RampLimitExceededError": "errors",
    "RequestBodyEncodingInvalidError": "errors",
    "RequestBodyEncodingUnsupportedError": "errors",
    "RequestBodyTooLargeAfterDecodingError": "errors",
    "RequestHeaderFieldsTooLargeError": "errors",
    "RequestParameterError": "errors",
    "RequestTimeoutError": "errors",
    "RetryableError": "errors",
    "SandboxEgressRestrictedError": "errors",
    "StorageNotReadyError": "errors",
    "WorkspaceHumanReviewDisabledError": "errors",
    "UnsupportedEndpointError": "errors",
    "AnthropicBedrock": "platforms",
    "AnthropicFoundry": "platforms",
    "AnthropicVertex": "platforms",
    "AsyncAnthropicBedrock": "platforms",
    "AsyncAnthropicFoundry": "platforms",
    "AsyncAnthropicVertex": "platforms",
    "UsageLimitExceeded": "errors",
    "RunUsage": "usage",
    "UsageTracker": "usage",
    "APIRequest": "middleware",
    "APIResponse": "middleware",
    "AsyncAPIResponse": "middleware",
    "AsyncCallNext": "middleware",
    "BetaFallbackState": "middleware",
    "BetaRefusalFallbackMiddleware": "middleware",
    "CallNext": "middleware",
    "Middleware": "middleware",
}


def __getattr__(name: str) -> _typing.Any:
    # PEP 562: the clients, streams, tools, fan-out and structured output import on first
    # use; names that moved to ``types`` / ``sansio`` / ``errors`` keep importing from
    # here; and those modules are attributes as after ``import trio_msgstream.types``.
    import importlib

    lazy = _LAZY.get(name)
    if lazy is not None:
        value = getattr(importlib.import_module(lazy[0]), lazy[1])
        _claim(value)
        globals()[name] = value
        return value
    module = _MOVED.get(name)
    if module is not None:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def _claim(value: object) -> None:
    # Tracebacks and docs show ``trio_msgstream.X`` rather than the private module.
    if isinstance(value, type) and value.__module__.startswith("trio_msgstream._"):
        try:
            value.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover
            pass


def _claim_public(module: str, namespace: _typing.Mapping[str, object]) -> None:
    # ``types``, ``sansio`` and ``errors`` claim their classes on import; a class the top
    # level exports too keeps ``trio_msgstream``.
    top = frozenset(__all__)
    for name in _typing.cast("list[str]", namespace["__all__"]):
        value = namespace[name]
        if isinstance(value, type) and value.__module__.startswith("trio_msgstream._"):
            try:
                value.__module__ = __name__ if name in top else module
            except (AttributeError, TypeError):  # pragma: no cover
                pass


_SUBMODULES = frozenset({"types", "sansio", "errors", "usage", "middleware", "platforms"})


__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Anthropic",
    "AsyncAnthropic",
    "AsyncClient",
    "AsyncMessageStream",
    "AsyncMessages",
    "AsyncToolRunner",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "DeadlineExceededError",
    "FanOut",
    "FanOutCancelled",
    "FanOutHandle",
    "FanOutMetrics",
    "FanOutResult",
    "FanOutStatistics",
    "FunctionTool",
    "IncompleteStreamError",
    "InternalServerError",
    "MessageStream",
    "MessageStreamManager",
    "Messages",
    "MsgStreamError",
    "NotFoundError",
    "NotGiven",
    "OutputRefusedError",
    "OutputTruncatedError",
    "OutputValidationError",
    "OverloadedError",
    "ParsedMessage",
    "PermissionDeniedError",
    "RateLimitError",
    "RawMessageStream",
    "RequestTooLargeError",
    "ServiceUnavailableError",
    "StreamClosedError",
    "StreamProtocolError",
    "StreamStatistics",
    "StructuredOutputError",
    "SyncMessageStream",
    "SyncMessageStreamManager",
    "SyncRawMessageStream",
    "Timeout",
    "ToolError",
    "ToolRunner",
    "UnprocessableEntityError",
    "UsageLimits",
    "__version__",
    "beta_async_tool",
    "beta_tool",
    "open_fan_out",
    "open_message_stream",
    "start_message_stream",
    "tool",
]


for _name in __all__:
    if _name in globals():
        _claim(globals()[_name])
del _name
