"""The pytest plugin (``pytest11`` entry point): fixtures in a user's own test suite.

Each test writes a tiny test suite into a temporary directory and runs pytest on it, as
a user's project would: a new pytest session (``pytester``, in this process) that finds
the plugin through its entry point and has only that suite's configuration.
"""

from __future__ import annotations

import textwrap

# httpx imports httpcore when its first client is made. pytester's in-process sessions
# drop the modules they import when they end, so without this the second session would
# import httpcore anew, and its exceptions would not be the classes httpx maps.
import httpcore  # noqa: F401
import pytest

import trio_msgstream as tms
from trio_msgstream.testing import FakeAnthropicServer, text_response

TRIO_SUITE = """
import pytest
import trio

import trio_msgstream as tms
from trio_msgstream.testing import FakeAnthropicServer, ScriptedResponse, text_response

PARAMS = dict(model="claude-sonnet-5-5", max_tokens=64,
              messages=[{"role": "user", "content": "Hi"}])


async def test_server_fixture(fake_anthropic):
    assert isinstance(fake_anthropic, FakeAnthropicServer)
    assert fake_anthropic.base_url.startswith("http://127.0.0.1:")


async def test_client_fixture(fake_anthropic, fake_anthropic_client):
    fake_anthropic.enqueue(text_response("Hello from the fixture!"))
    async with fake_anthropic_client.messages.stream(**PARAMS) as stream:
        assert await stream.get_final_text() == "Hello from the fixture!"
    assert fake_anthropic.requests[0].json["max_tokens"] == 64
    assert fake_anthropic.requests[0].header("authorization")


async def test_scripted_failure_mid_stream(fake_anthropic, fake_anthropic_client):
    fake_anthropic.enqueue(
        ScriptedResponse.error_event_after(5, text_response("one two three four"))
    )
    async with fake_anthropic_client.messages.stream(**PARAMS) as stream:
        with pytest.raises(tms.OverloadedError) as info:
            await stream.get_final_message()
    assert info.value.partial_message is not None


async def test_each_test_gets_a_fresh_server(fake_anthropic):
    assert fake_anthropic.requests == []
"""

SYNC_SUITE = """
import trio_msgstream as tms
from trio_msgstream.testing import text_response


def test_thread_fixture(fake_anthropic_thread, fake_anthropic_sync_client):
    fake_anthropic_thread.enqueue(text_response("Hello, sync!"))
    with fake_anthropic_sync_client.messages.stream(
        model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        assert stream.get_final_text() == "Hello, sync!"
    assert len(fake_anthropic_thread.requests) == 1


def test_plain_test_is_unaffected():
    assert 1 + 1 == 2
"""


# The user's suite sees no key or base URL of the developer's environment.
pytestmark = pytest.mark.usefixtures("no_anthropic_env")


def run_pytest(pytester: pytest.Pytester, suite: str, ini: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=textwrap.dedent(suite))
    pytester.makefile(".ini", pytest=textwrap.dedent(ini))
    return pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", *args)


def test_plugin_is_registered_as_entry_point() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("trio_msgstream") == "trio_msgstream.testing._pytest_plugin"


def test_async_fixtures_with_pytest_trio(pytester: pytest.Pytester) -> None:
    result = run_pytest(
        pytester, TRIO_SUITE, "[pytest]\ntrio_mode = true\nfilterwarnings = error\n"
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=4)


def test_async_fixtures_with_trio_marker(pytester: pytest.Pytester) -> None:
    suite = "import pytest\npytestmark = pytest.mark.trio\n" + TRIO_SUITE
    result = run_pytest(pytester, suite, "[pytest]\nfilterwarnings = error\n")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=4)


def test_sync_fixtures_without_pytest_trio(pytester: pytest.Pytester) -> None:
    # A suite that does not use Trio at all (pytest-trio disabled): the plugin loads,
    # leaves plain tests alone, and its thread-based fixtures work.
    result = run_pytest(pytester, SYNC_SUITE, "[pytest]\nfilterwarnings = error\n", "-p", "no:trio")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2)


def test_fixtures_listed(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester, SYNC_SUITE, "[pytest]\n", "--fixtures")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    for name in (
        "fake_anthropic ",
        "fake_anthropic_client",
        "fake_anthropic_thread",
        "fake_anthropic_sync_client",
    ):
        assert name in result.stdout.str()


async def test_fake_anthropic_in_this_suite(
    fake_anthropic: FakeAnthropicServer, fake_anthropic_client: tms.AsyncClient
) -> None:
    # This very suite (trio_mode) has the plugin loaded through its entry point too.
    fake_anthropic.enqueue(text_response("Hi!"))
    async with fake_anthropic_client.messages.stream(
        model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        assert await stream.get_final_text() == "Hi!"
    assert len(fake_anthropic.requests) == 1
