"""The sans-IO core, for driving the protocol with your own I/O.

An SSE decoder fed bytes, the typed event parser, the message accumulator and the
stream engine that ties them together, plus the retry rules. Nothing here imports
trio or httpx (model: h11).
"""

from . import _claim_public
from ._core.request.retry import is_retryable as is_retryable
from ._core.request.retry import retry_after_from_headers as retry_after_from_headers
from ._core.request.retry import retry_delay as retry_delay
from ._core.stream.accumulate import MessageAccumulator as MessageAccumulator
from ._core.stream.engine import StreamEngine as StreamEngine
from ._core.stream.events import parse_event as parse_event
from ._core.stream.sse import NEED_DATA as NEED_DATA
from ._core.stream.sse import ServerSentEvent as ServerSentEvent
from ._core.stream.sse import SSEDecoder as SSEDecoder

__all__ = [
    "NEED_DATA",
    "MessageAccumulator",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamEngine",
    "is_retryable",
    "parse_event",
    "retry_after_from_headers",
    "retry_delay",
]

_claim_public(__name__, globals())
del _claim_public
