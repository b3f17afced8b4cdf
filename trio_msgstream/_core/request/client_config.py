"""What the sync and async clients share: credentials, URL, defaults, request building.

Part of the sans-IO core: both clients inherit it, so a request is built one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Generic, Self, TypeVar, overload

from typing_extensions import TypedDict, Unpack

from ..config import (
    API_VERSION,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    Timeout,
    TimeoutTypes,
    build_body,
    build_headers,
    default_api_key,
    default_auth_token,
    default_base_url,
    resolve_timeout,
)
from ..exceptions import MsgStreamError
from ..observe.otel import PROVIDER
from ..redact import held_secrets
from ..schema.model_names import warn_if_deprecated
from ..schema.version_rules import check_params
from ..typed_json.output_schema import prepare_request_params
from .options import RequestOptions, split_options
from .spec import RequestSpec, usage_budgets

__all__ = [
    "BETA_MARK",
    "MESSAGES_PATH",
    "ClientConfig",
    "ClientOptions",
    "CopyOptions",
    "Namespace",
]

MESSAGES_PATH = "/v1/messages"

BETA_MARK = "_trio_msgstream_beta"
"""Set in an entry point's keyword arguments by the ``client.beta`` namespaces:
:meth:`ClientConfig.build_spec` takes it out and marks the spec ``beta``."""

HttpT = TypeVar("HttpT")
TransportT = TypeVar("TransportT")
N = TypeVar("N")


def _missing_key_error() -> MsgStreamError:
    return MsgStreamError(
        "no API key: pass api_key= or auth_token=, or set ANTHROPIC_API_KEY "
        "(or point base_url at a server that needs none, such as trio_msgstream.testing)"
    )


class ClientOptions(TypedDict, total=False):
    """The settings of a client (both clients take them, and ``with_options``)."""

    api_key: str | None
    """Defaults to ``ANTHROPIC_API_KEY``."""
    auth_token: str | None
    """A bearer token, instead of or beside the key; defaults to ``ANTHROPIC_AUTH_TOKEN``."""
    base_url: object
    """A URL (``str`` or ``httpx.URL``); defaults to ``ANTHROPIC_BASE_URL``, else
    ``https://api.anthropic.com``."""
    timeout: TimeoutTypes | NotGiven
    """A :class:`Timeout`, or seconds for every phase."""
    max_retries: int
    """Retry budget of each request (default 2)."""
    default_headers: Mapping[str, str] | None
    """Sent with every request."""
    default_query: Mapping[str, str] | None
    """Added to the query of every request."""
    api_version: str
    """The ``anthropic-version`` to send (default: the current one, ``2026-10-21``;
    ``2023-06-01`` keeps working)."""
    middleware: Iterable[Any] | None
    """Run around every HTTP attempt, first entry outermost: :class:`Middleware`
    instances or functions ``(request, call_next)`` (``async def`` ones on the async
    client); see ``docs/middleware.md``."""


class CopyOptions(ClientOptions, total=False):
    """What ``with_options``/``copy`` take: the settings, and the SDK's replacing forms."""

    set_default_headers: Mapping[str, str] | None
    """Replaces ``default_headers`` (``default_headers=`` is merged into them)."""
    set_default_query: Mapping[str, str] | None
    """Replaces ``default_query`` (``default_query=`` is merged into it)."""


class Namespace(Generic[N]):
    """A client's namespace (``client.messages``, ``client.models``, ``client.beta``):
    made from the client on first access, then kept on it."""

    def __init__(self, factory: Callable[[Any], N]) -> None:
        self._factory = factory
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, client: None, owner: type) -> Self: ...

    @overload
    def __get__(self, client: object, owner: type) -> N: ...

    def __get__(self, client: object, owner: type) -> Self | N:
        if client is None:
            return self
        value = self._factory(client)
        client.__dict__[self._name] = value  # later reads find it, not this descriptor
        return value


