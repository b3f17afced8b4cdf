"""The refusal-fallback middleware's rules: which requests it takes, how each hop's
request is built, which hop a conversation is pinned to, and the run of a chain.

Part of the sans-IO core. :class:`BetaRefusalFallbackMiddleware` is the middleware
users install; its ``handle`` / ``handle_async`` are the drivers' thin loops
(``_sync.fallback``, ``_trio.fallback``, registered here when the clients are
imported), which send what :class:`BodyRun` and :class:`StreamRun` say and feed them
what comes back. The splice of streamed events is :mod:`.splice`.

Request rules, as the official SDK's middleware:

- Only ``POST /v1/messages`` made through ``client.beta.messages``; an empty chain
  disables the middleware; a request that sends ``fallbacks`` itself is an error.
- The configured betas (default ``fallback-credit-2026-07-01``) are added to the
  ``anthropic-beta`` header of the request and every hop.
- ``fallback`` seam blocks replayed in the history are stripped (an assistant turn left
  empty is dropped).
- Each entry patches the ORIGINAL params: a value overrides, ``None`` unsets, absent
  keeps; ``output_config`` one level deep; a ``between_tools`` thinking config becomes
  ``disabled`` unless the entry sets ``thinking``. The refusal's credit token goes in as
  ``{"token": ..., "mode": "best_effort"}``.
- A ``speed: "fast"`` request inherited by an entry without ``speed`` and refused
  there with 429/529 is resent once without ``speed``.
- :class:`BetaFallbackState` pins the requests made inside it to the entry that
  accepted (a context variable: trio tasks started inside the block inherit it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from ..exceptions import MsgStreamError
from .chain import AsyncCallNext, CallNext, Middleware
from .request import APIRequest
from .splice import ChainState, Frame, HopFailure, HopOutcome, HopReader, seam_block

__all__ = [
    "DEFAULT_BETAS",
    "BetaFallbackState",
    "BetaRefusalFallbackMiddleware",
    "BodyRun",
    "Prepared",
    "StreamRun",
    "count_hop",
    "count_replaced",
    "register_fallback_driver",
    "speed_resend",
]

logger = logging.getLogger("trio_msgstream.middleware")

DEFAULT_BETAS: tuple[str, ...] = ("fallback-credit-2026-07-01",)
"""Sent by default on every request the middleware handles (the ``betas`` option)."""

MESSAGES_PATH = "/v1/messages"


class BetaFallbackState:
    """Which fallback a sequence of requests is pinned to.

    Enter it (``with state:``, for either client) around the requests that should
    share the pin, typically the turns of one conversation; the middleware sets
    :attr:`index` when a fallback accepts, and later requests start there.
    """

    index: int | None
    """The chain entry requests start at; ``None`` (or -1): the original params."""

    def __init__(self) -> None:
        self.index = None

    def __enter__(self) -> BetaFallbackState:
        token = _state.set(self)
        _tokens.set((*_tokens.get(), token))
        return self

    def __exit__(self, *exc_info: object) -> None:
        tokens = _tokens.get()
        _tokens.set(tokens[:-1])
        _state.reset(tokens[-1])

    def __repr__(self) -> str:
        return f"BetaFallbackState(index={self.index!r})"


_state: ContextVar[BetaFallbackState | None] = ContextVar("trio_msgstream_fallback", default=None)
# Each context's own reset tokens (innermost last): one state may be entered by several
# tasks or threads at once, and a token resets only in the context that made it.
_tokens: ContextVar[tuple[Token[BetaFallbackState | None], ...]] = ContextVar(
    "trio_msgstream_fallback_tokens", default=()
)


# -- request rules ------------------------------------------------------------------------


def patch(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` over ``base``: a value overrides, ``None`` unsets (a fresh dict)."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def apply_entry(body: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """A chain entry applied to the original params (see the module notes)."""
    out = patch(body, entry)
    thinking = body.get("thinking")
    if (
        "thinking" not in entry
        and isinstance(thinking, dict)
        and thinking.get("type") == "between_tools"
    ):
        out["thinking"] = {"type": "disabled"}
    output_config = entry.get("output_config")
    if isinstance(output_config, dict):
        original = body.get("output_config")
        merged = patch(original if isinstance(original, dict) else {}, output_config)
        if merged:
            out["output_config"] = merged
        else:
            out.pop("output_config", None)
    return out


def credit_token_param(token: str) -> dict[str, str]:
    """The hop's ``fallback_credit_token``: best effort, so a redemption failure does
    not fail the hop."""
    return {"token": token, "mode": "best_effort"}


def strip_seams(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the ``fallback`` blocks of replayed turns (the server rejects
    them); an assistant turn left empty is dropped."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return body
    changed = False
    kept_messages: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            kept_messages.append(message)
            continue
        kept = [b for b in content if not (isinstance(b, dict) and b.get("type") == "fallback")]
        if len(kept) == len(content):
            kept_messages.append(message)
            continue
        changed = True
        if kept or message.get("role") != "assistant":
            kept_messages.append({**message, "content": kept})
    return {**body, "messages": kept_messages} if changed else body


def with_betas(request: APIRequest, betas: Sequence[str]) -> APIRequest:
    """``request`` with ``betas`` added to its ``anthropic-beta`` header (once each)."""
    current = request.headers.get("anthropic-beta", "")
    present = {b.strip() for b in current.split(",")}
    added = [b for b in dict.fromkeys(betas) if b not in present]
    if not added:
        return request
    value = ",".join(filter(None, [current, *added]))
    return request.copy(headers={**request.headers, "anthropic-beta": value})


def speed_resend(request: APIRequest, entry: Mapping[str, Any], status: int) -> APIRequest | None:
    """The hop's request again without ``speed`` when it inherited ``fast`` and was
    refused for capacity (429/529); ``None`` when the answer stands. ``speed`` is
    dropped, not set to ``standard``: a model without fast mode rejects it."""
    body = request.json
    if (
        status not in (429, 529)
        or "speed" in entry
        or not isinstance(body, dict)
        or body.get("speed") != "fast"
    ):
        return None
    logger.warning(
        "BetaRefusalFallbackMiddleware: fast fallback request to %s was rejected (HTTP %s); "
        "retrying without `speed`",
        entry.get("model"),
        status,
    )
    return request.copy(body=patch(body, {"speed": None}))


def count_hop(request: APIRequest) -> None:
    """A hop is about to be sent for ``request``: one more request of its
    ``usage_limits=`` budgets (raises ``UsageLimitExceeded`` when it would pass one)."""
    if request._hops is not None:
        request._hops.count_hop()


def count_replaced(request: APIRequest, message: Any) -> None:
    """A refused reply (JSON) is replaced by the next hop's: its usage was billed."""
    usage = message.get("usage") if isinstance(message, dict) else None
    if request._hops is not None and isinstance(usage, dict):
        request._hops.hop_reply(usage)


