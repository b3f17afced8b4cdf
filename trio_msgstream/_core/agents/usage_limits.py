"""Usage limits: a budget of requests, tokens and tool calls shared by a run or a group.

Part of the sans-IO core (no trio, no httpx): the accounting rules live here; the
request session, the tool runners and the fan-out only call them.

Theory of operation::

    UsageLimits (a value)          UsageTracker (the running totals of one scope:
      request_limit ...              a tool runner, a fan-out, or your own)
            │                                │
            └──── usage_limits= ─────────────┤  every request of the scope carries it
                                             ▼  (RequestSpec.usage)
    RequestSession.begin_attempt ──▶ check_request() then begin_request(): a request
                                     that would pass request_limit is not sent
    RequestSession.receive_data  ──▶ RequestUsage.observe(events): message_start and
                                     message_delta usage, and an estimate of the output
                                     while the reply streams; past a limit it raises
                                     UsageLimitExceeded and the stream is cut at once
    RequestSession.succeed       ──▶ RequestUsage.settle(message): the usage of a reply
                                     that was not streamed
    tool runner, before a turn's
    tools run                    ──▶ UsageTracker.count_tool_calls(n)

Counting rules:

- A request is one logical request: its retries are not requests of their own, but
  what an attempt that failed had already reported stays counted (it was billed).
- ``input_tokens`` of :class:`RunUsage` is the API's (uncached input only); the input
  limit and the total limit count every input token: ``input_tokens`` plus cache
  writes (``cache_creation_input_tokens``) plus cache reads (``cache_read_input_tokens``).
- The API reports a reply's output tokens in ``message_delta``, at the end. While the
  reply streams, its output is counted as one token per non-empty content delta (a
  delta never holds less than one token); the reported count replaces that estimate
  when it arrives. So an output or total limit cuts a stream soon after it is passed,
  not only at its end.
- A reply whose usage lists ``iterations`` (compaction, an advisor, a refusal
  fallback's spliced stream) counts the sum of its iterations: the top-level counts
  are the last sampling's only.
- A middleware that sends more HTTP requests for one request (the refusal fallback's
  hops) counts each as a request (:meth:`RequestUsage.count_hop`; one that would pass
  ``request_limit`` is not sent) and the usage of each reply it read and replaced
  (:meth:`RequestUsage.hop_reply`); resends of a hop (without ``speed``, without the
  prefill) are its retries, not requests.
- A limit is passed when a total goes over it (``>``): a limit of 100 allows 100.
  Once a tracker's token limit is passed, every further request of it is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ..exceptions import UsageLimitExceeded
from ..usage import RunUsage

__all__ = ["RequestUsage", "RunUsage", "UsageLimits", "UsageTracker", "scope_tracker"]

_INPUT, _CACHE_WRITE, _CACHE_READ, _OUTPUT = range(4)
_TOKEN_FIELDS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)


@dataclass(frozen=True)
class UsageLimits:
    """Limits on what a tool runner, a fan-out or a stream may spend.

    Every limit is optional (``None``: no limit). Pass it as ``usage_limits=`` to
    ``messages.tool_runner``, :func:`~trio_msgstream.open_fan_out`, ``messages.stream``,
    ``messages.create`` and :func:`~trio_msgstream.open_message_stream`; going over a
    limit raises :class:`~trio_msgstream.UsageLimitExceeded`.

    Args:
        request_limit: Most requests (retries are not counted); the request that
            would pass it is not sent.
        input_tokens_limit: Most input tokens, cache reads and writes included.
        output_tokens_limit: Most output tokens; a stream that passes it is cut.
        total_tokens_limit: Most input plus output tokens.
        tool_calls_limit: Most tool calls the tool runner runs; a turn whose calls
            would pass it runs none of them.
    """

    request_limit: int | None = None
    input_tokens_limit: int | None = None
    output_tokens_limit: int | None = None
    total_tokens_limit: int | None = None
    tool_calls_limit: int | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{item.name} must be an int or None, not {value!r}")
            if value < 0:
                raise ValueError(f"{item.name} must be >= 0, not {value}")

    @property
    def has_token_limits(self) -> bool:
        """Whether any token limit is set."""
        return (
            self.input_tokens_limit is not None
            or self.output_tokens_limit is not None
            or self.total_tokens_limit is not None
        )

    # A UsageLimits passed to one request is a budget of that request alone.

    def check_request(self) -> None:
        """Raise :class:`UsageLimitExceeded` if one more request would pass the limits."""
        UsageTracker(self).check_request()

    def begin_request(self) -> RequestUsage:
        """Count a request against a fresh tracker of these limits."""
        return UsageTracker(self).begin_request()


class UsageTracker:
    """The running totals of one budget, shared by every request that names it.

    The tool runner and the fan-out make one from their ``usage_limits=`` (read it as
    ``runner.usage`` / ``fan_out.usage``); make your own to share one budget between
    several runners, fan-outs and streams, and pass it as ``usage_limits=``. Safe to
    share between threads (the sync client).

    Args:
        limits: The limits (``None``: count only).
    """

    def __init__(self, limits: UsageLimits | None = None) -> None:
        if limits is not None and not isinstance(limits, UsageLimits):
            raise TypeError(f"limits must be a UsageLimits, not {limits!r}")
        self.limits: UsageLimits = limits if limits is not None else UsageLimits()
        self._lock = threading.Lock()
        self._requests = 0
        self._tool_calls = 0
        self._tokens = [0, 0, 0, 0]
        self._exceeded: UsageLimitExceeded | None = None

    def __repr__(self) -> str:
        return f"UsageTracker(limits={self.limits!r}, usage={self.usage!r})"

    @property
    def usage(self) -> RunUsage:
        """The totals so far (readable while requests run)."""
        with self._lock:
            return self._snapshot()

    @property
    def exceeded(self) -> UsageLimitExceeded | None:
        """The error raised when a limit was first passed, else ``None``."""
        return self._exceeded

    def _snapshot(self) -> RunUsage:
        tokens = self._tokens
        return RunUsage(
            requests=self._requests,
            tool_calls=self._tool_calls,
            input_tokens=tokens[_INPUT],
            cache_creation_input_tokens=tokens[_CACHE_WRITE],
            cache_read_input_tokens=tokens[_CACHE_READ],
            output_tokens=tokens[_OUTPUT],
        )

    def _error(self, limit: str, value: int, what: str, amount: int, partial: Any) -> Any:
        error = UsageLimitExceeded(
            f"usage limit passed: {limit}={value}, {what} {amount}",
            usage=self._snapshot(),
            limit=limit,
            partial_message=partial,
        )
        if self._exceeded is None:
            self._exceeded = error
        return error

    # -- requests ----------------------------------------------------------------------

    def check_request(self) -> None:
        """Raise :class:`UsageLimitExceeded` if one more request would pass
        ``request_limit``, or a token limit is already passed."""
        with self._lock:
            self._check_request_locked()

    def _check_request_locked(self) -> None:
        limit = self.limits.request_limit
        if limit is not None and self._requests + 1 > limit:
            raise self._error("request_limit", limit, "requests would be", self._requests + 1, None)
        token_error = self._token_error(None)
        if token_error is not None:
            raise token_error

    def begin_request(self) -> RequestUsage:
        """Count one request (after :meth:`check_request`); returns its accounting."""
        self.count_request()
        return RequestUsage((self,))

    def count_request(self) -> None:
        """Count one request (after :meth:`check_request`).

        Raises:
            UsageLimitExceeded: It would pass a limit (it is not counted).
        """
        with self._lock:
            self._check_request_locked()
            self._requests += 1

    # -- tokens ------------------------------------------------------------------------

    def _add_tokens(self, delta: Sequence[int], partial: Any) -> None:
        with self._lock:
            tokens = self._tokens
            for index, amount in enumerate(delta):
                tokens[index] += amount
            error = self._token_error(partial)
        if error is not None:
            raise error

    def _token_error(self, partial: Any) -> UsageLimitExceeded | None:
        limits = self.limits
        tokens = self._tokens
        total_input = tokens[_INPUT] + tokens[_CACHE_WRITE] + tokens[_CACHE_READ]
        checks = (
            ("input_tokens_limit", limits.input_tokens_limit, "input tokens", total_input),
            ("output_tokens_limit", limits.output_tokens_limit, "output tokens", tokens[_OUTPUT]),
            (
                "total_tokens_limit",
                limits.total_tokens_limit,
                "tokens",
                total_input + tokens[_OUTPUT],
            ),
        )
        for name, limit, what, amount in checks:
            if limit is not None and amount > limit:
                return self._error(name, limit, what, amount, partial)  # type: ignore[no-any-return]
        return None

    # -- tool calls --------------------------------------------------------------------

    def count_tool_calls(self, count: int) -> None:
        """Count ``count`` tool calls about to run.

        Raises:
            UsageLimitExceeded: They would pass ``tool_calls_limit`` (none is counted).
        """
        with self._lock:
            limit = self.limits.tool_calls_limit
            if limit is not None and self._tool_calls + count > limit:
                raise self._error(
                    "tool_calls_limit", limit, "tool calls would be", self._tool_calls + count, None
                )
            self._tool_calls += count


class RequestUsage:
    """The accounting of one request against one or more trackers.

    Fed by the request session: :meth:`new_attempt` at each retry, :meth:`observe`
    with the events of a stream, :meth:`settle` with a reply read whole.
    """

    __slots__ = ("_attempt", "_base", "_counted", "_deltas", "_final", "_trackers")

    def __init__(self, trackers: Sequence[UsageTracker]) -> None:
        self._trackers = tuple(trackers)
        self._base = [0, 0, 0, 0]
        """What earlier attempts reported (billed, so kept)."""
        self._counted = [0, 0, 0, 0]
        """What has been added to the trackers for this request."""
        self._attempt = [0, 0, 0, 0]
        """The current attempt's usage as reported."""
        self._deltas = 0
        """Non-empty content deltas of the current attempt (the output estimate)."""
        self._final = False
        """The current attempt's ``message_delta`` (its exact output) has arrived."""

    def check_hop(self) -> None:
        """Raise :class:`UsageLimitExceeded` if one more HTTP request of this request
        (a middleware's hop) would pass a limit of any tracker."""
        for tracker in self._trackers:
            tracker.check_request()

    def count_hop(self) -> None:
        """Count a middleware's hop as one more request of every tracker (after
        :meth:`check_hop`: it raises like it)."""
        for tracker in self._trackers:
            tracker.count_request()

    def hop_reply(self, usage: Any) -> None:
        """Count the usage of a whole reply a middleware read and replaced (a refused
        reply): billed, so it stays counted like a failed attempt's.

        Raises:
            UsageLimitExceeded: A token limit is passed.
        """
        self.new_attempt()
        _merge(self._attempt, _Reply(usage).usage)
        self._final = True
        try:
            self._push(None)
        finally:
            self.new_attempt()

    def new_attempt(self) -> None:
        """A retry begins: what the failed attempt reported stays counted."""
        self._base = list(self._counted)
        self._attempt = [0, 0, 0, 0]
        self._deltas = 0
        self._final = False

    def observe(self, events: Iterable[Any], partial: Any = None) -> None:
        """Take a batch of stream events; raise once a limit is passed.

        Args:
            events: The events the engine decoded from a chunk.
            partial: A callable returning the message so far (for the error).
        """
        changed = False
        attempt = self._attempt
        for event in events:
            kind = event.type
            if kind == "content_block_delta":
                if not self._final and not _empty_delta(event):
                    self._deltas += 1
                    changed = True
            elif kind == "message_start":
                usage = getattr(event.message, "usage", None)
                if usage is not None:
                    _merge(attempt, usage)
                    changed = True
            elif kind == "message_delta":
                _merge(attempt, event.usage)
                self._final = True
                changed = True
        if changed:
            self._push(partial)

    def settle(self, message: Any) -> None:
        """Take the usage of a reply read whole (a non-streaming request)."""
        usage = getattr(message, "usage", None)
        if usage is None or self._final:
            return
        _merge(self._attempt, usage)
        self._final = True
        self._push(lambda: message)

    def _push(self, partial: Any) -> None:
        current = list(self._attempt)
        if not self._final:
            current[_OUTPUT] = max(current[_OUTPUT], self._deltas)
        total = [base + now for base, now in zip(self._base, current, strict=True)]
        delta = [now - before for now, before in zip(total, self._counted, strict=True)]
        self._counted = total
        if not any(delta):
            return
        message = partial() if callable(partial) else partial
        error: UsageLimitExceeded | None = None
        for tracker in self._trackers:
            try:
                tracker._add_tokens(delta, message)
            except UsageLimitExceeded as exc:
                error = error or exc  # every tracker counts; the first error is raised
        if error is not None:
            raise error


