"""What a cloud platform is to the clients: a request rewrite, credentials, a signature,
the endpoints it lacks, and the stream framings it answers with. Sans-IO.

Part of the sans-IO core (no trio, no httpx). Amazon Bedrock, Google Vertex AI and
Microsoft Foundry serve the Messages API under their own URLs, bodies and
authentication; a platform client is the first-party client plus one
:class:`Platform` object, applied at one seam.

Theory of operation::

    client.build_request(...)      check_supported(method, path): a missing endpoint
                                   raises UnsupportedEndpointError in the caller's frame
    ... retries, middleware, everything that sees the first-party request ...
    _wire_request(spec)            the last step before the send, in the drivers:
        credential()               a ready credential, or a Blocking / Awaiting step the
                                   driver runs (a worker thread, or awaited) to get one
        rewrite(spec)              path, body and headers the platform's way (pure)
        build the HTTP request     (the glue)
        sign(request, credential)  the headers that authenticate it (pure)

So every request is rewritten and signed once per attempt (a retry re-signs: SigV4
signatures carry the time), credentials that need files or the network are looked up
off the event loop, and nothing else in the library knows platforms exist.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..exceptions import CredentialsError, UnsupportedEndpointError
from ..request.spec import RequestSpec
from ..stream.engine import FRAMINGS, Framing

__all__ = [
    "Awaiting",
    "Blocking",
    "Platform",
    "WireRequest",
    "check_token",
    "json_body",
    "with_body",
]

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"

UNSUPPORTED_EVERYWHERE: tuple[tuple[str, str], ...] = (
    ("/v1/messages/batches", "the Message Batches API"),
    ("/v1/models", "the Models API"),
    ("/v1/files", "the Files API"),
)
"""``(path prefix, feature)`` that no cloud platform serves."""


@dataclass(frozen=True)
class WireRequest:
    """A request as it goes on the wire (what a signature covers)."""

    method: str
    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Blocking:
    """A credential lookup that may block (files, a metadata server, a token endpoint):
    the trio driver runs ``call`` in a worker thread, the sync driver calls it."""

    call: Callable[[], Any]


@dataclass(frozen=True)
class Awaiting:
    """A credential from an async callable (an async token provider): awaited by the
    trio driver; the sync client refuses it."""

    call: Callable[[], Awaitable[Any]]


class Platform(ABC):
    """One cloud platform's way of carrying the Messages API.

    Subclasses set :attr:`name`, :attr:`unsupported` and, when their streams are not
    Server-Sent Events, :attr:`framings`, and implement :meth:`rewrite` and
    :meth:`sign`.
    """

    name: ClassVar[str]
    """``"bedrock"``, ``"vertex"`` or ``"foundry"``."""
    label: ClassVar[str]
    """The platform's name in messages (``"Amazon Bedrock"``)."""
    provider_name: ClassVar[str]
    """Its ``gen_ai.provider.name`` in telemetry, a well-known value of the OpenTelemetry
    GenAI semantic conventions (``"aws.bedrock"``)."""
    unsupported: ClassVar[tuple[tuple[str, str], ...]] = UNSUPPORTED_EVERYWHERE
    """``(path prefix, feature)`` of the endpoints the platform lacks."""
    framings: ClassVar[Mapping[str, Framing]] = FRAMINGS
    """The stream framings its responses use, by media type."""
    base_url: str
    """Where requests go (the platform's endpoint, or an override)."""

    @property
    @abstractmethod
    def arguments(self) -> dict[str, Any]:
        """The platform's own client arguments, resolved (``with_options`` passes them
        to the new client)."""

    def check_supported(self, method: str, path: str) -> None:
        """Raise before anything is sent when the platform lacks the endpoint.

        Raises:
            UnsupportedEndpointError: It does.
        """
        for prefix, feature in self.unsupported:
            if path == prefix or path.startswith(prefix + "/"):
                raise UnsupportedEndpointError(
                    f"{feature} is not available on {self.label} ({method} {path}); "
                    "use the first-party client (trio_msgstream.AsyncClient) for it",
                    platform=self.name,
                    feature=feature,
                )

    def share_credentials(self, origin: Platform) -> None:
        """Use ``origin``'s credential cache when this platform authenticates with the
        same credentials (``with_options``: the new client looks up nothing the
        original has)."""
        return  # platforms without a cache have nothing to share

    def credential(self) -> Any:
        """The credential :meth:`sign` needs: a ready value (``None`` when there is
        nothing to look up), or a :class:`Blocking` / :class:`Awaiting` step whose
        result is the credential."""
        return None

    @abstractmethod
    def rewrite(self, spec: RequestSpec) -> RequestSpec:
        """The request the platform's way: its path, body and headers."""

    @abstractmethod
    def sign(self, request: WireRequest, credential: Any) -> dict[str, str]:
        """The headers that authenticate ``request`` (set over the request's own)."""


def json_body(spec: RequestSpec) -> dict[str, Any] | None:
    """The request's JSON object body, or ``None`` (no body, or not an object)."""
    if not spec.body:
        return None
    try:
        body = json.loads(spec.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def with_body(
    spec: RequestSpec,
    body: Mapping[str, Any],
    *,
    path: str | None = None,
    drop_headers: Sequence[str] = (),
    set_headers: Mapping[str, str] | None = None,
) -> RequestSpec:
    """``spec`` with a new JSON body (and path, and headers changed)."""
    headers = {k: v for k, v in spec.headers.items() if k.lower() not in drop_headers}
    headers.update(set_headers or {})
    return replace(
        spec,
        path=path if path is not None else spec.path,
        headers=headers,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
    )


def check_token(token: object, source: str) -> str:
    """A bearer token from a provider: a non-empty string, else a clear error."""
    if not isinstance(token, str) or not token:
        raise CredentialsError(
            f"{source} must return a non-empty string, got {type(token).__name__}"
        )
    return token
