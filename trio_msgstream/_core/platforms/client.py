"""What the cloud platform clients share, async and sync: a client configuration with a
:class:`~.base.Platform` plugged in. Sans-IO.

Theory of operation: a platform client *is* the first-party client (its namespaces,
streams, retries, handlers, tool runner and fan-out are the first-party ones) with
three differences, all here or in its driver's ``_wire_request``:

- :meth:`PlatformConfig.build_request` refuses, in the caller's frame, an endpoint the
  platform lacks (:class:`~trio_msgstream.errors.UnsupportedEndpointError`);
- :attr:`PlatformConfig.stream_framings` tells the request sessions which stream
  framings to accept (Bedrock's event-stream frames);
- the drivers' ``_wire_request`` resolves the credential, rewrites and signs each
  request as the last step before the send (see :mod:`.base`).

The first-party credentials (``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN``) are never
read or sent by a platform client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self, TypeVar, cast

from ..config import NotGiven, TimeoutTypes
from ..request.client_config import ClientConfig, ClientOptions, CopyOptions
from ..request.options import RequestOptions
from ..request.spec import RequestSpec
from ..stream.engine import Framing
from .base import Platform
from .vertex import VertexPlatform

__all__ = ["BedrockAccessors", "PlatformConfig", "VertexAccessors"]

HttpT = TypeVar("HttpT")
TransportT = TypeVar("TransportT")

_FIRST_PARTY_CREDENTIALS = ("api_key", "auth_token")


class PlatformConfig(ClientConfig[HttpT, TransportT]):
    """A client configuration over a cloud platform (the base of every platform client)."""

    _platform: Platform

    def _init_platform(
        self,
        platform: Platform,
        *,
        http_client: HttpT | None,
        transport: TransportT | None,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        default_query: Mapping[str, str] | None,
        api_version: str,
        middleware: Iterable[Any] | None,
    ) -> None:
        self._platform = platform
        ClientConfig.__init__(
            self,
            http_client=http_client,
            transport=transport,
            api_key="",  # never the first-party key or token: the platform signs
            auth_token="",
            base_url=platform.base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            api_version=api_version,
            middleware=middleware,
        )

    @property
    def platform(self) -> Platform:
        """The cloud platform this client speaks to."""
        return self._platform

    @property
    def provider_name(self) -> str:
        """The platform's ``gen_ai.provider.name`` in telemetry (``"aws.bedrock"``)."""
        return self._platform.provider_name

    @property
    def stream_framings(self) -> Mapping[str, Framing]:
        """The stream framings this client accepts, by media type."""
        return self._platform.framings

    @property
    def api_key(self) -> str | None:
        """The platform API key in use, if any (never shown anywhere)."""
        key = self._platform.arguments.get("api_key")
        return key if isinstance(key, str) else None

    @property
    def auth_token(self) -> str | None:
        """Platform clients send no first-party bearer token."""
        return None

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
        """As the first-party client's, after checking the platform offers the endpoint.

        Raises:
            UnsupportedEndpointError: The platform lacks the endpoint.
        """
        self._platform.check_supported(method, path)
        return super().build_request(
            method,
            path,
            body=body,
            query=query,
            options=options,
            stream=stream,
            betas=betas,
            accept=accept,
        )

    def _copied_from(self, origin: Self) -> None:
        # One credential cache for both clients when their credentials are the same.
        self._platform.share_credentials(origin._platform)

    def _settings(self, changes: CopyOptions) -> ClientOptions:
        # The first-party settings as the base client merges them, the platform's own
        # arguments instead of the first-party credentials.
        arguments = self._platform.arguments
        common = {k: v for k, v in changes.items() if k not in arguments}
        refused = set(common) & set(_FIRST_PARTY_CREDENTIALS)
        if refused:
            raise TypeError(f"unexpected client option(s): {', '.join(sorted(refused))}")
        base = super()._settings(cast(CopyOptions, common))
        settings: dict[str, Any] = {
            k: v for k, v in base.items() if k not in _FIRST_PARTY_CREDENTIALS
        }
        settings.update(arguments)
        settings.update({k: v for k, v in changes.items() if k in arguments})
        return cast(ClientOptions, settings)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(platform={self._platform.name!r}, "
            f"base_url={self.base_url!r}, max_retries={self.max_retries}, "
            f"timeout={self.timeout!r})"
        )


class BedrockAccessors:
    """What a Bedrock client (async or sync) tells of its platform."""

    _platform: Platform

    @property
    def aws_region(self) -> str:
        """The AWS region requests are signed for."""
        region: str = self._platform.arguments["aws_region"]
        return region


class VertexAccessors:
    """What a Vertex AI client (async or sync) tells of its platform."""

    _platform: Platform

    @property
    def region(self) -> str:
        """The Vertex AI region."""
        region: str = self._platform.arguments["region"]
        return region

    @property
    def project_id(self) -> str | None:
        """The project (given, from the environment, or named by the credentials)."""
        platform = self._platform
        assert isinstance(platform, VertexPlatform)
        return platform.project_id
