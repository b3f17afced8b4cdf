"""The API key never shows (issue 10, items 6, 7, 9): not in ``str``/``repr`` of an
error, not in the request headers it carries, not in its pickle, not in a traceback
rendered with locals, not in the logs, even when the server echoes it back."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import trio
from _failure_support import PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import (
    FakeAnthropicServer,
    ScriptedResponse,
    error_response,
    fake_anthropic_in_thread,
    open_fake_anthropic,
    text_response,
)

pytestmark = pytest.mark.filterwarnings("error")

KEY = "sk-ant-api03-TOPSECRETKEY0123456789"
TOKEN = "oauth-TOPSECRETTOKEN9876543210"
SECRETS = (KEY, TOKEN)
# The key and the token both on the wire: the key as x-api-key (the older API version),
# the token as Authorization: Bearer.
CLIENT: dict[str, Any] = {"api_key": KEY, "auth_token": TOKEN, "api_version": "2023-06-01"}
CREDENTIALS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "key_as_bearer": ({"api_key": KEY}, (KEY,)),
    "key_and_token": (CLIENT, (KEY, TOKEN)),
    "token": ({"auth_token": TOKEN}, (TOKEN,)),
}


def echo_401() -> ScriptedResponse:
    return error_response(401, "authentication_error", f"invalid x-api-key {KEY} / Bearer {TOKEN}")


def html_with_key() -> ScriptedResponse:
    return ScriptedResponse(status=200, headers=[("content-type", "text/html")], body=KEY.encode())


def dropped() -> ScriptedResponse:
    return text_response("one two three four five six", drop_after_bytes=400)


def error_event_with_key() -> ScriptedResponse:
    return ScriptedResponse.error_event_after(
        3, text_response("a b c d"), "overloaded_error", f"overloaded for {KEY}"
    )


SCENARIOS: dict[str, tuple[Callable[[], ScriptedResponse], type[tms.APIError]]] = {
    "401_echo": (echo_401, tms.AuthenticationError),
    "529": (lambda: error_response(529, "overloaded_error"), tms.OverloadedError),
    "html": (html_with_key, tms.StreamProtocolError),
    "drop": (dropped, tms.IncompleteStreamError),
    "stall": (
        lambda: text_response("a b", stall_after_bytes=0, stall_seconds=5),
        tms.APITimeoutError,
    ),
}


async def via_manager(client: tms.AsyncClient) -> Any:
    async with client.messages.stream(**PARAMS) as stream:
        return await stream.get_final_message()


async def via_raw(client: tms.AsyncClient) -> Any:
    async with await client.messages.create(stream=True, **PARAMS) as events:
        return [event async for event in events]


async def via_create(client: tms.AsyncClient) -> Any:
    return await client.messages.create(**PARAMS)


ENTRIES: dict[str, Callable[[tms.AsyncClient], Awaitable[Any]]] = {
    "manager": via_manager,
    "raw": via_raw,
    "create": via_create,
}


def assert_secret_free(
    error: BaseException, secrets: tuple[str, ...] = SECRETS, *, locals_too: bool = True
) -> None:
    """Everything a user, a logger, pickle or an error reporter may render."""
    texts = [str(error), repr(error), repr(vars(error))]
    if locals_too:
        rendered = traceback.TracebackException(
            type(error), error, error.__traceback__, capture_locals=True
        ).format()
        texts.append("".join(rendered))
    for name in ("request", "response"):
        obj = getattr(error, name, None)
        if obj is not None:
            texts.append(repr(obj.headers))
            texts.append(str(dict(obj.headers)))
            if name == "response":
                texts.append(repr(obj.request.headers))
                texts.append(str(dict(obj.request.headers)))
    texts.append(repr(getattr(error, "body", None)))
    pickled = pickle.dumps(error)
    for secret in secrets:
        assert secret.encode() not in pickled
        for text in texts:
            assert secret not in text


# A non-streaming request has no event stream to break or to be of the wrong type.
CASES = [
    (entry, scenario)
    for entry in ENTRIES
    for scenario in SCENARIOS
    if not (entry == "create" and scenario in ("html", "drop"))
]


@pytest.mark.parametrize(("entry", "scenario"), CASES)
async def test_errors_never_show_the_secrets(
    entry: str, scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    make, expected = SCENARIOS[scenario]
    caplog.set_level(logging.DEBUG)
    async with open_fake_anthropic() as server:
        server.enqueue(make())
        async with tms.AsyncClient(
            base_url=server.base_url,
            **CLIENT,
            max_retries=0,
            timeout=tms.Timeout(read=0.3, content_idle=0.3),
        ) as client:
            with trio.fail_after(10), pytest.raises(tms.APIError) as info:
                await ENTRIES[entry](client)
    error = info.value
    assert type(error) is expected, repr(error)
    assert_secret_free(error)
    if scenario == "401_echo":
        assert "[REDACTED]" in str(error)
        assert "[REDACTED]" in repr(error.body)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.message == error.message
    assert copy.body == error.body
    for record in caplog.records:
        for secret in SECRETS:
            assert secret not in record.getMessage()


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
async def test_401_echo_redacts_the_clients_own_secrets(
    credentials: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    # No local of this frame holds a secret: the rendered traceback shows its locals.
    async with open_fake_anthropic() as server:
        server.enqueue(echo_401())
        async with tms.AsyncClient(
            base_url=server.base_url, max_retries=0, **CREDENTIALS[credentials][0]
        ) as c:
            with trio.fail_after(10), pytest.raises(tms.AuthenticationError) as info:
                await via_manager(c)
    assert "[REDACTED]" in str(info.value)
    assert_secret_free(info.value, CREDENTIALS[credentials][1])


async def test_mid_stream_error_event_echoing_the_key() -> None:
    async with open_fake_anthropic() as server:
        server.enqueue(error_event_with_key())
        async with tms.AsyncClient(base_url=server.base_url, api_key=KEY, max_retries=0) as c:
            with trio.fail_after(10), pytest.raises(tms.OverloadedError) as info:
                await via_raw(c)
    assert info.value.mid_stream
    assert "[REDACTED]" in info.value.message
    # Not traceback locals: the raw chunk the server echoed the key in is a local of
    # the frames that read it (the client does not rewrite what the server sent).
    assert_secret_free(info.value, (KEY,), locals_too=False)


async def test_connection_refused_carries_a_masked_request() -> None:
    async with tms.AsyncClient(base_url="http://127.0.0.1:9", **CLIENT, max_retries=0) as client:
        with trio.fail_after(10), pytest.raises(tms.APIConnectionError) as info:
            await via_manager(client)
    assert info.value.request is not None
    assert info.value.request.headers["x-api-key"] == "[secure]"
    assert_secret_free(info.value)


@pytest.fixture(scope="module")
def thread_server() -> Iterator[FakeAnthropicServer]:
    with fake_anthropic_in_thread() as server:
        yield server


def test_sync_401_echo_never_shows_the_secrets(thread_server: FakeAnthropicServer) -> None:
    thread_server.reset()
    thread_server.enqueue(echo_401())
    with tms.Client(base_url=thread_server.base_url, **CLIENT, max_retries=0) as client:
        with pytest.raises(tms.AuthenticationError) as info, client.messages.stream(**PARAMS):
            pass
    assert "[REDACTED]" in str(info.value)
    assert_secret_free(info.value)


# -- both credentials held, one sent (the current API version sends one Bearer) ------------

BOTH: dict[str, Any] = {"api_key": KEY, "auth_token": TOKEN}


def echo_each_401() -> ScriptedResponse:
    # The server echoes whichever credential, including the one it was not sent.
    return error_response(401, "authentication_error", f"invalid x-api-key: {KEY}; token {TOKEN}")


def echo_both_event() -> ScriptedResponse:
    return ScriptedResponse.error_event_after(
        3, text_response("a b c d"), "overloaded_error", f"overloaded for {KEY} / {TOKEN}"
    )


def assert_all_redacted(error: tms.APIError) -> None:
    assert error.message.count("[REDACTED]") == 2, error.message
    assert_secret_free(error, SECRETS, locals_too=False)


@pytest.mark.parametrize("entry", list(ENTRIES))
async def test_every_held_credential_is_redacted_whichever_was_sent(entry: str) -> None:
    async with open_fake_anthropic() as server:
        server.enqueue(echo_each_401())
        async with tms.AsyncClient(base_url=server.base_url, **BOTH, max_retries=0) as client:
            with trio.fail_after(10), pytest.raises(tms.AuthenticationError) as info:
                await ENTRIES[entry](client)
            assert server.requests[-1].header("x-api-key") is None  # only one was sent
            server.enqueue(echo_both_event())
            with trio.fail_after(10), pytest.raises(tms.OverloadedError) as mid:
                await via_raw(client)
    assert_all_redacted(info.value)
    assert_all_redacted(mid.value)


def test_sync_every_held_credential_is_redacted_whichever_was_sent(
    thread_server: FakeAnthropicServer,
) -> None:
    thread_server.reset()
    thread_server.enqueue(echo_each_401())
    thread_server.enqueue(echo_each_401())
    thread_server.enqueue(echo_both_event())
    with tms.Client(base_url=thread_server.base_url, **BOTH, max_retries=0) as client:
        with pytest.raises(tms.AuthenticationError) as streamed, client.messages.stream(**PARAMS):
            pass
        with pytest.raises(tms.AuthenticationError) as created:
            client.messages.create(**PARAMS)
        with pytest.raises(tms.OverloadedError) as mid:
            with client.messages.create(stream=True, **PARAMS) as events:
                list(events)
    for error in (streamed.value, created.value, mid.value):
        assert_all_redacted(error)
