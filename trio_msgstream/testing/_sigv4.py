"""The server side of AWS SigV4: recompute a request's signature and compare.

The fake Bedrock endpoint accepts a request only when its ``Authorization`` header is a
SigV4 signature that botocore, given the secret key the fake knows, computes again for
the request as it arrived (the headers it names as signed, the path, the query, the
body and the ``x-amz-date``), for the service ``bedrock`` and the fake's region. This is
what AWS checks; a client that signs the wrong bytes, region or service is refused with
a 403, as AWS refuses it.
"""

from __future__ import annotations

import datetime
import hmac
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._routes import RecordedRequest

__all__ = ["AwsKey", "verify_sigv4"]

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_SKEW = datetime.timedelta(minutes=5)
"""How far a request's ``x-amz-date`` may be from now (AWS allows five minutes)."""


@dataclass(frozen=True)
class AwsKey:
    """An AWS credential the fake accepts: the secret key and, for temporary
    credentials, the session token the request must carry."""

    secret_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return "AwsKey(...)"


def verify_sigv4(
    request: RecordedRequest,
    keys: Mapping[str, AwsKey],
    *,
    region: str,
    service: str = "bedrock",
    now: datetime.datetime | None = None,
) -> str | None:
    """Why ``request`` fails SigV4 verification, or ``None`` when it passes."""
    found = _AUTH.match(request.header("authorization") or "")
    if found is None:
        return "Authorization is not an AWS4-HMAC-SHA256 signature"
    key = keys.get(found["key"])
    if key is None:
        return f"The security token included in the request is invalid ({found['key']})"
    if found["region"] != region or found["service"] != service:
        return f"Credential should be scoped to {region}/{service}"
    if key.session_token is not None and request.header("x-amz-security-token") != (
        key.session_token
    ):
        return "The security token included in the request is invalid"
    stamp = request.header("x-amz-date") or ""
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
        when = when.replace(tzinfo=datetime.UTC)
    except ValueError:
        return "x-amz-date is missing or malformed"
    now = now or datetime.datetime.now(datetime.UTC)
    if abs(now - when) > MAX_SKEW or found["date"] != stamp[:8]:
        return "Signature expired or not yet valid"
    signed = found["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    headers = {}
    for name in signed:
        value = request.header(name)
        if value is None:
            return f"the signed header {name} is missing"
        headers[name] = value
    expected = _signature(request, headers, key, found["key"], region, service, stamp)
    if not hmac.compare_digest(expected, found["signature"]):
        return "The request signature we calculated does not match the signature you provided"
    return None


def _signature(
    request: RecordedRequest,
    headers: Mapping[str, str],
    key: AwsKey,
    access_key: str,
    region: str,
    service: str,
    stamp: str,
) -> str:
    auth: Any = importlib.import_module("botocore.auth")
    awsrequest: Any = importlib.import_module("botocore.awsrequest")
    credentials: Any = importlib.import_module("botocore.credentials")
    target = request.path + (f"?{request.query}" if request.query else "")
    aws = awsrequest.AWSRequest(
        method=request.method,
        url=f"http://{headers['host']}{target}",
        headers=dict(headers),
        data=request.body,
    )
    aws.context["timestamp"] = stamp
    signer = auth.SigV4Auth(
        credentials.Credentials(access_key, key.secret_key, key.session_token), service, region
    )
    string_to_sign = signer.string_to_sign(aws, signer.canonical_request(aws))
    signature: str = signer.signature(string_to_sign, aws)
    return signature
