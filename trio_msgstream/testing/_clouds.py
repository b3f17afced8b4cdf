"""Fake cloud platform endpoints: Amazon Bedrock, Google Vertex AI, Microsoft Foundry.

Theory of operation: each fake adds the platform's routes to a running
:class:`~trio_msgstream.testing.FakeAnthropicServer` (``add_route``), checks the
request the way the platform does (its path, its body, its authentication), turns it
into the first-party ``POST /v1/messages`` it stands for, and answers it with the
server's usual scripts (``enqueue``, ``fail_first``, the responder): a test scripts a
Bedrock stream exactly as a first-party one. The answer is then put in the platform's
wire format:

- **Bedrock** (:class:`FakeBedrock`): ``/model/{model}/invoke`` and
  ``/invoke-with-response-stream``; a request must carry a SigV4 signature (service
  ``bedrock``) that botocore recomputes here from the secret key (or the fake's API key
  as a bearer token), ``anthropic_version`` in the body, and no ``model`` or ``stream``
  there. A streamed answer is sent as AWS event-stream frames, one per event, and an
  ``error`` event as the exception frame Bedrock sends for it (``rate_limit_error`` ->
  ``throttlingException``, ...; see :data:`AWS_EXCEPTIONS`). Faults scripted at SSE
  byte offsets (drops, stalls) happen at the same place in the frames. Error statuses
  carry Bedrock's ``{"message": ...}`` body and ``x-amzn-ErrorType`` header. Every
  answer names itself as Bedrock's do, by an ``x-amzn-RequestId`` header (a UUID; no
  ``request-id``), listed in :attr:`FakeBedrock.request_ids`.
- **Vertex AI** (:class:`FakeVertex`): ``/v1/projects/{p}/locations/{r}/publishers/
  anthropic/models/{model}:rawPredict`` / ``:streamRawPredict`` and
  ``count-tokens:rawPredict``, a bearer access token, ``anthropic_version`` in the body;
  answers as the first-party API (Server-Sent Events).
- **Foundry** (:class:`FakeFoundry`): the first-party paths under ``/anthropic``, the
  key in ``x-api-key`` and ``api-key``, or an Entra ID bearer token.

Each fake's :meth:`client_kwargs` are the arguments of the matching client pointed at
it: ``AsyncAnthropicBedrock(**fake.client_kwargs())``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from .._core.platforms.eventstream import (
    EVENTSTREAM_CONTENT_TYPE,
    encode_chunk,
    encode_exception,
)
from .._core.stream.sse import SSEDecoder
from ._fake_endpoints import estimate_input_tokens
from ._responses import ScriptedResponse
from ._routes import RecordedRequest
from ._server import FakeAnthropicServer
from ._sigv4 import AwsKey, verify_sigv4
from ._sse import looks_like_sse, split_events, sse_bytes

__all__ = [
    "AWS_EXCEPTIONS",
    "FakeBedrock",
    "FakeFoundry",
    "FakeVertex",
    "bedrock_frames",
    "eventstream_bytes",
]

AWS_EXCEPTIONS: dict[str, str] = {
    "rate_limit_error": "throttlingException",
    "api_error": "internalServerException",
    "invalid_request_error": "validationException",
    "timeout_error": "modelTimeoutException",
}
"""The exception frame Bedrock sends for a scripted ``error`` event of each type. An
``error`` event whose type is itself one of Bedrock's exceptions
(``serviceUnavailableException``, ``modelStreamErrorException``, ...) becomes that
exception frame; any other (``overloaded_error``) is passed on as a chunk, as Bedrock
passes on the model's own events."""

_AWS_NAMES = frozenset(
    {
        *AWS_EXCEPTIONS.values(),
        "serviceUnavailableException",
        "modelStreamErrorException",
        "modelNotReadyException",
    }
)


def _json(status: int, payload: object, *headers: tuple[str, str]) -> ScriptedResponse:
    return ScriptedResponse(
        status=status,
        headers=[("content-type", "application/json"), *headers],
        body=json.dumps(payload).encode(),
    )


def _first_party(request: RecordedRequest, body: Mapping[str, Any]) -> RecordedRequest:
    """The ``POST /v1/messages`` a platform request stands for (for the scripts)."""
    return dataclasses.replace(
        request,
        path="/v1/messages",
        query="",
        body=json.dumps(body).encode(),
        json=dict(body),
    )


