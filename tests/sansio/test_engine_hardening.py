"""Engine hardening (issue 10): chunking-independent partial messages on invalid UTF-8
(item 10), secrets redacted from mid-stream errors (item 9), errors that pickle without
secrets (items 6, 8) and a RequestSpec repr without them (item 7)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pydantic
import pytest

import trio_msgstream as tms
from trio_msgstream._core import exceptions as exc_module
from trio_msgstream._core.config import Timeout
from trio_msgstream._core.request.spec import RequestSpec
from trio_msgstream._core.stream.engine import StreamEngine
from trio_msgstream._core.typed_json.structured import StructuredOutputError

FIXTURE = Path(__file__).parent.parent / "fixtures" / "anthropic" / "docs_tool_use.sse"
KEY = "sk-ant-api03-SECRETSECRETSECRET"
TOKEN = "tok-SECRETBEARERTOKEN"


def _partial(chunks: list[bytes]) -> tms.Message | None:
    engine = StreamEngine()

    def feed() -> None:
        for chunk in chunks:
            engine.receive_data(chunk)

    with pytest.raises(tms.StreamProtocolError, match="not UTF-8") as info:
        feed()
    return info.value.partial_message


def _good_and_bad() -> tuple[bytes, bytes]:
    body = FIXTURE.read_bytes()
    cut = body.index(b"\n\n", len(body) // 2) + 2  # after a complete event
    return body[:cut], b"event: ping\ndata: \xff\xfe\n\n"


def test_invalid_utf8_keeps_the_events_before_it_whatever_the_chunking() -> None:
    good, bad = _good_and_bad()
    one_chunk = _partial([good + bad])
    two_chunks = _partial([good, bad])
    assert two_chunks is not None
    assert one_chunk == two_chunks
    # An invalid byte inside a multi-byte sequence cut across chunks: the same again.
    assert _partial([good + b"data: \xc3", b"\x28\n\n"]) == two_chunks


def test_invalid_utf8_in_raw_mode_decodes_the_events_before_it() -> None:
    good, bad = _good_and_bad()
    engine = StreamEngine(accumulate=False)
    with pytest.raises(tms.StreamProtocolError):
        engine.receive_raw(good + bad)
    assert engine.events_received == len(StreamEngine(accumulate=False).receive_raw(good))


def test_invalid_utf8_byte_offset_is_exact() -> None:
    engine = StreamEngine()
    engine.receive_data(b": comment\n")
    with pytest.raises(tms.StreamProtocolError, match="byte offset 14"):
        engine.receive_data(b"data\xe2\x82" + b"\x28")  # bad continuation at 10 + 4


def test_mid_stream_error_redacts_the_clients_secrets() -> None:
    engine = StreamEngine(secrets=(KEY, TOKEN))
    body = (
        b'event: error\ndata: {"type":"error","error":{"type":"authentication_error",'
        b'"message":"bad key ' + KEY.encode() + b" and " + TOKEN.encode() + b'"}}\n\n'
    )
    with pytest.raises(tms.AuthenticationError) as info:
        engine.receive_data(body)
    for text in (str(info.value), repr(info.value.body), info.value.message):
        assert KEY not in text
        assert TOKEN not in text
        assert "[REDACTED]" in text


def _all_error_instances() -> list[tms.MsgStreamError]:
    request = object()  # stands in for the transport's request
    out: list[tms.MsgStreamError] = []
    for name in exc_module.__all__:
        cls = getattr(exc_module, name)
        if not (isinstance(cls, type) and issubclass(cls, tms.MsgStreamError)):
            continue
        if issubclass(cls, tms.APIStatusError):
            out.append(
                cls(
                    "Error code: 401 - bad",
                    status_code=401,
                    request_id="req_1",
                    type="authentication_error",
                    body={"error": {"message": "bad"}},
                    request=request,
                    response=object(),
                    mid_stream=True,
                )
            )
        elif issubclass(cls, tms.APITimeoutError):
            out.append(cls("timed out", which="content_idle", request=request, body="b"))
        elif issubclass(cls, tms.APIError):
            out.append(cls(f"{name} happened", request=request, body={"k": 1}))
        else:
            out.append(cls("base"))
    return out


@pytest.mark.parametrize("error", _all_error_instances(), ids=lambda e: type(e).__name__)
def test_every_error_class_pickles(error: tms.MsgStreamError) -> None:
    error.add_note("a note")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__notes__ == ["a note"]
    for name in ("message", "status_code", "type", "request_id", "body", "which", "mid_stream"):
        assert getattr(copy, name, None) == getattr(error, name, None)
    assert getattr(copy, "request", None) is None
    assert getattr(copy, "response", None) is None


def test_fan_out_cancelled_pickles() -> None:
    error = tms.FanOutCancelled("item-7")
    copy = pickle.loads(pickle.dumps(error))
    assert copy.key == "item-7"
    assert str(copy) == str(error)


def test_request_spec_repr_hides_secrets() -> None:
    spec = RequestSpec(
        method="POST",
        path="/v1/messages",
        headers={"x-api-key": KEY, "authorization": f"Bearer {TOKEN}", "accept": "x"},
        body=b'{"secret": "' + KEY.encode() + b'"}',
        timeout=Timeout(),
        max_retries=2,
    )
    text = repr(spec)
    assert KEY not in text
    assert TOKEN not in text
    assert "'accept': 'x'" in text
    assert "x-api-key" in text


def _every_error_class() -> list[type[tms.MsgStreamError]]:
    # Import every module that defines errors, then walk the whole tree.
    import trio_msgstream._core.batches.build
    import trio_msgstream._core.batches.models
    import trio_msgstream._core.batches.results
    import trio_msgstream._core.typed_json.structured
    import trio_msgstream._trio.stream  # noqa: F401

    found: list[type[tms.MsgStreamError]] = []
    pending: list[type[tms.MsgStreamError]] = [tms.MsgStreamError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__qualname__)


_SPECIAL_ARGS: dict[str, tuple[tuple[object, ...], dict[str, object]]] = {
    "FanOutCancelled": (("item-1",), {}),
    "BatchWaitTimeout": (("waited",), {"batch": None}),
    "BatchResultsError": (("bad line",), {"line_number": 3, "custom_id": "c-1"}),
    "BatchLimitError": (("too many",), {"custom_id": "c-2"}),
    "BatchUploadError": (("upload failed",), {"created": [], "remaining": [[{"a": 1}]]}),
}


def _structured_kwargs(name: str) -> dict[str, object]:
    message = tms.Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "refusal",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )
    kwargs: dict[str, object] = {"final_message": message, "raw_text": "hi"}
    if name == "OutputTruncatedError":
        kwargs["stop_reason"] = "max_tokens"
    if name == "OutputValidationError":

        class Model(pydantic.BaseModel):
            a: int

        try:
            Model.model_validate({"a": "not a number"})
        except pydantic.ValidationError as exc:
            kwargs["validation_error"] = exc
    return kwargs


@pytest.mark.parametrize("cls", _every_error_class(), ids=lambda c: c.__qualname__)
def test_every_error_class_in_the_package_pickles(cls: type[tms.MsgStreamError]) -> None:
    name = cls.__qualname__
    if name == "BatchNotEndedError":
        from trio_msgstream._core.batches.models import MessageBatch

        batch = MessageBatch.model_validate(
            {
                "id": "msgbatch_1",
                "type": "message_batch",
                "processing_status": "in_progress",
                "request_counts": {
                    "processing": 1,
                    "succeeded": 0,
                    "errored": 0,
                    "canceled": 0,
                    "expired": 0,
                },
                "created_at": "2026-01-01T00:00:00Z",
                "expires_at": "2026-01-02T00:00:00Z",
            }
        )
        error: tms.MsgStreamError = cls(batch)  # type: ignore[call-arg]
    elif issubclass(cls, StructuredOutputError):
        error = cls("no output", **_structured_kwargs(name))
    elif name in _SPECIAL_ARGS:
        args, kwargs = _SPECIAL_ARGS[name]
        error = cls(*args, **kwargs)
    elif issubclass(cls, tms.APIStatusError):
        error = cls("status", status_code=500, request=object(), response=object())
    elif issubclass(cls, tms.APITimeoutError):
        error = cls("timed out", which="read", request=object())
    elif issubclass(cls, tms.APIError):
        error = cls("failed", request=object())
    else:
        error = cls("plain")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    for key, value in vars(error).items():
        if key in ("request", "response"):
            continue
        kept = vars(copy)[key]
        # Values without equality of their own (a pydantic ValidationError) by repr.
        assert kept == value or repr(kept) == repr(value), key
