"""The synchronous clients of the cloud platforms: Bedrock, Vertex AI and Foundry.

The same clients as the async ones (:mod:`trio_msgstream._httpx.platform_clients`)
over :class:`~trio_msgstream.Client`: the platform rewrites and signs each request in
:meth:`_SyncPlatformClient._wire_request`, the last step before the send; a credential
lookup runs inline (there is no event loop to keep free). An ``async`` token provider
cannot be used here.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._core.config import API_VERSION, DEFAULT_MAX_RETRIES, NOT_GIVEN, NotGiven, TimeoutTypes
from .._core.exceptions import CredentialsError
from .._core.platforms.base import Awaiting, Blocking
from .._core.platforms.bedrock import BedrockPlatform
from .._core.platforms.client import BedrockAccessors, PlatformConfig, VertexAccessors
from .._core.platforms.foundry import FoundryPlatform, TokenProvider
from .._core.platforms.vertex import VertexPlatform
from .._core.request.spec import RequestSpec
from .._httpx.platform_wire import platform_request
from .._httpx.transport import TransportTimeouts, build_httpx_request
from .client import Client

if TYPE_CHECKING:
    import httpx
    import httpx2

    from .client import SyncHttpClient, SyncTransport


__all__ = ["AnthropicBedrock", "AnthropicFoundry", "AnthropicVertex"]


def _resolve_credential(value: Any) -> Any:
    if isinstance(value, Blocking):
        value = value.call()
    if isinstance(value, Awaiting) or inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()
        raise CredentialsError(
            "the sync client cannot await an async token provider: pass a plain callable "
            "(or use the async client)"
        )
    return value


class _SyncPlatformClient(PlatformConfig["SyncHttpClient", "SyncTransport"], Client):
    """The sync client over a cloud platform."""

    def _wire_request(self, spec: RequestSpec, timeout: TransportTimeouts) -> Any:
        """Resolve the credential, rewrite the request the platform's way, build it,
        sign it."""
        platform = self._platform
        credential = _resolve_credential(platform.credential())
        return platform_request(
            platform,
            spec,
            credential,
            lambda wire: build_httpx_request(self._http, self.base_url, wire, timeout),
        )


class AnthropicBedrock(BedrockAccessors, _SyncPlatformClient):
    """The synchronous client of Claude on Amazon Bedrock.

    Args:
        aws_secret_key: With ``aws_access_key``: explicit AWS credentials.
        aws_access_key: The access key id.
        aws_region: Defaults to ``AWS_REGION``, ``AWS_DEFAULT_REGION``, or the
            profile's region.
        aws_profile: A profile of ``~/.aws/config`` for the credential chain.
        aws_session_token: With explicit keys: temporary credentials.
        api_key: A Bedrock API key, sent as ``Authorization: Bearer`` instead of a
            SigV4 signature; defaults to ``AWS_BEARER_TOKEN_BEDROCK``. Not with AWS
            credentials.
        base_url: Defaults to ``ANTHROPIC_BEDROCK_BASE_URL``, else
            ``https://bedrock-runtime.{region}.amazonaws.com``.

    ``timeout``, ``max_retries``, ``default_headers``, ``default_query``, ``http_client``,
    ``transport``, ``api_version`` and ``middleware`` are as :class:`~trio_msgstream.Client`'s.

    Without an API key, requests are signed with SigV4 (service ``bedrock``) by
    botocore (``pip install 'trio_msgstream[bedrock]'``); credentials come from the
    arguments or AWS's standard chain, looked up once and cached.
    Batches, models and count_tokens raise
    :class:`~trio_msgstream.errors.UnsupportedEndpointError` before sending.
    """

    def __init__(
        self,
        aws_secret_key: str | None = None,
        aws_access_key: str | None = None,
        aws_region: str | None = None,
        aws_profile: str | None = None,
        aws_session_token: str | None = None,
        api_key: str | None = None,
        base_url: str | httpx.URL | httpx2.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        http_client: SyncHttpClient | None = None,
        *,
        transport: SyncTransport | None = None,
        api_version: str = API_VERSION,
        middleware: Iterable[Any] | None = None,
    ) -> None:
        platform = BedrockPlatform(
            aws_secret_key=aws_secret_key,
            aws_access_key=aws_access_key,
            aws_region=aws_region,
            aws_profile=aws_profile,
            aws_session_token=aws_session_token,
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
        )
        self._init_platform(
            platform,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            api_version=api_version,
            middleware=middleware,
        )


class AnthropicVertex(VertexAccessors, _SyncPlatformClient):
    """The synchronous client of Claude on Google Vertex AI.

    Args:
        region: Defaults to ``CLOUD_ML_REGION``; ``global``, ``us``, ``eu`` or a
            region such as ``us-east5`` (each has its own endpoint).
        project_id: Defaults to ``ANTHROPIC_VERTEX_PROJECT_ID``, else the project the
            default credentials name.
        access_token: A ready OAuth access token (sent as is).
        credentials: google-auth credentials; without them and ``access_token``,
            Application Default Credentials (``pip install 'trio_msgstream[vertex]'``).
            Loaded and refreshed when their token has expired.
        base_url: Defaults to ``ANTHROPIC_VERTEX_BASE_URL``, else the region's endpoint.

    ``timeout``, ``max_retries``, ``default_headers``, ``default_query``, ``http_client``,
    ``transport``, ``api_version`` and ``middleware`` are as :class:`~trio_msgstream.Client`'s.

    Batches and models raise :class:`~trio_msgstream.errors.UnsupportedEndpointError`
    before sending.
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        project_id: str | None = None,
        access_token: str | None = None,
        credentials: Any = None,
        base_url: str | httpx.URL | httpx2.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        http_client: SyncHttpClient | None = None,
        transport: SyncTransport | None = None,
        api_version: str = API_VERSION,
        middleware: Iterable[Any] | None = None,
    ) -> None:
        platform = VertexPlatform(
            region=region,
            project_id=project_id,
            access_token=access_token,
            credentials=credentials,
            base_url=base_url,
            api_version=api_version,
        )
        self._init_platform(
            platform,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            api_version=api_version,
            middleware=middleware,
        )