def _counted(body: Mapping[str, Any]) -> ScriptedResponse:
    if "model" not in body or "messages" not in body:
        return ScriptedResponse.error(400, "invalid_request_error", "model and messages required")
    return _json(200, {"input_tokens": estimate_input_tokens(body)})


# -- Bedrock -------------------------------------------------------------------------


def _aws_error(status: int, error_type: str, message: str) -> ScriptedResponse:
    origin = "http://internal.amazon.com/coral/com.amazon.bedrock/"
    return _json(status, {"message": message}, ("x-amzn-errortype", f"{error_type}:{origin}"))


def _bedrock_error_body(script: ScriptedResponse) -> ScriptedResponse:
    # An Anthropic error body becomes Bedrock's {"message": ...}; the status stays.
    try:
        error = json.loads(script.body)["error"]
        message, kind = str(error["message"]), str(error["type"])
    except (ValueError, KeyError, TypeError):
        return script
    aws_type = AWS_EXCEPTIONS.get(kind, "internalServerException")
    aws_type = aws_type[0].upper() + aws_type[1:]
    replacement = _aws_error(script.status, aws_type, message)
    kept = [(k, v) for k, v in script.headers if k.lower() != "content-type"]
    return dataclasses.replace(
        script, headers=[*replacement.headers, *kept], body=replacement.body, chunks=None
    )


