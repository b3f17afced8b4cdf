"""The Messages API's objects: messages, content blocks, deltas, usage and stream events,
and the request parameter types.

Pydantic models (every one keeps unknown fields) and the derived events of a stream;
``TypedDict`` types for the request parameters (``MessageCreateParams`` and the types of
its fields).
"""

from . import _claim_public
from ._core.blocks import *  # noqa: F403
from ._core.blocks import __all__ as _blocks_all
from ._core.events import *  # noqa: F403
from ._core.events import __all__ as _events_all
from ._core.models import Message as Message
from ._core.models import StopDetails as StopDetails
from ._core.param_types import *  # noqa: F403
from ._core.param_types import __all__ as _param_types_all
from ._core.params import MessageCountTokensParams as MessageCountTokensParams
from ._core.params import MessageCreateParams as MessageCreateParams
from ._core.params import MessageParam as MessageParam
from ._core.params import ThinkingConfigParam as ThinkingConfigParam
from ._core.params import ToolChoiceParam as ToolChoiceParam

__all__ = sorted(
    {
        *_blocks_all,
        *_events_all,
        *_param_types_all,
        "Message",
        "MessageCountTokensParams",
        "MessageCreateParams",
        "MessageParam",
        "StopDetails",
        "ThinkingConfigParam",
        "ToolChoiceParam",
    }
)

_claim_public(__name__, globals())
del _claim_public