class _Reply:
    """A reply's usage given as the API's JSON (a mapping) or a usage object."""

    __slots__ = ("usage",)

    def __init__(self, usage: Any) -> None:
        self.usage = _UsageView(usage) if isinstance(usage, dict) else usage


class _UsageView:
    """A usage mapping read as attributes (what :func:`_merge` reads)."""

    def __init__(self, usage: dict[str, Any]) -> None:
        self._usage = usage

    def __getattr__(self, name: str) -> Any:
        value = self._usage.get(name)
        if name == "iterations" and isinstance(value, list):
            return [_UsageView(item) for item in value if isinstance(item, dict)]
        return value


def _merge(into: list[int], usage: Any) -> None:
    """Apply a usage object (``Usage`` or ``MessageDeltaUsage``): a field that is set
    replaces the value (the API's counts are cumulative).

    With ``usage.iterations`` (a reply made of several samplings: compaction, an
    advisor, a refusal fallback's hops), the top-level counts are the last iteration's
    only: what was billed is the sum over the iterations, and that is what counts
    (never less than the top level: an iteration may leave a count out).
    """
    for index, name in enumerate(_TOKEN_FIELDS):
        value = getattr(usage, name, None)
        if isinstance(value, int):
            into[index] = value
    iterations = getattr(usage, "iterations", None)
    if isinstance(iterations, list) and iterations:
        sums = [0, 0, 0, 0]
        for iteration in iterations:
            for index, name in enumerate(_TOKEN_FIELDS):
                value = getattr(iteration, name, None)
                if isinstance(value, int):
                    sums[index] += value
        into[:] = [max(now, total) for now, total in zip(into, sums, strict=True)]


def _empty_delta(event: Any) -> bool:
    data = getattr(event, "data", None)
    if isinstance(data, str):  # a delta the engine has not built yet (lazy)
        return data.endswith('""}}')
    if isinstance(data, bytes):  # (lazy, read straight from the chunk)
        return data.endswith(b'""}}')
    delta = getattr(event, "delta", None)
    for name in ("text", "partial_json", "thinking"):
        value = getattr(delta, name, None)
        if isinstance(value, str):
            return not value
    return False


def scope_tracker(value: Any) -> UsageTracker:
    """The tracker of a scope's ``usage_limits=`` (a tool runner, a fan-out): the one
    given, a new one for a :class:`UsageLimits`, or one that only counts for ``None``."""
    if isinstance(value, UsageTracker):
        return value
    if value is None or isinstance(value, UsageLimits):
        return UsageTracker(value)
    raise TypeError(f"usage_limits must be a UsageLimits or a UsageTracker, not {value!r}")