def refusal_of(message: Any) -> tuple[str | None, str | None] | None:
    """``(credit token, category)`` of a refused message (JSON), else ``None``."""
    if not isinstance(message, dict) or message.get("stop_reason") != "refusal":
        return None
    details = message.get("stop_details")
    if not isinstance(details, dict) or details.get("type") != "refusal":
        return None, None
    token = details.get("fallback_credit_token")
    category = details.get("category")
    return (
        token if isinstance(token, str) and token else None,
        category if isinstance(category, str) else None,
    )


# -- the runs of a chain -------------------------------------------------------------------


@dataclass
class Prepared:
    """A request the middleware takes: the original params and where it starts."""

    request: APIRequest
    """With the betas; every hop is derived from it."""
    body: dict[str, Any]
    """The original params (seams stripped): every hop patches these."""
    initial: APIRequest
    start: int
    """The entry the request starts at (-1: the original params)."""
    fallbacks: tuple[dict[str, Any], ...]
    pin: Callable[[int], None]

    @property
    def initial_entry(self) -> dict[str, Any] | None:
        return self.fallbacks[self.start] if self.start >= 0 else None

    @property
    def initial_model(self) -> str:
        body = self.initial.json
        return str(body.get("model") or "") if isinstance(body, dict) else ""


class BodyRun:
    """A non-streaming chain: retry each refusal with the next entry; one seam block
    per model boundary in front of the served message's content."""

    def __init__(self, prepared: Prepared) -> None:
        self._p = prepared
        self._index = prepared.start
        self._from = prepared.initial_model
        self._pending: tuple[str, str | None] | None = None
        self.seams: list[dict[str, Any]] = []

    def next_hop(self, message: Any) -> tuple[APIRequest, dict[str, Any]] | None:
        """After a 2xx ``message`` (JSON): the next hop's request and entry, if any."""
        p = self._p
        refused = refusal_of(message)
        if refused is None or self._index >= len(p.fallbacks) - 1:
            return None
        self._index += 1
        p.pin(self._index)
        token, category = refused
        entry = p.fallbacks[self._index]
        body = apply_entry(p.body, entry)
        if token is not None:
            body["fallback_credit_token"] = credit_token_param(token)
        self._pending = (str(entry["model"]), category)
        return p.request.copy(body=body), entry

    def accepted(self) -> None:
        """The hop's request succeeded (2xx): its boundary gets a seam."""
        assert self._pending is not None
        model, category = self._pending
        self.seams.append(seam_block(self._from, model, category))
        self._from = model

    def seamed(self, message: Any) -> dict[str, Any] | None:
        """The served message with its seams in front; ``None`` to leave it as is."""
        if not self.seams or not isinstance(message, dict) or refusal_of(message) is not None:
            return None
        content = message.get("content")
        if not isinstance(content, list):
            return None
        return {**message, "content": [*self.seams, *content]}


