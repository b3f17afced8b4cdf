"""The usage totals of a run or a group: a plain value (the base of the core).

:class:`RunUsage` is what :class:`~trio_msgstream.UsageLimitExceeded` carries and what
the usage trackers (``_core/agents/usage_limits.py``) hand out; it lives here, below
both, so the exceptions module can name it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunUsage"]


@dataclass(frozen=True)
class RunUsage:
    """What a run or a group has used so far (a snapshot)."""

    requests: int = 0
    """Requests sent (retries are not counted)."""
    tool_calls: int = 0
    """Tool calls run by the tool runner."""
    input_tokens: int = 0
    """Uncached input tokens, as the API reports them."""
    cache_creation_input_tokens: int = 0
    """Input tokens written to the prompt cache."""
    cache_read_input_tokens: int = 0
    """Input tokens read from the prompt cache."""
    output_tokens: int = 0
    """Output tokens (while a reply streams, an estimate: see ``_core/agents/usage_limits.py``)."""

    @property
    def total_input_tokens(self) -> int:
        """Every input token: uncached, cache writes and cache reads."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total_tokens(self) -> int:
        """Every input token plus the output tokens."""
        return self.total_input_tokens + self.output_tokens
