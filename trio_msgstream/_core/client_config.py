"""What the sync and async clients share: credentials, URL, defaults, request building.

Part of the sans-IO core: both clients inherit it, so a request is built one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import (
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    Timeout,
    TimeoutTypes,
    build_body,
    build_headers,
    default_api_key,
    default_base_url,
    resolve_timeout,
)
from .exceptions import MsgStreamError
from .request import RequestSpec

__all__ = ["MESSAGES_PATH", "ClientConfig"]

MESSAGES_PATH = "/v1/messages"


def _missing_key_error() -> MsgStreamError:
    return MsgStreamError(
        "no API key: pass api_key= or auth_token=, or set ANTHROPIC_API_KEY "
        "(or point base_url at a server that needs none, such as trio_msgstream.testing)"
    )


class ClientConfig:
    """What the sync and async clients share: credentials, URL, defaults, requests."""

    def __init__(
        self,
        *,
        api_key: str | None,
        auth_token: str | None,
        base_url: object | None,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        self._api_key = api_key if api_key is not None else default_api_key()
        self._auth_token = auth_token
        self.base_url: str = (
            str(base_url).rstrip("/") if base_url is not None else default_base_url()
        )
        if self._api_key is None and auth_token is None and "api.anthropic.com" in self.base_url:
            raise _missing_key_error()
        self._timeout = resolve_timeout(timeout, DEFAULT_TIMEOUT)
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._max_retries = max_retries
        self._default_headers = dict(default_headers or {})

    @property
    def api_key(self) -> str | None:
        """The API key in use (never shown in ``repr``, logs or errors)."""
        return self._api_key

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    def _settings(
        self, timeout: TimeoutTypes | NotGiven, max_retries: int | NotGiven
    ) -> dict[str, Any]:
        """This client's settings, with ``timeout``/``max_retries`` changed when given
        (for ``with_options``)."""
        return {
            "api_key": self._api_key,
            "auth_token": self._auth_token,
            "base_url": self.base_url,
            "timeout": self._timeout if isinstance(timeout, NotGiven) else timeout,
            "max_retries": self._max_retries if isinstance(max_retries, NotGiven) else max_retries,
            "default_headers": self._default_headers,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self._max_retries}, timeout={self._timeout!r})"
        )

    def build_spec(
        self,
        params: Mapping[str, Any],
        *,
        stream: bool,
        timeout: Any = NOT_GIVEN,
        max_retries: Any = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RequestSpec:
        """A ready-to-send request for ``POST /v1/messages``."""
        if "stream" in params:
            raise TypeError("pass stream= only to messages.create()")
        retries = self._max_retries if isinstance(max_retries, NotGiven) else int(max_retries)
        return RequestSpec(
            method="POST",
            path=MESSAGES_PATH,
            headers=build_headers(
                self._api_key,
                auth_token=self._auth_token,
                default_headers=self._default_headers,
                extra_headers=extra_headers,
                stream=stream,
            ),
            body=build_body(params, stream=stream, extra_body=extra_body),
            timeout=resolve_timeout(timeout, self._timeout),
            max_retries=retries,
            query=dict(extra_query or {}),
        )