class StreamRun:
    """A streaming chain (see :mod:`.splice`): the driver reads the primary with
    :meth:`primary`, and while :meth:`begin` / :meth:`hop_ended` say so, sends
    :meth:`hop_request` and reports how it went."""

    def __init__(self, prepared: Prepared) -> None:
        self._p = prepared
        self._hop = prepared.start
        self.chain: ChainState | None = None
        self.entry: dict[str, Any] = {}
        self.model = ""
        self._continuation: list[Any] = []
        self._attempt = 0
        self._failure: HopFailure | None = None

    def primary(self) -> HopReader:
        return HopReader()

    def begin(self, outcome: HopOutcome) -> bool:
        """The primary ended; ``True`` when its refusal starts the chain."""
        if outcome.refused is None:
            return False
        self.chain = ChainState.begin(self._p.initial_model, outcome)
        self._advance()
        return True

    def _advance(self) -> None:
        assert self.chain is not None
        self._hop += 1
        if self._hop < len(self._p.fallbacks):
            self.entry = dict(self._p.fallbacks[self._hop])
            self.model = str(self.entry["model"])
            self._p.pin(self._hop)
            self._continuation = self.chain.continuation()
            self._attempt = 0

    def hop_request(self) -> APIRequest | None:
        """The current hop's request; ``None`` once every entry was tried (then the
        refusal is replayed: :meth:`failure_frames`)."""
        chain = self.chain
        if chain is None or self._hop >= len(self._p.fallbacks):
            return None
        body = {k: v for k, v in apply_entry(self._p.body, self.entry).items() if k != "fallbacks"}
        if chain.token is not None:
            body["fallback_credit_token"] = credit_token_param(chain.token)
        if self._continuation:
            messages = body.get("messages")
            body["messages"] = [
                *(messages if isinstance(messages, list) else []),
                {"role": "assistant", "content": self._continuation},
            ]
        return self._p.request.copy(body=body)

    @property
    def first_try(self) -> bool:
        """The current hop's request is the entry's first (not its resend without the
        prefill): a request of its own for ``usage_limits=``."""
        return self._attempt == 0

    def resent_without_speed(self) -> None:
        self.entry["speed"] = None

    def hop_raised(self, error: BaseException) -> None:
        logger.error(
            "BetaRefusalFallbackMiddleware: fallback request to %s failed: %s", self.model, error
        )
        self._fail(None)

    def hop_rejected(self, status: int, error_body: str) -> None:
        """The hop answered ``status`` (not 2xx): retry it without the prefill, or
        move on (its token was never redeemed, so it carries to the next entry)."""
        assert self.chain is not None
        if self._attempt == 0 and status == 400 and self._continuation:
            logger.warning(
                "BetaRefusalFallbackMiddleware: fallback request with the partial output "
                "appended was rejected (HTTP 400: %s); retrying without it",
                error_body,
            )
            self._continuation = self.chain.base
            self._attempt = 1
            return
        logger.error(
            "BetaRefusalFallbackMiddleware: fallback request to %s failed: HTTP %s: %s",
            self.model,
            status,
            error_body,
        )
        self._fail(status)

    def _fail(self, status: int | None) -> None:
        self._failure = HopFailure(model=self.model, status=status)
        self._advance()

    def hop_reader(self) -> HopReader:
        """The hop answered 2xx: its seam is queued and this reads its events."""
        assert self.chain is not None
        return self.chain.reader(self.model, self._hop + 1 < len(self._p.fallbacks))

    def hop_ended(self, outcome: HopOutcome) -> bool:
        """``True`` when the hop refused too and the chain goes on."""
        assert self.chain is not None
        go_on = self.chain.hop_ended(outcome, self.model, self._continuation)
        if go_on:
            self._advance()
        return go_on

    def failure_frames(self) -> list[Frame]:
        assert self.chain is not None
        assert self._failure is not None
        return self.chain.failure_frames(self._failure)


# -- the middleware --------------------------------------------------------------------------

_DRIVERS: dict[str, Callable[..., Any]] = {}


def register_fallback_driver(kind: str, driver: Callable[..., Any]) -> None:
    """Called by the drivers on import: ``"sync"`` runs ``handle``, ``"async"``
    ``handle_async`` (each ``driver(middleware, request, call_next)``)."""
    _DRIVERS[kind] = driver


