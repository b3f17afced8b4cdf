"""Keeping the client's own secrets out of everything it shows. Pure (sans-IO).

The API key (``x-api-key``) and the bearer token (``authorization``) travel in request
headers. They must never appear in a repr, a message, a pickled error, a log line or a
traceback rendered with locals. The HTTP glue masks them on the request objects that
errors carry, and redacts them from any text built from a response (a server may echo
the key in a 401 body); this module holds the rules both sides share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "MASK",
    "REDACTED",
    "SECRET_HEADERS",
    "mask_headers",
    "redact",
    "held_secrets",
    "redact_bytes",
    "secret_values",
]

SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization"})
"""Request headers whose values are secrets (names in lower case)."""

MASK = "[secure]"
"""What a secret header's value is replaced with (the mask httpx uses)."""

REDACTED = "[REDACTED]"
"""What a secret found in response text is replaced with."""


def secret_values(headers: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The secrets in ``(name, value)`` header pairs: each secret header's value and, for
    ``Bearer``/``Basic`` credentials, the credential alone. Longest first."""
    found: set[str] = set()
    for name, value in headers:
        if name.lower() not in SECRET_HEADERS or not value or value == MASK:
            continue
        found.add(value)
        scheme, _, credential = value.partition(" ")
        if credential.strip() and scheme.isalpha():
            found.add(credential.strip())
    return tuple(sorted(found, key=len, reverse=True))


def held_secrets(*credentials: str | None, also: Iterable[str] = ()) -> tuple[str, ...]:
    """Every credential a client holds (whether or not a request sent it) and the
    secrets in ``also``, without repeats, longest first: a server may echo a credential
    it was not sent (a key and a token both set, only one goes)."""
    found = {c for c in credentials if c} | {s for s in also if s}
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by :data:`REDACTED`."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """:func:`redact` for bytes (secrets encoded as UTF-8)."""
    for secret in secrets:
        raw = secret.encode("utf-8", "replace")
        if raw and raw in data:
            data = data.replace(raw, REDACTED.encode())
    return data


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with each secret header's value replaced by :data:`MASK`."""
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
