"""Microsoft Foundry: first-party paths under the resource's URL, key or Entra ID auth.

Part of the sans-IO core: no trio, no httpx.

What goes on the wire, as the official SDK sends it: the first-party request (the
``anthropic-version`` header included; a Messages body without ``"stream": false``) under
``https://{resource}.services.ai.azure.com/anthropic/``, authenticated either by the
Foundry API key in both ``x-api-key`` and ``api-key`` headers, or by an Entra ID
(Azure AD) token from ``azure_ad_token_provider`` as ``Authorization: Bearer``. The
provider is called for every request (it caches tokens itself, as the Azure identity
libraries do): an ``async`` provider is awaited, a plain one runs off the event loop
(:class:`~.base.Blocking`), since Azure's token providers may do network I/O.
Batches, models and files are not offered.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..exceptions import CredentialsError
from ..request.spec import RequestSpec
from .base import (
    MESSAGES_PATH,
    Awaiting,
    Blocking,
    Platform,
    WireRequest,
    check_token,
    json_body,
    with_body,
)

__all__ = ["FoundryPlatform", "FoundrySettings", "TokenProvider", "foundry_settings"]

TokenProvider = Callable[[], str | Awaitable[str]]
"""An Entra ID token provider: returns a bearer token (or an awaitable of one)."""


@dataclass(frozen=True)
class FoundrySettings:
    """A Foundry client's settings, arguments and environment resolved."""

    base_url: str
    api_key: str | None

    def __repr__(self) -> str:
        return f"FoundrySettings(base_url={self.base_url!r})"


def foundry_settings(
    *,
    resource: str | None,
    api_key: str | None,
    has_token_provider: bool,
    base_url: object,
) -> FoundrySettings:
    """The settings of a Foundry client, as the official SDK reads them: ``api_key``
    from ``ANTHROPIC_FOUNDRY_API_KEY``, ``resource`` from ``ANTHROPIC_FOUNDRY_RESOURCE``
    (unless a base URL is given), ``base_url`` from ``ANTHROPIC_FOUNDRY_BASE_URL``.

    Raises:
        CredentialsError: Neither an API key nor a token provider.
        ValueError: Neither a resource nor a base URL, or both.
    """
    if api_key is None:
        api_key = os.environ.get("ANTHROPIC_FOUNDRY_API_KEY") or None
    if resource is None and base_url is None:
        resource = os.environ.get("ANTHROPIC_FOUNDRY_RESOURCE") or None
    if base_url is None:
        base_url = os.environ.get("ANTHROPIC_FOUNDRY_BASE_URL") or None
    if api_key is None and not has_token_provider:
        raise CredentialsError(
            "no Foundry credentials: pass api_key= or azure_ad_token_provider=, "
            "or set ANTHROPIC_FOUNDRY_API_KEY"
        )
    if base_url is None:
        if resource is None:
            raise ValueError(
                "pass resource= or base_url=, or set ANTHROPIC_FOUNDRY_RESOURCE "
                "or ANTHROPIC_FOUNDRY_BASE_URL"
            )
        base_url = f"https://{resource}.services.ai.azure.com/anthropic/"
    elif resource is not None:
        raise ValueError("resource and base_url are mutually exclusive")
    return FoundrySettings(base_url=str(base_url).rstrip("/"), api_key=api_key)


class FoundryPlatform(Platform):
    """Microsoft Foundry: see the module docstring for the wire.

    Takes the Foundry client's arguments (see :func:`foundry_settings`);
    ``azure_ad_token_provider`` wins over the API key.
    """

    name: ClassVar[str] = "foundry"
    label: ClassVar[str] = "Microsoft Foundry"
    # The conventions' value for Azure AI (Foundry) inference endpoints.
    provider_name: ClassVar[str] = "azure.ai.inference"

    def __init__(
        self,
        *,
        resource: str | None = None,
        api_key: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        base_url: object = None,
    ) -> None:
        settings = foundry_settings(
            resource=resource,
            api_key=api_key,
            has_token_provider=azure_ad_token_provider is not None,
            base_url=base_url,
        )
        self.settings = settings
        self.base_url = settings.base_url
        self.token_provider = azure_ad_token_provider

    @property
    def arguments(self) -> dict[str, Any]:
        return {"api_key": self.settings.api_key, "azure_ad_token_provider": self.token_provider}

    def rewrite(self, spec: RequestSpec) -> RequestSpec:
        # The first-party request, but (as the official SDK sends it) without a
        # ``"stream": false`` in a Messages body.
        if spec.path != MESSAGES_PATH or b'"stream":false' not in spec.body:
            return spec
        body = json_body(spec)
        if body is None or body.get("stream") is not False:
            return spec
        del body["stream"]
        return with_body(spec, body)

    def credential(self) -> Any:
        provider = self.token_provider
        if provider is None:
            return self.settings.api_key
        if inspect.iscoroutinefunction(provider):
            return Awaiting(provider)
        return Blocking(provider)

    def sign(self, request: WireRequest, credential: Any) -> dict[str, str]:
        if self.token_provider is not None:
            token = check_token(credential, "azure_ad_token_provider")
            return {"authorization": f"Bearer {token}"}
        if not credential:  # pragma: no cover - foundry_settings refuses this
            raise CredentialsError("no Foundry API key")
        return {"x-api-key": credential, "api-key": credential}
