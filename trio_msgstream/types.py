"""The Messages API's objects: messages, content blocks, deltas, usage and stream events.

Pydantic models (every one keeps unknown fields) and the derived events of a stream.
"""

from ._core.events import *  # noqa: F403
from ._core.events import __all__ as _events_all
from ._core.models import *  # noqa: F403
from ._core.models import __all__ as _models_all

__all__ = sorted({*_models_all, *_events_all})