class ClientConfig(Generic[HttpT, TransportT]):
    """What the sync and async clients share: credentials, URL, defaults, requests,
    and the HTTP client (``HttpT``: an ``httpx.AsyncClient`` or ``httpx.Client``, made
    over a ``TransportT`` or passed in) that the client owns or borrows.

    Every request either client sends is built here, by :meth:`build_request` (any
    endpoint) or :meth:`build_spec` (a Messages request from the keyword arguments
    an entry point received).
    """

    def __init__(
        self,
        *,
        http_client: HttpT | None = None,
        transport: TransportT | None = None,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: object = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        api_version: str = API_VERSION,
        middleware: Iterable[Any] | None = None,
    ) -> None:
        self._middleware: tuple[Any, ...] = self._accept_middleware(middleware or ())
        self._api_key = api_key if api_key is not None else default_api_key()
        self._auth_token = auth_token if auth_token is not None else default_auth_token()
        # Redacted from every text built from a response, whichever one a request sent.
        self._held_secrets = held_secrets(self._api_key, self._auth_token)
        self.base_url: str = (
            str(base_url).rstrip("/") if base_url is not None else default_base_url()
        )
        if (
            self._api_key is None
            and self._auth_token is None
            and "api.anthropic.com" in self.base_url
        ):
            raise _missing_key_error()
        self._timeout = resolve_timeout(timeout, DEFAULT_TIMEOUT)
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._max_retries = max_retries
        self._default_headers = dict(default_headers or {})
        self._default_query = dict(default_query or {})
        self.api_version: str = api_version
        """The ``anthropic-version`` this client sends."""
        self._owns_http = http_client is None
        self._http: HttpT = (
            http_client if http_client is not None else self._new_http_client(transport)
        )

    @property
    def http_client(self) -> HttpT:
        """The httpx client requests go through (made here, or the one passed in)."""
        return self._http

    def with_options(self, **changes: Unpack[CopyOptions]) -> Self:
        """A client sharing this one's connections, with some settings changed.

        As the official SDK's: ``default_headers``/``default_query`` are merged into
        this client's; ``set_default_headers``/``set_default_query`` replace them.
        """
        client = type(self)(**self._settings(changes), http_client=self._http)
        client._copied_from(self)
        return client

    copy = with_options
    """The official SDK's other name for :meth:`with_options`."""

    def is_closed(self) -> bool:
        """Whether the HTTP client requests go through has been closed."""
        return bool(getattr(self._http, "is_closed", False))

    @property
    def default_headers(self) -> Mapping[str, str]:
        """The headers given as ``default_headers`` (sent with every request, beside
        the ones the library sets)."""
        return dict(self._default_headers)

    @property
    def default_query(self) -> Mapping[str, str]:
        """The query given as ``default_query`` (added to every request's URL)."""
        return dict(self._default_query)

    def _accept_middleware(self, entries: Iterable[Any]) -> tuple[Any, ...]:
        # The driver checks that each entry suits its kind of client (a TypeError).
        return tuple(entries)

    @property
    def middleware(self) -> tuple[Any, ...]:
        """The client's middleware, outermost first. For more on some calls:
        ``client.with_options(middleware=[*client.middleware, extra])``."""
        return self._middleware

    def with_middleware(self, *extra: Any) -> Self:
        """A client sharing this one's connections whose middleware is this one's
        followed by ``extra`` (which then runs inside it)."""
        return self.with_options(middleware=[*self._middleware, *extra])

    def _new_http_client(self, transport: TransportT | None) -> HttpT:
        # The driver's httpx client, over ``transport`` (httpx's default when None).
        raise NotImplementedError

    @property
    def api_key(self) -> str | None:
        """The API key in use (never shown in ``repr``, logs or errors)."""
        return self._api_key

    @property
    def auth_token(self) -> str | None:
        """The bearer token in use (never shown in ``repr``, logs or errors)."""
        return self._auth_token

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def provider_name(self) -> str:
        """The ``gen_ai.provider.name`` of this client's requests in telemetry."""
        return PROVIDER

    @property
    def server_address(self) -> str:
        """The API's host, with the port when the base URL names one (for telemetry)."""
        rest = self.base_url.split("://", 1)[-1]
        return rest.split("/", 1)[0].rsplit("@", 1)[-1]

    def _copied_from(self, origin: Self) -> None:
        """``with_options`` made this client from ``origin``: take over what they share."""

    def _settings(self, changes: CopyOptions) -> ClientOptions:
        """This client's settings with ``changes`` applied (for ``with_options``)."""
        changes = CopyOptions(**changes)
        for name in ("headers", "query"):
            merged, replaced = f"default_{name}", f"set_default_{name}"
            if merged in changes and replaced in changes:
                raise ValueError(f"pass {merged} or {replaced}, not both")
            if merged in changes:
                ours: Mapping[str, str] = getattr(self, f"_default_{name}")
                changes[merged] = {**ours, **(changes[merged] or {})}  # type: ignore[literal-required]
            elif replaced in changes:
                changes[merged] = changes.pop(replaced)  # type: ignore[literal-required,misc]
        settings = ClientOptions(
            api_key=self._api_key,
            auth_token=self._auth_token,
            base_url=self.base_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            default_headers=self._default_headers,
            default_query=self._default_query,
            api_version=self.api_version,
            middleware=self._middleware,
        )
        unknown = set(changes) - set(settings)
        if unknown:
            raise TypeError(f"unexpected client option(s): {', '.join(sorted(unknown))}")
        settings.update(changes)
        return settings

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self._max_retries}, timeout={self._timeout!r})"
        )

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} holds credentials and cannot be pickled")

    def build_request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        options: RequestOptions | None = None,
        stream: bool = False,
        betas: Sequence[str] | None = None,
        accept: str | None = None,
    ) -> RequestSpec:
        """A ready-to-send request for any endpoint of the API.

        Args:
            body: The JSON body (``None``: no body). ``extra_body`` is merged in.
            query: The URL query (the client's ``default_query`` and ``extra_query``
                are merged in).
            options: The request options the caller passed.
            stream: Ask for an event stream (``stream`` is then set in the body).
            betas: Beta features, sent as the ``anthropic-beta`` header.
        """
        options = options or RequestOptions()
        max_retries = options.get("max_retries", NOT_GIVEN)
        full_query = {**self._default_query, **(query or {}), **(options.get("extra_query") or {})}
        extra_body = options.get("extra_body")
        content = b""
        if body is not None:
            content = build_body(body, stream=None, extra_body=extra_body)
        elif extra_body:
            content = build_body({}, stream=None, extra_body=extra_body)
        return RequestSpec(
            method=method,
            path=path,
            headers=build_headers(
                self._api_key,
                auth_token=self._auth_token,
                api_version=self.api_version,
                default_headers=self._default_headers,
                extra_headers=options.get("extra_headers"),
                stream=stream,
                accept=accept,
                betas=betas,
            ),
            body=content,
            timeout=resolve_timeout(options.get("timeout", NOT_GIVEN), self._timeout),
            max_retries=(
                self._max_retries if isinstance(max_retries, NotGiven) else int(max_retries)
            ),
            query=full_query,
            usage=usage_budgets(options.get("usage_limits")),
        )

    def build_spec(
        self,
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
        path: str = MESSAGES_PATH,
        betas: Sequence[str] | None = None,
    ) -> RequestSpec:
        """A ``POST /v1/messages`` request from an entry point's keyword arguments
        (the API's parameters and the request options)."""
        params, options = split_options(kwargs)
        beta = bool(params.pop(BETA_MARK, False))
        params = prepare_request_params(params)  # output_format=, @tool functions
        if "stream" in params:
            raise TypeError("pass stream= only to messages.create()")
        if "betas" in params:
            betas = [*(betas or ()), *params.pop("betas")]
        # Before anything is sent, in the caller's frame: a request the API version
        # would refuse raises here, and a deprecated model warns at the user's call.
        check_params({**params, "extra_body": options.get("extra_body")}, self.api_version)
        if isinstance(params.get("model"), str):
            warn_if_deprecated(params["model"])
        # A stream says so; a plain request leaves ``stream`` out, as the official SDK
        # sends it (a ported test comparing whole bodies sees the same JSON).
        spec = self.build_request(
            "POST",
            path,
            body={**params, "stream": True} if stream else params,
            options=options,
            stream=stream,
            betas=betas,
        )
        return replace(spec, beta=True) if beta else spec
