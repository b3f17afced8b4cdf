"""Amazon Bedrock: the request rewrite, SigV4 or API-key auth, event-stream framing.

Part of the sans-IO core: no trio, no httpx. botocore (the optional extra
``trio_msgstream[bedrock]``) computes SigV4 signatures and resolves the AWS credential
chain; it is imported only when SigV4 is used.

What goes on the wire, as the official SDK sends it:

- ``POST /v1/messages`` becomes ``POST /model/{model}/invoke`` (or
  ``/invoke-with-response-stream`` for a stream): ``model`` and ``stream`` leave the
  body, the model is URL-quoted with ``:`` and ``;`` kept (so ARNs keep their colons,
  their ``/`` becomes ``%2F``);
- every JSON body gets ``anthropic_version`` (the client's API version) and, when the
  request names betas, ``anthropic_beta`` (the list); no ``anthropic-version`` header;
- auth is a SigV4 signature (service ``bedrock``) over the final request, or a Bedrock
  API key (``AWS_BEARER_TOKEN_BEDROCK``) as ``Authorization: Bearer``;
- streams answer in AWS event-stream frames (:mod:`.eventstream`);
- batches, models, files and count_tokens are not offered.

Credentials: explicit keys (with a session token) are used as given; otherwise
botocore's chain (environment, profile files, SSO, container and instance roles) is
resolved by :meth:`AwsCredentialChain.resolve`, which may read files or call a
metadata server, so the drivers run it off the event loop (:class:`~.base.Blocking`).
The result is cached; temporary credentials are refreshed the same way when botocore
says they are due.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from ..exceptions import CredentialsError, MsgStreamError
from ..request.spec import RequestSpec
from ..stream.engine import FRAMINGS, Framing
from .base import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    UNSUPPORTED_EVERYWHERE,
    Blocking,
    Platform,
    WireRequest,
    json_body,
    with_body,
)
from .eventstream import EVENTSTREAM_CONTENT_TYPE, EventStreamDecoder

__all__ = [
    "BEDROCK_FRAMINGS",
    "AwsCredentialChain",
    "BedrockPlatform",
    "BedrockSettings",
    "bedrock_settings",
    "sigv4_headers",
]

SERVICE = "bedrock"
USER_PROFILE_ID_HEADER = "anthropic-user-profile-id"


def _eventstream_decoder(max_event_size: int) -> EventStreamDecoder:
    return EventStreamDecoder(max_event_size=max_event_size)


BEDROCK_FRAMINGS: Mapping[str, Framing] = {
    **FRAMINGS,
    EVENTSTREAM_CONTENT_TYPE: Framing(EVENTSTREAM_CONTENT_TYPE, _eventstream_decoder, text=False),
}
"""Event-stream frames (what Bedrock sends), and SSE (what a gateway may send)."""


def _missing_botocore() -> MsgStreamError:
    return MsgStreamError(
        "AWS SigV4 signing needs botocore: pip install 'trio_msgstream[bedrock]' "
        "(or pass api_key= / set AWS_BEARER_TOKEN_BEDROCK to use a Bedrock API key)"
    )


def _botocore(module: str) -> Any:
    """A botocore module (botocore ships no type information)."""
    try:
        return importlib.import_module(f"botocore.{module}")
    except ImportError:
        raise _missing_botocore() from None


def _profile_region(profile: str | None) -> str | None:
    try:
        session = _botocore("session").Session(profile=profile)
    except MsgStreamError:
        return None
    region = session.get_config_variable("region")
    return region if isinstance(region, str) and region else None


@dataclass(frozen=True)
class BedrockSettings:
    """A Bedrock client's settings, arguments and environment resolved."""

    region: str
    base_url: str
    api_key: str | None
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    profile: str | None

    def __repr__(self) -> str:
        return f"BedrockSettings(region={self.region!r}, base_url={self.base_url!r})"