class AnthropicFoundry(_SyncPlatformClient):
    """The synchronous client of Claude on Microsoft Foundry.

    Args:
        resource: The Foundry resource (``example`` for
            ``https://example.services.ai.azure.com/anthropic/``); defaults to
            ``ANTHROPIC_FOUNDRY_RESOURCE`` unless a base URL is given.
        api_key: Defaults to ``ANTHROPIC_FOUNDRY_API_KEY``; sent as ``x-api-key`` and
            ``api-key``.
        azure_ad_token_provider: Instead of a key: returns an Entra ID token (called
            for every request; not ``async`` here), sent
            as ``Authorization: Bearer``.
        base_url: Defaults to ``ANTHROPIC_FOUNDRY_BASE_URL``; not with ``resource``.

    ``timeout``, ``max_retries``, ``default_headers``, ``default_query``, ``http_client``,
    ``transport``, ``api_version`` and ``middleware`` are as :class:`~trio_msgstream.Client`'s.

    Batches and models raise :class:`~trio_msgstream.errors.UnsupportedEndpointError`
    before sending.
    """

    def __init__(
        self,
        *,
        resource: str | None = None,
        api_key: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        base_url: str | httpx.URL | httpx2.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        http_client: SyncHttpClient | None = None,
        transport: SyncTransport | None = None,
        api_version: str = API_VERSION,
        middleware: Iterable[Any] | None = None,
    ) -> None:
        platform = FoundryPlatform(
            resource=resource,
            api_key=api_key,
            azure_ad_token_provider=azure_ad_token_provider,
            base_url=base_url,
        )
        self._init_platform(
            platform,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            api_version=api_version,
            middleware=middleware,
        )