def _frame_of(piece: bytes) -> bytes:
    events = SSEDecoder().feed(piece)
    if not events:  # an event cut off by the script: half a frame
        frame = encode_chunk('{"type":"ping"}')
        return frame[: len(frame) // 2]
    out = b""
    for event in events:
        error = json.loads(event.data).get("error", {}) if event.event == "error" else {}
        error_type = str(error.get("type"))
        kind = AWS_EXCEPTIONS.get(error_type, error_type)
        if kind in _AWS_NAMES:
            out += encode_exception(kind, str(error.get("message", kind)))
        else:
            out += encode_chunk(event.data)
    return out


def bedrock_frames(script: ScriptedResponse) -> ScriptedResponse:
    """A scripted SSE response as Bedrock sends it: one event-stream frame per event,
    its faults moved to the same places in the frames."""
    if script.status >= 400:
        return _bedrock_error_body(script)
    if not script.is_sse:
        return script
    headers = [
        (k, v) for k, v in script.headers if k.lower() not in ("content-type", "cache-control")
    ]
    headers.insert(0, ("content-type", EVENTSTREAM_CONTENT_TYPE))
    if not looks_like_sse(script.body):  # garbage stays garbage
        return dataclasses.replace(script, headers=headers, ping_bytes=b"")
    pieces = split_events(script.body)
    frames = [_frame_of(piece) for piece in pieces]
    sse_starts, frame_starts = [0], [0]
    for piece, frame in zip(pieces, frames, strict=True):
        sse_starts.append(sse_starts[-1] + len(piece))
        frame_starts.append(frame_starts[-1] + len(frame))

    def moved(offset: int | None) -> int | None:
        if offset is None:
            return None
        for i, piece in enumerate(pieces):
            if offset < sse_starts[i + 1]:
                within = (offset - sse_starts[i]) * len(frames[i]) // max(len(piece), 1)
                return frame_starts[i] + within
        return frame_starts[-1] + (offset - sse_starts[-1])

    return dataclasses.replace(
        script,
        headers=headers,
        body=b"".join(frames),
        chunks=[f for f in frames if f] or None,
        drop_after_bytes=moved(script.drop_after_bytes),
        stall_after_bytes=moved(script.stall_after_bytes),
        ping_bytes=encode_chunk('{"type":"ping"}'),
        chunked_encoding=True,
    )


def eventstream_bytes(
    events: Iterable[Mapping[str, Any] | tuple[str, Mapping[str, Any] | str]],
) -> bytes:
    """Events encoded as Bedrock streams them (AWS event-stream frames), for mock
    transports: the same arguments as :func:`~trio_msgstream.testing.sse_bytes`, and
    an ``error`` event becomes its exception frame."""
    return b"".join(_frame_of(piece) for piece in split_events(sse_bytes(events)))


class FakeBedrock:
    """Amazon Bedrock's ``invoke`` endpoints on ``server`` (see the module docstring).

    Args:
        server: The fake server to add the routes to.
        region: The region signatures must be scoped to.
        access_key, secret_key, session_token: The AWS credential accepted.
        api_key: The Bedrock API key accepted as a bearer token.

    Attributes:
        keys: Accepted access key ids and their :class:`AwsKey` (add more freely).
        rejections: Why each refused request was refused, in order.
        request_ids: The ``x-amzn-RequestId`` of each answer, in order.
    """

    def __init__(
        self,
        server: FakeAnthropicServer,
        *,
        region: str = "us-east-1",
        access_key: str = "AKIDTRIOFAKE",
        secret_key: str = "fake-secret-key",
        session_token: str | None = None,
        api_key: str = "fake-bedrock-api-key",
    ) -> None:
        self.server = server
        self.region = region
        self.access_key = access_key
        self.keys: dict[str, AwsKey] = {access_key: AwsKey(secret_key, session_token)}
        self.api_key = api_key
        self.rejections: list[str] = []
        self.request_ids: list[str] = []
        server.add_route("POST", "/model/{model}/invoke", self._invoke)
        server.add_route("POST", "/model/{model}/invoke-with-response-stream", self._stream)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client_kwargs(self, *, api_key: bool = False) -> dict[str, Any]:
        """Arguments of a Bedrock client pointed at this fake (SigV4, or the API key)."""
        kwargs: dict[str, Any] = {"base_url": self.base_url, "aws_region": self.region}
        if api_key:
            return {**kwargs, "api_key": self.api_key}
        key = self.keys[self.access_key]
        return {
            **kwargs,
            "aws_access_key": self.access_key,
            "aws_secret_key": key.secret_key,
            "aws_session_token": key.session_token,
        }

    def _invoke(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        return self._named(self._answer(request, params, stream=False))

    def _stream(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        return self._named(self._answer(request, params, stream=True))

    def _named(self, script: ScriptedResponse) -> ScriptedResponse:
        # Bedrock's request id header (a script's own is kept); the server then adds
        # no first-party ``request-id``.
        for name, value in script.headers:
            if name.lower() == "x-amzn-requestid":
                self.request_ids.append(value)
                return script
        request_id = str(uuid.uuid4())
        self.request_ids.append(request_id)
        headers = [*script.headers, ("x-amzn-RequestId", request_id)]
        return dataclasses.replace(script, headers=headers)

    def _refuse(self, status: int, error_type: str, message: str) -> ScriptedResponse:
        self.rejections.append(message)
        return _aws_error(status, error_type, message)

    def _answer(
        self, request: RecordedRequest, params: Mapping[str, str], *, stream: bool
    ) -> ScriptedResponse:
        authorization = request.header("authorization") or ""
        if authorization.startswith("Bearer "):
            if authorization != f"Bearer {self.api_key}":
                return self._refuse(403, "UnrecognizedClientException", "Invalid API key")
        else:
            reason = verify_sigv4(request, self.keys, region=self.region)
            if reason is not None:
                return self._refuse(403, "InvalidSignatureException", reason)
        body = request.json
        if not isinstance(body, dict) or "anthropic_version" not in body:
            return self._refuse(400, "ValidationException", "anthropic_version is required")
        if "model" in body or "stream" in body:
            return self._refuse(400, "ValidationException", "model and stream belong in the path")
        if request.header("anthropic-version") is not None:
            return self._refuse(400, "ValidationException", "no anthropic-version header here")
        view = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta")}
        view.update(model=unquote(params["model"]), stream=stream)
        script = self.server._next_script(_first_party(request, view))
        return bedrock_frames(script)


# -- Vertex AI -------------------------------------------------------------------------


class FakeVertex:
    """Vertex AI's Anthropic publisher endpoints on ``server`` (see the module docstring).

    Args:
        server: The fake server to add the route to.
        project: The project the path must name.
        region: The region the path must name.
        access_token: The bearer token accepted.

    Attributes:
        access_tokens: Every token accepted (add more, e.g. a refreshed one).
        rejections: Why each refused request was refused, in order.
    """

    def __init__(
        self,
        server: FakeAnthropicServer,
        *,
        project: str = "fake-project",
        region: str = "us-east5",
        access_token: str = "fake-vertex-token",
    ) -> None:
        self.server = server
        self.project = project
        self.region = region
        self.access_token = access_token
        self.access_tokens: set[str] = {access_token}
        self.rejections: list[str] = []
        server.add_route(
            "POST",
            "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{target}",
            self._answer,
        )

    @property
    def base_url(self) -> str:
        return f"{self.server.base_url}/v1"

    def client_kwargs(self) -> dict[str, Any]:
        """Arguments of a Vertex client pointed at this fake."""
        return {
            "base_url": self.base_url,
            "region": self.region,
            "project_id": self.project,
            "access_token": self.access_token,
        }

    def _refuse(self, status: int, message: str) -> ScriptedResponse:
        self.rejections.append(message)
        return ScriptedResponse.error(status, "invalid_request_error", message)

    def _answer(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        authorization = request.header("authorization") or ""
        token = authorization.removeprefix("Bearer ")
        if not authorization.startswith("Bearer ") or token not in self.access_tokens:
            self.rejections.append("invalid access token")
            return ScriptedResponse.error(401, "authentication_error", "invalid access token")
        if (params["project"], params["region"]) != (self.project, self.region):
            return self._refuse(404, f"no project {params['project']} in {params['region']}")
        model, _, verb = unquote(params["target"]).rpartition(":")
        body = request.json
        if not isinstance(body, dict) or "anthropic_version" not in body:
            return self._refuse(400, "anthropic_version is required in the body")
        if "model" in body and model != "count-tokens":
            return self._refuse(400, "the model belongs in the path")
        view = {k: v for k, v in body.items() if k != "anthropic_version"}
        if model == "count-tokens" and verb == "rawPredict":
            return _counted(view)
        if verb not in ("rawPredict", "streamRawPredict"):
            return self._refuse(404, f"unknown method {verb!r}")
        if (verb == "streamRawPredict") != bool(body.get("stream")):
            return self._refuse(400, f":{verb} and stream={body.get('stream')!r} disagree")
        view.update(model=model, stream=verb == "streamRawPredict")
        return self.server._next_script(_first_party(request, view))


# -- Foundry ---------------------------------------------------------------------------


class FakeFoundry:
    """Microsoft Foundry's Anthropic endpoints on ``server`` (see the module docstring).

    Args:
        server: The fake server to add the routes to.
        api_key: The Foundry key accepted (in ``x-api-key`` and ``api-key``).
        entra_tokens: The Entra ID bearer tokens accepted.

    Attributes:
        rejections: Why each refused request was refused, in order.
    """

    def __init__(
        self,
        server: FakeAnthropicServer,
        *,
        api_key: str = "fake-foundry-key",
        entra_tokens: Iterable[str] = ("fake-entra-token",),
    ) -> None:
        self.server = server
        self.api_key = api_key
        self.entra_tokens: set[str] = set(entra_tokens)
        self.rejections: list[str] = []
        server.add_route("POST", "/anthropic/v1/messages", self._messages)
        server.add_route("POST", "/anthropic/v1/messages/count_tokens", self._count)

    @property
    def base_url(self) -> str:
        return f"{self.server.base_url}/anthropic"

    def client_kwargs(self) -> dict[str, Any]:
        """Arguments of a Foundry client pointed at this fake (with the API key)."""
        return {"base_url": self.base_url, "api_key": self.api_key}

    def _refused(self, request: RecordedRequest) -> ScriptedResponse | None:
        authorization = request.header("authorization")
        if authorization is not None:
            if authorization.removeprefix("Bearer ") in self.entra_tokens:
                return None
        elif request.header("x-api-key") == self.api_key == request.header("api-key"):
            return None
        self.rejections.append("invalid credentials")
        return ScriptedResponse.error(401, "authentication_error", "invalid credentials")

    def _messages(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = request.json if isinstance(request.json, dict) else {}
        return self.server._next_script(_first_party(request, {"stream": False, **body}))

    def _count(
        self, server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
    ) -> ScriptedResponse:
        refused = self._refused(request)
        if refused is not None:
            return refused
        return _counted(request.json if isinstance(request.json, dict) else {})
