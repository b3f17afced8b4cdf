"""Google Vertex AI: the request rewrite, regional URLs, access tokens. Sans-IO.

Part of the sans-IO core: no trio, no httpx. google-auth (the optional extra
``trio_msgstream[vertex]``) loads Application Default Credentials and refreshes them;
it is imported only when no ``access_token`` is given.

What goes on the wire, as the official SDK sends it:

- ``POST /v1/messages`` becomes
  ``POST /projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict``
  (``:streamRawPredict`` for a stream); ``model`` leaves the body, ``stream`` stays;
- ``POST /v1/messages/count_tokens`` becomes
  ``.../publishers/anthropic/models/count-tokens:rawPredict`` (``model`` stays);
- every JSON body gets ``anthropic_version``; no ``anthropic-version`` header; betas
  stay in the ``anthropic-beta`` header;
- the base URL follows the region: ``global`` -> ``aiplatform.googleapis.com``,
  ``us``/``eu`` -> ``aiplatform.{us,eu}.rep.googleapis.com``, any other region ->
  ``{region}-aiplatform.googleapis.com`` (all under ``/v1``);
- auth is ``Authorization: Bearer`` with ``access_token`` or the credentials' token;
- batches, models and files are not offered.

Credentials: with ``access_token`` there is nothing to look up. Otherwise the
credentials (given, or Application Default Credentials, which may also name the
project) are loaded and refreshed by :meth:`GoogleCredentialSource.token`, which does
network I/O, so the drivers run it off the event loop; it runs only when there is no
token yet or the token has expired.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from ..exceptions import CredentialsError, MsgStreamError
from ..request.spec import RequestSpec
from .base import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    Blocking,
    Platform,
    WireRequest,
    json_body,
    with_body,
)

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "GoogleCredentialSource",
    "VertexPlatform",
    "VertexSettings",
    "vertex_base_url",
    "vertex_settings",
]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

_SEGMENT_SAFE = "!$&'()*+,;=:@"  # RFC 3986 pchar, less the unreserved quote() keeps


def vertex_base_url(region: str) -> str:
    """The regional endpoint of Vertex AI for ``region``."""
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    if region in ("us", "eu"):
        return f"https://aiplatform.{region}.rep.googleapis.com/v1"
    return f"https://{region}-aiplatform.googleapis.com/v1"


@dataclass(frozen=True)
class VertexSettings:
    """A Vertex client's settings, arguments and environment resolved."""

    region: str
    project_id: str | None
    base_url: str
    access_token: str | None

    def __repr__(self) -> str:
        return (
            f"VertexSettings(region={self.region!r}, project_id={self.project_id!r}, "
            f"base_url={self.base_url!r})"
        )


def vertex_settings(
    *, region: str | None, project_id: str | None, access_token: str | None, base_url: object
) -> VertexSettings:
    """The settings of a Vertex client, as the official SDK reads them: the region from
    ``region`` or ``CLOUD_ML_REGION``, the project from ``project_id`` or
    ``ANTHROPIC_VERTEX_PROJECT_ID`` (else from the credentials, on first use), the base
    URL from ``base_url``, ``ANTHROPIC_VERTEX_BASE_URL`` or the region.

    Raises:
        ValueError: No region, or an empty one.
    """
    if region is None:
        region = os.environ.get("CLOUD_ML_REGION")
    if region is None:
        raise ValueError("no region: pass region= or set CLOUD_ML_REGION")
    if not region:
        raise ValueError(f"expected a non-empty region, got {region!r}")
    if project_id is None:
        project_id = os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID") or None
    if base_url is None:
        base_url = os.environ.get("ANTHROPIC_VERTEX_BASE_URL") or vertex_base_url(region)
    return VertexSettings(
        region=region,
        project_id=project_id,
        base_url=str(base_url).rstrip("/"),
        access_token=access_token,
    )


def _auth_request() -> Any:
    # google-auth needs an HTTP transport of its own to refresh tokens: requests' if
    # installed, else urllib3's (google-auth depends on neither).
    try:
        transport: Any = importlib.import_module("google.auth.transport.requests")
        return transport.Request()
    except ImportError:
        pass
    try:
        urllib3: Any = importlib.import_module("urllib3")
        transport = importlib.import_module("google.auth.transport.urllib3")
    except ImportError:
        raise CredentialsError(
            "refreshing Google credentials needs requests or urllib3: "
            "pip install 'trio_msgstream[vertex]'"
        ) from None
    return transport.Request(urllib3.PoolManager())


