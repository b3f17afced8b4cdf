"""The Messages API's objects: messages, content blocks, deltas, usage and stream events,
and the request parameter types.

Pydantic models (every one keeps unknown fields) and the derived events of a stream;
``TypedDict`` types for the request parameters (``MessageCreateParams`` and the types of
its fields).
"""

from . import _claim_public
from ._core.schema.blocks import *  # noqa: F403
from ._core.schema.blocks import __all__ as _blocks_all
from ._core.schema.models import Message as Message
from ._core.schema.models import StopDetails as StopDetails
from ._core.schema.param_types import *  # noqa: F403
from ._core.schema.param_types import __all__ as _param_types_all
from ._core.schema.params import MessageCountTokensParams as MessageCountTokensParams
from ._core.schema.params import MessageCreateParams as MessageCreateParams
from ._core.schema.params import MessageParam as MessageParam
from ._core.schema.params import ThinkingConfigParam as ThinkingConfigParam
from ._core.schema.params import ToolChoiceParam as ToolChoiceParam
from ._core.stream.events import *  # noqa: F403
from ._core.stream.events import __all__ as _events_all
from ._core.typed_json.tools import RunnerTool as RunnerTool

__all__ = sorted(
    {
        *_blocks_all,
        *_events_all,
        *_param_types_all,
        "Message",
        "MessageCountTokensParams",
        "MessageCreateParams",
        "MessageParam",
        "RunnerTool",
        "StopDetails",
        "ThinkingConfigParam",
        "ToolChoiceParam",
    }
)

_claim_public(__name__, globals())
del _claim_public
