"""What a middleware's response is, whatever drives it: the part both clients share.

Part of the sans-IO core. :class:`ResponseBase` holds the state of one HTTP attempt's
response as middleware sees it (the wire response, a body already read, the parse
rules) and everything that reads no bytes: the status, headers and request id, the
parse of a body once read, the response derived with another body. The drivers'
``APIResponse`` (sync) and ``AsyncAPIResponse`` (trio) add what reads and closes, with
and without ``await``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..config import NOT_GIVEN
from ..stream.engine import FRAMINGS, Framing
from .framing import parse_body

__all__ = ["ResponseBase"]


class ResponseBase:
    """The response of one HTTP attempt, less its reading and closing."""

    __slots__ = (
        "_adopted",
        "_body",
        "_closed",
        "_framings",
        "_parsed",
        "_parser",
        "_stream",
        "_wire",
        "retries_taken",
    )

    def __init__(
        self,
        wire: Any,
        *,
        retries_taken: int = 0,
        parser: Callable[[bytes], Any] | None = None,
        parsed: Any = NOT_GIVEN,
        stream: bool = False,
        framings: Mapping[str, Framing] = FRAMINGS,
    ) -> None:
        self._wire = wire  # the driver's wire response, or None for a made-up answer
        self._parser = parser
        self._parsed = parsed
        self._stream = stream
        self._framings = framings
        self._body: bytes | None = None if wire is not None else b""
        self._closed = False
        self._adopted = False
        self.retries_taken: int = retries_taken
        """Retries taken before the attempt that produced this response."""

    # -- what middleware reads ---------------------------------------------------------

    @property
    def http_response(self) -> Any:
        """The ``httpx.Response`` (its request's credential headers masked)."""
        return self._wire.raw if self._wire is not None else None

    @property
    def status_code(self) -> int:
        return int(self._wire.status_code) if self._wire is not None else 200

    @property
    def headers(self) -> Mapping[str, str]:
        return self._wire.headers if self._wire is not None else {}

    @property
    def request_id(self) -> str | None:
        return self._wire.request_id if self._wire is not None else None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}]>"

    # -- the runtime's response protocol, the part that reads nothing ------------------

    @property
    def raw(self) -> Any:
        return self.http_response

    @property
    def request(self) -> Any:
        return self._wire.request if self._wire is not None else None

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._wire.secrets if self._wire is not None else ()

    # -- for the drivers ---------------------------------------------------------------

    def _parse_read(self, body: bytes) -> Any:
        """The value the caller gets from this (read) body, parsed once."""
        self._parsed = parse_body(
            body,
            content_type=self.headers.get("content-type"),
            stream=self._stream,
            parser=self._parser,
            framings=self._framings,
            request_id=self.request_id,
            secrets=self.secrets,
        )
        return self._parsed

    def _derived(self, wire: Any) -> Any:
        """A response of the same kind over ``wire``, with the same parse rules."""
        return type(self)(
            wire,
            retries_taken=self.retries_taken,
            parser=self._parser,
            stream=self._stream,
            framings=self._framings,
        )

    def _with_body(self, body: bytes) -> Any:
        """This response with another (read) body: the same status and headers."""
        derived = self._derived(self._wire)
        derived._body, derived._closed = body, True
        return derived
