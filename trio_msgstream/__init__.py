"""Trio-native streaming for the Anthropic Messages API.

Layers, imports pointing one way:

- the sans-IO core (``_sse``, ``_events``, ``_models``, ``_accumulate``, ``_engine``,
  ``_handlers``, ``_retry``, ``_status``, ``_config``, ``_exceptions``): no trio, no
  httpx;
- the trio runtime (``_stream``, ``_raw``, ``_api``, ``_fanout``): no httpx;
- the httpx glue (``_transport``, ``_client``, ``_sync``).

Everything public is re-exported here; the ``_modules`` are private.
"""

from ._accumulate import MessageAccumulator as MessageAccumulator
from ._api import MessageStreamManager as MessageStreamManager
from ._api import open_message_stream as open_message_stream
from ._api import start_message_stream as start_message_stream
from ._client import AsyncClient as AsyncClient
from ._client import AsyncMessages as AsyncMessages
from ._config import NOT_GIVEN as NOT_GIVEN
from ._config import NotGiven as NotGiven
from ._config import Timeout as Timeout
from ._engine import StreamEngine as StreamEngine
from ._events import CitationEvent as CitationEvent
from ._events import ContentBlockStopEvent as ContentBlockStopEvent
from ._events import InputJsonEvent as InputJsonEvent
from ._events import MessageStopEvent as MessageStopEvent
from ._events import MessageStreamEvent as MessageStreamEvent
from ._events import RawContentBlockDeltaEvent as RawContentBlockDeltaEvent
from ._events import RawContentBlockStartEvent as RawContentBlockStartEvent
from ._events import RawContentBlockStopEvent as RawContentBlockStopEvent
from ._events import RawErrorEvent as RawErrorEvent
from ._events import RawMessageDeltaEvent as RawMessageDeltaEvent
from ._events import RawMessageStartEvent as RawMessageStartEvent
from ._events import RawMessageStopEvent as RawMessageStopEvent
from ._events import RawMessageStreamEvent as RawMessageStreamEvent
from ._events import RawPingEvent as RawPingEvent
from ._events import SignatureEvent as SignatureEvent
from ._events import TextEvent as TextEvent
from ._events import ThinkingEvent as ThinkingEvent
from ._events import UnknownEvent as UnknownEvent
from ._events import parse_event as parse_event
from ._exceptions import APIConnectionError as APIConnectionError
from ._exceptions import APIError as APIError
from ._exceptions import APIStatusError as APIStatusError
from ._exceptions import APITimeoutError as APITimeoutError
from ._exceptions import AuthenticationError as AuthenticationError
from ._exceptions import BadRequestError as BadRequestError
from ._exceptions import ConflictError as ConflictError
from ._exceptions import DeadlineExceededError as DeadlineExceededError
from ._exceptions import IncompleteStreamError as IncompleteStreamError
from ._exceptions import InternalServerError as InternalServerError
from ._exceptions import MsgStreamError as MsgStreamError
from ._exceptions import NotFoundError as NotFoundError
from ._exceptions import OverloadedError as OverloadedError
from ._exceptions import PermissionDeniedError as PermissionDeniedError
from ._exceptions import RateLimitError as RateLimitError
from ._exceptions import RequestTooLargeError as RequestTooLargeError
from ._exceptions import ServiceUnavailableError as ServiceUnavailableError
from ._exceptions import StreamProtocolError as StreamProtocolError
from ._exceptions import UnprocessableEntityError as UnprocessableEntityError
from ._fanout import FanOut as FanOut
from ._fanout import FanOutCancelled as FanOutCancelled
from ._fanout import FanOutHandle as FanOutHandle
from ._fanout import FanOutMetrics as FanOutMetrics
from ._fanout import FanOutResult as FanOutResult
from ._fanout import FanOutStatistics as FanOutStatistics
from ._fanout import open_fan_out as open_fan_out
from ._models import CitationsDelta as CitationsDelta
from ._models import ContentBlock as ContentBlock
from ._models import InputJSONDelta as InputJSONDelta
from ._models import Message as Message
from ._models import RedactedThinkingBlock as RedactedThinkingBlock
from ._models import ServerToolUseBlock as ServerToolUseBlock
from ._models import SignatureDelta as SignatureDelta
from ._models import TextBlock as TextBlock
from ._models import TextDelta as TextDelta
from ._models import ThinkingBlock as ThinkingBlock
from ._models import ThinkingDelta as ThinkingDelta
from ._models import ToolUseBlock as ToolUseBlock
from ._models import UnknownBlock as UnknownBlock
from ._models import UnknownDelta as UnknownDelta
from ._models import Usage as Usage
from ._models import WebSearchToolResultBlock as WebSearchToolResultBlock
from ._raw import RawMessageStream as RawMessageStream
from ._sse import NEED_DATA as NEED_DATA
from ._sse import ServerSentEvent as ServerSentEvent
from ._sse import SSEDecoder as SSEDecoder
from ._stream import MessageStream as MessageStream
from ._stream import StreamStatistics as StreamStatistics
from ._sync import Client as Client
from ._sync import Messages as Messages
from ._sync import SyncMessageStream as SyncMessageStream
from ._sync import SyncMessageStreamManager as SyncMessageStreamManager
from ._sync import SyncRawMessageStream as SyncRawMessageStream
from ._version import __version__ as __version__