class GoogleCredentialSource:
    """Google credentials: given, or Application Default Credentials; refreshed when
    their token is missing or expired."""

    def __init__(self, credentials: Any = None) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()
        self.project_id: str | None = None
        """The project the default credentials name (once loaded)."""
        self.refreshes: int = 0
        """Blocking loads or refreshes run so far."""

    def __repr__(self) -> str:
        return f"GoogleCredentialSource(loaded={self._credentials is not None})"

    def __reduce__(self) -> Any:
        raise TypeError("Google credentials cannot be pickled")

    def cached(self) -> str | None:
        """The current token when it is usable as it is (no I/O), else ``None``."""
        credentials = self._credentials
        if credentials is None or getattr(credentials, "expired", False):
            return None
        token = getattr(credentials, "token", None)
        return token if isinstance(token, str) and token else None

    def token(self) -> str:
        """Load and refresh as needed; return the token. Blocks (network I/O).

        Raises:
            CredentialsError: google-auth is missing, or loading or refreshing failed.
        """
        with self._lock:
            token = self.cached()
            if token is not None:
                return token  # another thread refreshed while this one waited
            self.refreshes += 1
            try:
                google_auth: Any = importlib.import_module("google.auth")
                auth_errors: Any = importlib.import_module("google.auth.exceptions")
            except ImportError:
                raise CredentialsError(
                    "Vertex AI without access_token= needs google-auth: "
                    "pip install 'trio_msgstream[vertex]'"
                ) from None
            try:
                if self._credentials is None:
                    loaded, project = google_auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
                    self._credentials = loaded
                    self.project_id = project
                self._credentials.refresh(_auth_request())
            except auth_errors.GoogleAuthError as exc:
                raise CredentialsError(f"Google credentials failed: {exc}") from exc
            token = self.cached()
            if token is None:
                raise CredentialsError("the Google credentials gave no access token")
            return token


class VertexPlatform(Platform):
    """Google Vertex AI: see the module docstring for the wire.

    Takes the Vertex client's arguments (see :func:`vertex_settings`): ``credentials``
    are google-auth credentials (without ``access_token``; ``None`` loads Application
    Default Credentials on first use), ``api_version`` is put in each body as
    ``anthropic_version``.
    """

    name: ClassVar[str] = "vertex"
    label: ClassVar[str] = "Google Vertex AI"
    provider_name: ClassVar[str] = "gcp.vertex_ai"

    def __init__(
        self,
        *,
        region: str | None = None,
        project_id: str | None = None,
        access_token: str | None = None,
        credentials: Any = None,
        base_url: object = None,
        api_version: str,
    ) -> None:
        settings = vertex_settings(
            region=region, project_id=project_id, access_token=access_token, base_url=base_url
        )
        self.settings = settings
        self.base_url = settings.base_url
        self.api_version = api_version
        self._credentials = credentials
        self.google: GoogleCredentialSource | None = None
        if settings.access_token is None:
            self.google = GoogleCredentialSource(credentials)

    @property
    def arguments(self) -> dict[str, Any]:
        s = self.settings
        return {
            "region": s.region,
            "project_id": s.project_id,
            "access_token": s.access_token,
            "credentials": self._credentials,
        }

    @property
    def project_id(self) -> str | None:
        """The project: given, from the environment, or named by the credentials."""
        if self.settings.project_id is not None:
            return self.settings.project_id
        return self.google.project_id if self.google is not None else None

    def _model_path(self, model: str, specifier: str) -> str:
        project = self.project_id
        if not project:
            raise MsgStreamError(
                "no Vertex AI project: pass project_id= or set ANTHROPIC_VERTEX_PROJECT_ID "
                "(or use credentials that name one)"
            )
        segments = ["projects", project, "locations", self.settings.region]
        segments += ["publishers", "anthropic", "models"]
        for value in (project, self.settings.region, model):
            if not value:
                raise ValueError("the project, region and model must be non-empty")
            if value.partition(";")[0] in (".", "..") or value.startswith(";"):
                raise ValueError(f"{value!r} would make a dot-segment of the path")
        quoted = [quote(s, safe=_SEGMENT_SAFE) for s in segments]
        last = quote(model, safe=_SEGMENT_SAFE).replace(";", "%3B")
        return "/" + "/".join(quoted) + f"/{last}:{specifier}"

    def rewrite(self, spec: RequestSpec) -> RequestSpec:
        body = json_body(spec)
        if body is None:
            return spec
        body.setdefault("anthropic_version", self.api_version)
        path = spec.path
        set_headers: dict[str, str] = {}
        if spec.method == "POST" and path == MESSAGES_PATH:
            model = body.pop("model", None)
            if not isinstance(model, str):
                raise ValueError(f"expected a model name, got {model!r}")
            stream = bool(body.get("stream", False))
            if not stream:
                body.pop("stream", None)  # as the official SDK: only a stream says so
            path = self._model_path(model, "streamRawPredict" if stream else "rawPredict")
            set_headers["accept"] = "application/json"
            if stream:
                set_headers["accept-encoding"] = "identity"
        elif spec.method == "POST" and path == COUNT_TOKENS_PATH:
            path = self._model_path("count-tokens", "rawPredict")
        return with_body(
            spec, body, path=path, drop_headers=("anthropic-version",), set_headers=set_headers
        )

    def share_credentials(self, origin: Platform) -> None:
        # The same credentials (given, or the default ones: None) share one source:
        # one load, one refresh, and the project the default credentials name.
        if (
            isinstance(origin, VertexPlatform)
            and self.google is not None
            and origin.google is not None
            and self._credentials is origin._credentials
        ):
            self.google = origin.google

    def credential(self) -> Any:
        if self.settings.access_token is not None:
            return self.settings.access_token
        assert self.google is not None
        token = self.google.cached()
        return token if token is not None else Blocking(self.google.token)

    def sign(self, request: WireRequest, credential: Any) -> dict[str, str]:
        if any(k.lower() == "authorization" for k, _ in request.headers):
            return {}  # the caller authenticated it (default_headers, extra_headers)
        return {"authorization": f"Bearer {credential}"}
