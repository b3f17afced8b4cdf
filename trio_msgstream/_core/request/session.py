"""The request session: one request's life across its attempts, without I/O.

Part of the sans-IO core (no trio, no httpx; time is passed in as ``now``). Every
request of both clients goes through a :class:`RequestSession`: the trio producer, the
raw stream, non-streaming ``create()``, the endpoints and the sync client are I/O loops
that feed it response heads, body bytes and the time, and do what it says.

Theory of operation::

    driver                                  RequestSession
    ──────                                  ──────────────
    begin_attempt(now)                 ──▶  counts the attempt; the deadline may
                                            already have passed (APITimeoutError)
    send spec; response head arrives
    head_verdict(status, headers)      ──▶  None: go on / N: read N bytes of the
                                            body, then head_error(...) is the error
    receive_data(chunk, now)           ──▶  events to hand to the consumer now
                                            (held back until the first content)
    receive_eof()                      ──▶  the last events (or IncompleteStreamError)
    idle_deadline / deadline_at        ──▶  when the driver must give up waiting
    pause_idle(now) / resume_idle(now) ──▶  the consumer's own time is not idle time
    after_failure(error, now)          ──▶  seconds to wait before the next attempt,
                                            or raises the error that ends the request

Retry rules: the budget is ``spec.max_retries`` for the whole request; a failure is
retried when :func:`is_retryable` says so and nothing but ``message_start`` and pings
has been handed to the consumer; the wait honours ``retry-after-ms``/``retry-after``
and never runs past the deadline (then the deadline error is raised at once).

``content_idle``: the time since the last event that is not a ping, not counting the
time the consumer holds the events it was given. The idle deadline is kept in steps of
``content_idle / 1000`` so that a driver using a cancel scope moves the scope's
deadline rarely: the timeout fires between ``content_idle`` and
``content_idle * 1.001`` after the last content.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from typing_extensions import TypedDict

from ..exceptions import APIError, APITimeoutError, StreamClosedError, StreamProtocolError
from ..observe.telemetry import BodyParams, RequestObservation, observe_request
from ..redact import redact_bytes
from ..schema.models import Message, Usage
from ..stream.engine import FRAMINGS, Framing, StreamEngine, media_type
from ..stream.events import MessageStreamEvent
from ..stream.handlers import is_content
from ..stream.sse import SNIFF_LIMIT, sniff_event_stream
from .retry import error_headers, is_retryable, retry_delay
from .spec import RequestSpec, UsageWatch
from .status import MAX_ERROR_BODY, request_id_of, status_error

__all__ = ["CONTENT_TYPE_PREVIEW", "RequestSession", "SessionLabels", "SessionMode"]

logger = logging.getLogger("trio_msgstream")

SessionMode = Literal["stream", "raw", "body"]
"""``stream``: an accumulated event stream; ``raw``: wire events only; ``body``: a
whole JSON (or JSONL) body, no events."""

CONTENT_TYPE_PREVIEW = 1024
"""Bytes of a response with the wrong content type that are read for the error."""

GENERIC_TEXT = frozenset({"text/plain"})
"""Content types that say nothing about the body (a mock's ``Response(200, text=...)``
is ``text/plain``): an event stream is accepted under them when its body is one, as
without any content type; an HTML page, JSON or a plain-text error is still refused."""

_MAX_HELD_PINGS = 1
"""Pings kept while events are held back: more would only cost memory."""


class SessionLabels(TypedDict, total=False):
    """What a request is, for telemetry."""

    operation: str
    """Its name: ``chat`` for Messages, ``count_tokens``, ``models.list``, ..."""
    params: Mapping[str, Any] | None
    """Its parameters (the model, max_tokens, ...)."""


class RequestSession:
    """The state and rules of one request across its attempts.

    Args:
        spec: The request.
        now: The current time of the driver's clock (seconds).
        mode: What the response body is (see :data:`SessionMode`).
        operation: The request's name for telemetry.
        params: The request's parameters, for telemetry (the model, max_tokens).
        framings: The stream framings the client accepts, by media type (a response
            of another content type is refused); :data:`~.engine.FRAMINGS` unless told.
    """

    __slots__ = (
        "_batch_had_content",
        "_ended",
        "_framings",
        "_held",
        "_held_pings",
        "_idle",
        "_label",
        "_last_error",
        "_paused_remaining",
        "_slack",
        "_unlabelled",
        "_usage",
        "attempts",
        "content_delivered",
        "deadline_at",
        "engine",
        "idle_deadline",
        "mode",
        "observation",
        "request_id",
        "spec",
        "transport_read_limit",
    )

    def __init__(
        self,
        spec: RequestSpec,
        *,
        now: float,
        mode: SessionMode,
        operation: str = "chat",
        params: Mapping[str, Any] | None = None,
        server_address: str | None = None,
        provider: str | None = None,
        framings: Mapping[str, Framing] = FRAMINGS,
    ) -> None:
        self.mode: SessionMode = mode
        self._framings = framings
        timeout = spec.timeout
        read_limit = timeout.read
        if mode == "raw" and timeout.content_idle is not None:
            # The raw stream is read by its consumer, one read at a time: with the
            # transport's read timeout at most content_idle, a read right after
            # content needs no cancel scope of its own (see transport_read_limit).
            if read_limit is None or timeout.content_idle < read_limit:
                read_limit = timeout.content_idle
                spec = replace(spec, timeout=timeout.with_(read=read_limit))
        self.spec: RequestSpec = spec
        self.transport_read_limit: float = read_limit if read_limit is not None else math.inf
        """The transport's own read timeout: a wait for the network that may last at
        least this long is bounded by the transport, and needs no cancel scope."""
        deadline = timeout.deadline
        self.deadline_at: float = now + deadline if deadline is not None else math.inf
        """When the whole request must be over (``inf``: never)."""
        self._idle = timeout.content_idle if mode != "body" else None
        self._slack = self._idle / 1000 if self._idle is not None else 0.0
        self.idle_deadline: float = math.inf
        """When the stream is idle (stepped; ``inf`` while paused or without a limit)."""
        self._paused_remaining: float | None = None
        self.attempts: int = 0
        """Attempts begun (1 + retries)."""
        self.engine: StreamEngine | None = None
        """The current attempt's engine (stream and raw modes)."""
        self.content_delivered: bool = False
        """Content reached the consumer: nothing may be retried any more."""
        self._held: list[MessageStreamEvent] = []
        self._held_pings = 0
        self._last_error: APIError | None = None
        self._batch_had_content = False
        self.request_id: str | None = None
        """The ``request-id`` of the accepted response (stamped on the message)."""
        self._unlabelled: bytes | None = None
        """The start of a body without a content type, until it reads as an event
        stream (``None``: the content type said so, or the body did)."""
        self._label = ""
        """The content type of a body the body itself decides on (``""``: none)."""
        self._ended = False
        self._usage: list[UsageWatch] = []
        self.observation: RequestObservation = observe_request(
            operation=operation,
            params=params if params is not None else BodyParams(spec.body),
            stream=mode != "body",
            server_address=server_address,
            attempt_limit=spec.max_retries + 1,
            provider=provider,
        )

    @property
    def framings(self) -> Mapping[str, Framing]:
        """The stream framings this request's client accepts, by media type."""
        return self._framings

    # -- attempts ------------------------------------------------------------------------

    @property
    def retries(self) -> int:
        """Retries begun so far."""
        return max(self.attempts - 1, 0)

    def begin_attempt(self, now: float) -> None:
        """Start the next attempt. Raises the deadline error when no time is left."""
        if now >= self.deadline_at:
            raise self._finish_error(self.deadline_error())
        if self.attempts == 0:
            self._begin_usage()
        else:
            for watch in self._usage:
                watch.new_attempt()
        self.attempts += 1
        self.observation.attempt(self.attempts)
        if self.mode != "body":
            stream = self.mode == "stream"
            # The stream's consumer builds a lazy delta's typed event when it hands
            # it out (StreamConsumer), so only iterating every event pays for it.
            self.engine = StreamEngine(accumulate=stream, lazy_deltas=stream)
            self._held = []
            self._held_pings = 0
            self._reset_idle(now)

    def _begin_usage(self) -> None:
        # Every budget is asked before any counts the request: a request refused by
        # one budget is counted by none.
        budgets = self.spec.usage
        try:
            for budget in budgets:
                budget.check_request()
            self._usage = [budget.begin_request() for budget in budgets]
        except APIError as exc:  # UsageLimitExceeded: the request is not sent
            raise self._finish_error(exc) from None

    # -- a middleware's extra HTTP requests (HopUsage) ------------------------------------

    def count_hop(self) -> None:
        """A middleware sends one more HTTP request for this request (a refusal
        fallback's hop): it counts toward every ``usage_limits=`` budget.

        Raises:
            UsageLimitExceeded: It would pass ``request_limit`` (or a token limit is
                passed already): send nothing. Counted by no budget then.
        """
        for watch in self._usage:
            watch.check_hop()
        for watch in self._usage:
            watch.count_hop()

    def hop_reply(self, usage: Mapping[str, Any]) -> None:
        """The usage of a whole reply a middleware read and replaced (a refused reply):
        billed, so counted. Raises ``UsageLimitExceeded`` past a token limit."""
        for watch in self._usage:
            watch.hop_reply(usage)

    def after_failure(self, error: APIError, now: float) -> float:
        """Decide after a failed attempt: the seconds to wait before the next one.

        Raises:
            APIError: ``error`` (with the partial message attached) when it ends the
                request: not retryable, budget spent, content already delivered; or
                the deadline error when the wait would pass the deadline.
        """
        error = self.attach(self.explain_transport_timeout(error, now))
        if (
            self.attempts > self.spec.max_retries
            or self.content_delivered
            or not is_retryable(error)
        ):
            raise self._finish_error(error)
        delay = retry_delay(self.attempts - 1, headers=error_headers(error))
        self._last_error = error
        # A wait past the deadline is cut at the deadline, where begin_attempt
        # raises the deadline error (caused by this one).
        delay = min(delay, max(self.deadline_at - now, 0.0))
        self.observation.retry(attempt=self.attempts, delay=delay, error=error)
        return delay

    def attach(self, error: APIError) -> APIError:
        """Put the current attempt's partial message and request id on ``error``."""
        engine = self.engine
        return engine.fail(error) if engine is not None else error

    def fail(self, error: APIError, now: float | None = None) -> APIError:
        """Record the error that ends the request (after the attempt loop); return it.

        With ``now``, a transport timeout that really was the idle or request deadline
        is relabelled first (see :meth:`explain_transport_timeout`).
        """
        if now is not None:
            error = self.explain_transport_timeout(error, now)
        return self._finish_error(self.attach(error))

    def _finish_error(self, error: APIError) -> APIError:
        if not self._ended:
            self._ended = True
            self.observation.end(error=error)
        return error

    def abandon(self) -> None:
        """The request was closed or cancelled before it ended: record that (once;
        nothing happens after :meth:`succeed` or a recorded failure)."""
        if not self._ended:
            self._ended = True
            self.observation.end(error=StreamClosedError("closed before the request ended"))

    def succeed(self, result: Any = None) -> None:
        """Record the request's success (its final message or parsed body)."""
        if self._ended:
            return
        try:
            for watch in self._usage:
                watch.settle(result)
        except APIError as exc:  # UsageLimitExceeded, carrying the reply
            raise self._finish_error(exc) from None
        self._ended = True
        message = result if isinstance(result, Message) else None
        if message is not None and message._request_id is None:
            message._request_id = self.request_id
        usage = getattr(result, "usage", None) if message is None else message.usage
        input_tokens = getattr(result, "input_tokens", None)
        if usage is None and isinstance(input_tokens, int):
            usage = Usage(input_tokens=input_tokens)  # count_tokens: its answer is usage
        self.observation.end(message=message, usage=usage)

    # -- the response head ------------------------------------------------------------------

    def head_verdict(self, status_code: int, headers: Mapping[str, str]) -> int | None:
        """``None`` when the response is the one asked for; otherwise how many body
        bytes to read before :meth:`head_error` builds the error."""
        self.observation.response(status=status_code, request_id=request_id_of(headers))
        if not 200 <= status_code < 300:
            return MAX_ERROR_BODY
        self._unlabelled = None
        if self.mode != "body":
            content_type = headers.get("content-type", "")
            framing = self._framings.get(media_type(content_type))
            if not content_type or media_type(content_type) in GENERIC_TEXT:
                # Mocks often leave it out, or say ``text/plain`` (a mock response made
                # with ``text=``): the body itself decides (_check_unlabelled).
                self._unlabelled = b""
                self._label = content_type
            elif framing is None:
                return CONTENT_TYPE_PREVIEW
            elif self.engine is not None:
                self.engine.use_framing(framing)
        return None

    def head_error(
        self,
        status_code: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        response: Any = None,
        request: Any = None,
    ) -> APIError:
        """The typed error for a response :meth:`head_verdict` refused."""
        if not 200 <= status_code < 300:
            return status_error(
                status_code,
                body,
                request_id=request_id_of(headers),
                workspace_id=headers.get("anthropic-workspace-id"),
                response=response,
                request=request,
            )
        content_type = headers.get("content-type", "")
        return StreamProtocolError(
            f"expected content-type {' or '.join(self._framings)}, got {content_type!r}",
            request=request,
            body=body.decode("utf-8", "replace"),
        )

    def response_started(self, request_id: str | None, secrets: tuple[str, ...] = ()) -> None:
        """The response head was accepted: errors from now on carry its request id, and
        have the client's own ``secrets`` redacted from text the server sent."""
        self.request_id = request_id
        if self.engine is not None:
            self.engine.request_id = request_id
            self.engine.secrets = secrets

    # -- the body (stream and raw modes) ----------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[MessageStreamEvent]:
        """Feed body bytes; return the events to hand to the consumer now.

        In stream mode, until the first content event, events are held back (a
        failure can then still be retried without the consumer having seen anything):
        ``message_start`` and at most one ping are kept, so holding costs bounded
        memory.
        """
        engine = self.engine
        assert engine is not None
        events: list[MessageStreamEvent] = engine.receive_data(data)
        if not events:
            if self._unlabelled is not None:
                self._check_unlabelled(data)
            return events
        for watch in self._usage:
            watch.observe(events)  # raises UsageLimitExceeded past a limit
        self._batch_had_content = False
        if self._idle is not None:
            for event in events:
                if event.type != "ping":
                    self._batch_had_content = True
                    if now + self._idle > self.idle_deadline:
                        self.idle_deadline = now + self._idle + self._slack
                    break
        if self.content_delivered or self.mode != "stream":
            return events
        return self._hold(events)

    def receive_eof(self) -> list[MessageStreamEvent]:
        """The end of the body: the last events (held ones included).

        Raises:
            IncompleteStreamError: The body ended before ``message_stop``.
        """
        engine = self.engine
        assert engine is not None
        if self._unlabelled and not engine.events_received:
            raise self._not_an_event_stream(self._unlabelled)
        tail: list[MessageStreamEvent] = engine.receive_eof()
        events = self._held + tail
        self._held = []
        if events:
            self.content_delivered = True
        return events

    def _check_unlabelled(self, data: bytes) -> None:
        # Called only for chunks that gave no event: a body that gave one is a stream.
        engine = self.engine
        assert engine is not None
        head = self._unlabelled + data[:SNIFF_LIMIT] if self._unlabelled is not None else b""
        verdict = True if engine.events_received else sniff_event_stream(head)
        if verdict is None:
            self._unlabelled = head
            return
        self._unlabelled = None
        if not verdict:
            raise self._not_an_event_stream(head)

    def _not_an_event_stream(self, head: bytes) -> StreamProtocolError:
        secrets = self.engine.secrets if self.engine is not None else ()
        label = repr(self._label) if self._label else "none"
        return StreamProtocolError(
            f"expected content-type text/event-stream, got {label}, and the body is not an "
            "event stream",
            body=redact_bytes(head, secrets).decode("utf-8", "replace"),
        )

    @property
    def done(self) -> bool:
        """``message_stop`` has been received: the consumer needs nothing more."""
        return self.engine is not None and self.engine.done

    def _hold(self, events: list[MessageStreamEvent]) -> list[MessageStreamEvent]:
        held = self._held
        for position, event in enumerate(events):
            if is_content(event):
                out = held + events[position:]
                self._held = []
                self.content_delivered = True
                self.observation.first_token()
                return out
            if event.type == "ping":
                if self._held_pings >= _MAX_HELD_PINGS:
                    continue
                self._held_pings += 1
            held.append(event)
        return []

    # -- timeouts ---------------------------------------------------------------------------

    def _reset_idle(self, now: float) -> None:
        self._paused_remaining = None
        self.idle_deadline = now + self._idle + self._slack if self._idle is not None else math.inf

    def pause_idle(self, now: float) -> None:
        """The consumer holds the events: its time does not count as idle."""
        if self._idle is not None and self._paused_remaining is None:
            self._paused_remaining = self.idle_deadline - now
            self.idle_deadline = math.inf

    def consumer_holds(self, now: float) -> None:
        """A consumer that reads the network itself (raw and sync streams) was handed
        the last batch: its time until it asks again is not idle time when the batch
        had content. After a batch of pings alone it is: a slow consumer of a
        ping-only stream must still time out."""
        if self._batch_had_content:
            self.pause_idle(now)

    def resume_idle(self, now: float) -> float:
        """The driver waits for the network again; returns :attr:`wait_deadline`, the
        end of that wait."""
        remaining = self._paused_remaining
        if remaining is not None:
            self._paused_remaining = None
            self.idle_deadline = now + remaining
        idle = self.idle_deadline
        deadline = self.deadline_at
        return idle if idle < deadline else deadline

    @property
    def wait_deadline(self) -> float:
        """When the current wait for the network must end: the idle or the request
        deadline, whichever is first."""
        return min(self.idle_deadline, self.deadline_at)

    def timeout_error(self, now: float) -> APITimeoutError:
        """The error for a wait cut at :attr:`wait_deadline`: deadline or content_idle."""
        if now >= self.deadline_at:
            return self.deadline_error()
        return APITimeoutError(
            f"no event but pings for {self._idle} s (content_idle timeout)", which="content_idle"
        )

    def deadline_error(self) -> APITimeoutError:
        """The error for a request past its ``deadline``, caused by the failure that
        was being retried when it passed (if any).

        One rule for every driver: whether the deadline is noticed by
        :meth:`begin_attempt` or by a cancel scope that cut the wait before it, the
        error is the same.
        """
        error = APITimeoutError(
            f"the request's deadline of {self.spec.timeout.deadline} s passed", which="deadline"
        )
        error.__cause__ = self._last_error
        return error

    def transport_timeouts(self, now: float) -> tuple[float | None, ...]:
        """``(connect, read, write, pool)`` for a transport that cannot be cancelled
        (the sync client): each limit clamped to what is left of the request's
        deadline, and ``read`` also to the idle deadline, so that a stalled wait
        wakes the driver in time."""
        timeout = self.spec.timeout
        remaining = self.deadline_at - now

        def clamp(value: float | None, *others: float) -> float | None:
            candidates = [v for v in (value, *others) if v is not None and v != math.inf]
            return max(min(candidates), 0.0) if candidates else None

        return (
            clamp(timeout.connect, remaining),
            clamp(timeout.read, remaining, self.idle_deadline - now),
            clamp(timeout.write, remaining),
            clamp(timeout.pool, remaining),
        )

    def explain_transport_timeout(self, error: APIError, now: float) -> APIError:
        """A transport read timeout that really was the idle or request deadline,
        relabelled (the sync client clamps its read timeout to them)."""
        if not isinstance(error, APITimeoutError) or error.which not in ("read", "connect"):
            return error
        if now >= self.deadline_at - 0.001:
            relabelled = self.deadline_error()
        elif error.which == "read" and now >= self.idle_deadline - self._slack - 0.001:
            relabelled = self.timeout_error(now)
        else:
            return error
        relabelled.request = error.request
        relabelled.__cause__ = error.__cause__
        return relabelled