AsyncAnthropic = AsyncClient
"""The official SDK's name for :class:`AsyncClient`, so ported code changes one import."""
AsyncMessageStream = MessageStream
"""The official SDK's name for :class:`MessageStream`."""
Anthropic = Client
"""The official SDK's name for the synchronous :class:`Client`."""

__all__ = [
    "NEED_DATA",
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
    "AuthenticationError",
    "BadRequestError",
    "CitationEvent",
    "CitationsDelta",
    "Client",
    "ConflictError",
    "ContentBlock",
    "ContentBlockStopEvent",
    "DeadlineExceededError",
    "FanOut",
    "FanOutCancelled",
    "FanOutHandle",
    "FanOutMetrics",
    "FanOutResult",
    "FanOutStatistics",
    "IncompleteStreamError",
    "InputJSONDelta",
    "InputJsonEvent",
    "InternalServerError",
    "Message",
    "MessageAccumulator",
    "MessageStopEvent",
    "MessageStream",
    "MessageStreamEvent",
    "MessageStreamManager",
    "Messages",
    "MsgStreamError",
    "NotFoundError",
    "NotGiven",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawContentBlockDeltaEvent",
    "RawContentBlockStartEvent",
    "RawContentBlockStopEvent",
    "RawErrorEvent",
    "RawMessageDeltaEvent",
    "RawMessageStartEvent",
    "RawMessageStopEvent",
    "RawMessageStream",
    "RawMessageStreamEvent",
    "RawPingEvent",
    "RedactedThinkingBlock",
    "RequestTooLargeError",
    "SSEDecoder",
    "ServerSentEvent",
    "ServerToolUseBlock",
    "ServiceUnavailableError",
    "SignatureDelta",
    "SignatureEvent",
    "StreamEngine",
    "StreamProtocolError",
    "StreamStatistics",
    "SyncMessageStream",
    "SyncMessageStreamManager",
    "SyncRawMessageStream",
    "TextBlock",
    "TextDelta",
    "TextEvent",
    "ThinkingBlock",
    "ThinkingDelta",
    "ThinkingEvent",
    "Timeout",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownDelta",
    "UnknownEvent",
    "UnprocessableEntityError",
    "Usage",
    "WebSearchToolResultBlock",
    "__version__",
    "open_fan_out",
    "open_message_stream",
    "parse_event",
    "start_message_stream",
]


def _fix_module_names() -> None:
    # Tracebacks and docs show ``trio_msgstream.X`` rather than the private module.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith("trio_msgstream._"):
            try:
                obj.__module__ = __name__
            except (AttributeError, TypeError):  # pragma: no cover
                pass


_fix_module_names()
del _fix_module_names
