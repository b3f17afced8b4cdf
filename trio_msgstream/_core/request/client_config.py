"""What the sync and async clients share: credentials, URL, defaults, request building.

Part of the sans-IO core: both clients inherit it, so a request is built one way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

from typing_extensions import Self, TypedDict, Unpack

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
from ..schema.model_names import warn_if_deprecated
from ..schema.version_rules import check_params
from ..typed_json.output_schema import prepare_request_params
from .options import RequestOptions, split_options
from .spec import RequestSpec

__all__ = ["MESSAGES_PATH", "ClientConfig", "ClientOptions", "Namespace"]

MESSAGES_PATH = "/v1/messages"

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
    ) -> None:
        self._api_key = api_key if api_key is not None else default_api_key()
        self._auth_token = auth_token if auth_token is not None else default_auth_token()
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

    def with_options(self, **changes: Unpack[ClientOptions]) -> Self:
        """A client sharing this one's connections, with some settings changed."""
        return type(self)(**self._settings(changes), http_client=self._http)

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
    def server_address(self) -> str:
        """The API's host, with the port when the base URL names one (for telemetry)."""
        rest = self.base_url.split("://", 1)[-1]
        return rest.split("/", 1)[0].rsplit("@", 1)[-1]

    def _settings(self, changes: ClientOptions) -> ClientOptions:
        """This client's settings with ``changes`` applied (for ``with_options``)."""
        settings = ClientOptions(
            api_key=self._api_key,
            auth_token=self._auth_token,
            base_url=self.base_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            default_headers=self._default_headers,
            default_query=self._default_query,
            api_version=self.api_version,
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
        return self.build_request(
            "POST",
            path,
            body={**params, "stream": stream},
            options=options,
            stream=stream,
            betas=betas,
        )