def bedrock_settings(
    *,
    aws_secret_key: str | None,
    aws_access_key: str | None,
    aws_region: str | None,
    aws_profile: str | None,
    aws_session_token: str | None,
    api_key: str | None,
    base_url: object,
) -> BedrockSettings:
    """The settings of a Bedrock client, as the official SDK reads them.

    ``api_key`` defaults to ``AWS_BEARER_TOKEN_BEDROCK`` and excludes AWS credentials;
    the region comes from ``aws_region``, ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the
    profile's configuration; the base URL from ``base_url``,
    ``ANTHROPIC_BEDROCK_BASE_URL`` or the region.

    Raises:
        ValueError: Both an API key and AWS credentials, or no region.
    """
    if api_key is None:
        api_key = os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or None
    has_aws = any(
        v is not None for v in (aws_access_key, aws_secret_key, aws_session_token, aws_profile)
    )
    if api_key is not None and has_aws:
        raise ValueError(
            "pass either api_key (a Bedrock API key) or AWS credentials (aws_access_key, "
            "aws_secret_key, aws_session_token, aws_profile), not both"
        )
    if (aws_access_key is None) != (aws_secret_key is None):
        raise ValueError("aws_access_key and aws_secret_key go together")
    region = (
        aws_region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or _profile_region(aws_profile)
    )
    if not region:
        raise ValueError(
            "no AWS region: pass aws_region=, set AWS_REGION or AWS_DEFAULT_REGION, "
            "or configure a region for your AWS profile"
        )
    if base_url is None:
        base_url = os.environ.get("ANTHROPIC_BEDROCK_BASE_URL") or None
    if base_url is None:
        base_url = f"https://bedrock-runtime.{region}.amazonaws.com"
    return BedrockSettings(
        region=region,
        base_url=str(base_url).rstrip("/"),
        api_key=api_key,
        access_key=aws_access_key,
        secret_key=aws_secret_key,
        session_token=aws_session_token,
        profile=aws_profile,
    )


