"""Usage budgets: what a tool runner, a fan-out or your own scope may spend.

:class:`~trio_msgstream.UsageLimits` (also at the top level) names the limits; a
:class:`UsageTracker` holds the running totals of one budget and can be shared by
several runners, fan-outs and streams (pass it as ``usage_limits=``); a
:class:`RunUsage` is a snapshot of those totals. Passing a limit raises
:class:`~trio_msgstream.UsageLimitExceeded`.
"""

from . import _claim_public
from ._core.agents.usage_limits import UsageLimits as UsageLimits
from ._core.agents.usage_limits import UsageTracker as UsageTracker
from ._core.exceptions import UsageLimitExceeded as UsageLimitExceeded
from ._core.usage import RunUsage as RunUsage

__all__ = ["RunUsage", "UsageTracker"]

_claim_public(__name__, globals())
del _claim_public