class BetaRefusalFallbackMiddleware(Middleware):
    """Retry refused ``client.beta.messages`` requests down a chain of fallback
    models, client-side, in the shape of the API's server-side ``fallbacks``.

    Non-streaming: a ``stop_reason: "refusal"`` is retried with the next entry (with
    the refusal's credit token) until a model accepts or the chain ends; the served
    message gets one ``fallback`` seam block per model boundary in front of its content.

    Streaming: a refusal is retried with the next entry (with the credit token, and
    the refused partial output appended as a prefill when the refusal claims it; a 400
    on that form is retried once without it) and the fallback's events are spliced
    onto the open stream: one ``message_start``/``message_delta``/``message_stop``, a
    ``fallback`` block at each boundary, monotonic indices, ``usage.iterations`` per
    hop. A hop that fails over HTTP is skipped (its token carries on); when all fail,
    the refusal is replayed with ``recommended_model``. Closing the stream tears it
    down without a hop. Works over any framing (SSE, Bedrock's event stream).

    Run requests inside a shared :class:`BetaFallbackState` to pin them to the model
    that accepted::

        client = AsyncClient(middleware=[BetaRefusalFallbackMiddleware([{"model": m}])])
        with BetaFallbackState():
            message = await client.beta.messages.create(**params)

    Args:
        fallbacks: The chain, tried in order; each entry patches the original params
            (``model`` required). An empty chain disables the middleware.
        betas: Added to the ``anthropic-beta`` header of every request handled
            (default ``("fallback-credit-2026-07-01",)``; ``()`` for none).
    """

    def __init__(
        self, fallbacks: Iterable[Mapping[str, Any]], *, betas: Iterable[str] | None = None
    ) -> None:
        self._fallbacks = tuple(dict(entry) for entry in fallbacks)
        for entry in self._fallbacks:
            if not isinstance(entry.get("model"), str) or not entry["model"]:
                raise TypeError(f"each fallback entry needs a model: {entry!r}")
        self._betas = DEFAULT_BETAS if betas is None else tuple(betas)
        self._warned = False

    @property
    def fallbacks(self) -> tuple[dict[str, Any], ...]:
        return self._fallbacks

    def __repr__(self) -> str:
        models = [entry["model"] for entry in self._fallbacks]
        return f"BetaRefusalFallbackMiddleware({models!r})"

    def handle(self, request: APIRequest, call_next: CallNext) -> Any:
        return _DRIVERS["sync"](self, request, call_next)

    async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> Any:
        return await _DRIVERS["async"](self, request, call_next)

    def prepare(self, request: APIRequest) -> Prepared | None:
        """The request's plan, or ``None`` when the middleware lets it pass.

        Raises:
            MsgStreamError: The request sends ``fallbacks`` itself, or the pinned
                state's index is outside this chain.
        """
        body = request.json
        if (
            not self._fallbacks
            or request.method != "post"
            or request.path != MESSAGES_PATH
            or not request.beta
            or not isinstance(body, dict)
        ):
            return None
        if body.get("fallbacks") is not None:
            raise MsgStreamError(
                "Sending the `fallbacks:` request param is not supported when using the "
                "`BetaRefusalFallbackMiddleware`. Either remove the middleware and send "
                "`fallbacks:` with the `server-side-fallback-2026-07-01` beta to let the API "
                "handle refusal fallbacks, or omit `fallbacks:` to let the middleware handle "
                "them on the client side."
            )
        state = _state.get()
        start = -1 if state is None or state.index is None else state.index
        if not -1 <= start < len(self._fallbacks):
            raise MsgStreamError(
                f"BetaFallbackState.index {start} is out of bounds for a chain of "
                f"{len(self._fallbacks)} fallback(s); was the state shared with another "
                "middleware?"
            )
        request = with_betas(request, self._betas)
        body = strip_seams(body)
        initial_body = body if start == -1 else apply_entry(body, self._fallbacks[start])
        return Prepared(
            request=request,
            body=body,
            initial=request.copy(body=initial_body),
            start=start,
            fallbacks=self._fallbacks,
            pin=self._pin(state),
        )

    def _pin(self, state: BetaFallbackState | None) -> Callable[[int], None]:
        def pin(index: int) -> None:
            if state is not None:
                state.index = index
            elif not self._warned:
                self._warned = True
                logger.warning(
                    "BetaRefusalFallbackMiddleware fell back without an active "
                    "BetaFallbackState; follow-up requests will retry models that already "
                    "refused. Run them inside a shared `with BetaFallbackState():` block to "
                    "pin them to the accepted model."
                )

        return pin