class AwsCredentialChain:
    """AWS credentials, resolved once (off the event loop) and refreshed when due.

    With explicit keys they are used as given; otherwise botocore's default chain for
    the profile (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
    ``~/.aws`` files, SSO, web identity, container and instance roles).
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        profile: str | None = None,
    ) -> None:
        credentials_module = _botocore("credentials")
        self._profile = profile
        self._lock = threading.Lock()
        self._credentials: Any = None
        if access_key is not None and secret_key is not None:
            self._credentials = credentials_module.Credentials(
                access_key, secret_key, session_token
            )
        self.lookups: int = 0
        """Blocking lookups run so far (each a :meth:`resolve` that had work to do)."""

    def __repr__(self) -> str:
        return f"AwsCredentialChain(profile={self._profile!r})"

    def __reduce__(self) -> Any:
        raise TypeError("AWS credentials cannot be pickled")

    def cached(self) -> Any:
        """The frozen credentials when no lookup is needed (no I/O), else ``None``."""
        credentials = self._credentials
        if credentials is None:
            return None
        refresh_needed = getattr(credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            return None
        return credentials.get_frozen_credentials()

    def resolve(self) -> Any:
        """Look up (or refresh) the credentials and return them frozen. Blocks: files,
        a metadata server or STS may be read, so the trio driver runs it in a thread.

        Raises:
            CredentialsError: No credentials were found, or the lookup failed.
        """
        botocore_errors = _botocore("exceptions").BotoCoreError
        with self._lock:
            self.lookups += 1
            try:
                if self._credentials is None:
                    session = _botocore("session").Session(profile=self._profile)
                    credentials = session.get_credentials()
                    if credentials is None:
                        raise CredentialsError(
                            "no AWS credentials found (arguments, environment, "
                            f"profile {self._profile or 'default'!r}, instance role)"
                        )
                    self._credentials = credentials
                return self._credentials.get_frozen_credentials()
            except botocore_errors as exc:
                raise CredentialsError(f"AWS credentials could not be loaded: {exc}") from exc


def sigv4_headers(request: WireRequest, credentials: Any, region: str) -> dict[str, str]:
    """The SigV4 headers (``authorization``, ``x-amz-date``, ``x-amz-security-token``)
    for ``request``, computed by botocore over every header but ``connection``."""
    sigv4_auth, aws_request = _botocore("auth").SigV4Auth, _botocore("awsrequest").AWSRequest
    headers = {k: v for k, v in request.headers if k.lower() != "connection"}
    aws = aws_request(method=request.method, url=request.url, headers=headers, data=request.body)
    sigv4_auth(credentials, SERVICE, region).add_auth(aws)
    added = ("authorization", "x-amz-date", "x-amz-security-token")
    return {name: aws.headers[name] for name in added if aws.headers.get(name) is not None}


def model_path(model: object, stream: bool) -> str:
    """``/model/{model}/invoke`` (or ``/invoke-with-response-stream``), the model quoted."""
    before_params = str(model or "").partition(";")[0]
    if not isinstance(model, str) or not before_params:
        raise ValueError(f"expected a non-empty model name, got {model!r}")
    if before_params in (".", ".."):
        raise ValueError(f"the model {model!r} would make a dot-segment of the path")
    action = "invoke-with-response-stream" if stream else "invoke"
    return f"/model/{quote(model, safe=':;')}/{action}"


class BedrockPlatform(Platform):
    """Amazon Bedrock (``bedrock-runtime``): see the module docstring for the wire.

    Takes the Bedrock client's arguments (see :func:`bedrock_settings`), and
    ``api_version``, put in each body as ``anthropic_version``.
    """

    name: ClassVar[str] = "bedrock"
    label: ClassVar[str] = "Amazon Bedrock"
    provider_name: ClassVar[str] = "aws.bedrock"
    unsupported: ClassVar[tuple[tuple[str, str], ...]] = (
        *UNSUPPORTED_EVERYWHERE,
        (COUNT_TOKENS_PATH, "Token counting"),
    )
    framings: ClassVar[Mapping[str, Framing]] = BEDROCK_FRAMINGS

    def __init__(
        self,
        *,
        aws_secret_key: str | None = None,
        aws_access_key: str | None = None,
        aws_region: str | None = None,
        aws_profile: str | None = None,
        aws_session_token: str | None = None,
        api_key: str | None = None,
        base_url: object = None,
        api_version: str,
    ) -> None:
        settings = bedrock_settings(
            aws_secret_key=aws_secret_key,
            aws_access_key=aws_access_key,
            aws_region=aws_region,
            aws_profile=aws_profile,
            aws_session_token=aws_session_token,
            api_key=api_key,
            base_url=base_url,
        )
        self.settings = settings
        self.region = settings.region
        self.base_url = settings.base_url
        self.api_version = api_version
        self._api_key = settings.api_key
        self.aws: AwsCredentialChain | None = None
        if self._api_key is None:
            self.aws = AwsCredentialChain(
                access_key=settings.access_key,
                secret_key=settings.secret_key,
                session_token=settings.session_token,
                profile=settings.profile,
            )

    @property
    def arguments(self) -> dict[str, Any]:
        s = self.settings
        return {
            "aws_secret_key": s.secret_key,
            "aws_access_key": s.access_key,
            "aws_region": s.region,
            "aws_profile": s.profile,
            "aws_session_token": s.session_token,
            "api_key": s.api_key,
        }

    def rewrite(self, spec: RequestSpec) -> RequestSpec:
        body = json_body(spec)
        if body is None:
            return spec
        headers = spec.headers
        body.setdefault("anthropic_version", self.api_version)
        betas = headers.get("anthropic-beta")
        if betas:
            body.setdefault("anthropic_beta", betas.split(","))
        path = spec.path
        drop = ["anthropic-version"]
        set_headers: dict[str, str] = {}
        if path == MESSAGES_PATH and spec.method == "POST":
            profile_id = headers.get(USER_PROFILE_ID_HEADER)
            if profile_id is not None:
                drop.append(USER_PROFILE_ID_HEADER)
                body.setdefault("user_profile_id", profile_id)
            stream = bool(body.pop("stream", False))
            path = model_path(body.pop("model", None), stream)
            set_headers["accept"] = "application/json"
            if stream:
                set_headers["accept-encoding"] = "identity"
        return with_body(spec, body, path=path, drop_headers=drop, set_headers=set_headers)

    def share_credentials(self, origin: Platform) -> None:
        # Credentials do not depend on the region or the endpoint: the same keys or
        # profile share one chain (one lookup, one refresh).
        if not isinstance(origin, BedrockPlatform) or self.aws is None or origin.aws is None:
            return
        mine, theirs = self.settings, origin.settings
        same = (mine.access_key, mine.secret_key, mine.session_token, mine.profile) == (
            theirs.access_key,
            theirs.secret_key,
            theirs.session_token,
            theirs.profile,
        )
        if same:
            self.aws = origin.aws

    def credential(self) -> Any:
        if self._api_key is not None:
            return self._api_key
        assert self.aws is not None
        cached = self.aws.cached()
        return cached if cached is not None else Blocking(self.aws.resolve)

    def sign(self, request: WireRequest, credential: Any) -> dict[str, str]:
        if isinstance(credential, str):
            return {"authorization": f"Bearer {credential}"}
        return sigv4_headers(request, credential, self.region)
