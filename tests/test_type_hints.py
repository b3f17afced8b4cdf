"""``typing.get_type_hints()`` on the public API, as pydantic, sphinx, mkdocstrings and
IDEs call it: the names signatures import for type checkers only (the ``**kwargs``
TypedDicts, the batch models, ...) resolve, on demand, without ``import
trio_msgstream`` or a streaming program importing them up front."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import trio_msgstream as tms
import trio_msgstream.mcp as tms_mcp
import trio_msgstream.testing as kit
from trio_msgstream._core.request.kwargs import CountTokensKwargs, MessageKwargs

NAMESPACES = (
    "messages",
    "beta.messages",
    "messages.batches",
    "beta.messages.batches",
    "models",
    "beta.models",
    "beta.files",
)


def _public_methods(obj: object) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, member in inspect.getmembers(type(obj)):
        if not name.startswith("_") and inspect.isfunction(member):
            yield name, getattr(obj, name)


def _namespace(client: object, path: str) -> object:
    for part in path.split("."):
        client = getattr(client, part)
    return client


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_every_namespace_method_of_both_clients(kind: str) -> None:
    client = tms.AsyncClient(api_key="k") if kind == "async" else tms.Client(api_key="k")
    checked = []
    for path in NAMESPACES:
        for name, method in _public_methods(_namespace(client, path)):
            typing.get_type_hints(method)
            checked.append(f"{path}.{name}")
    for _name, method in _public_methods(client):
        typing.get_type_hints(method)
    for expected in (
        "messages.create",
        "messages.stream",
        "messages.parse",
        "messages.count_tokens",
        "messages.tool_runner",
        "beta.messages.tool_runner",
        "messages.batches.create_many",
    ):
        assert expected in checked


def test_the_kwargs_typeddicts_are_the_real_ones() -> None:
    for client in (tms.AsyncClient(api_key="k"), tms.Client(api_key="k")):
        hints = typing.get_type_hints(client.messages.parse)
        assert typing.get_args(hints["kwargs"]) == (MessageKwargs,)
        hints = typing.get_type_hints(client.messages.count_tokens)
        assert typing.get_args(hints["kwargs"]) == (CountTokensKwargs,)
        signature = inspect.signature(client.messages.count_tokens, eval_str=True)
        assert typing.get_args(signature.parameters["kwargs"].annotation) == (CountTokensKwargs,)


@pytest.mark.parametrize(
    "target",
    [
        tms.AsyncAnthropicBedrock.__init__,
        tms.AnthropicBedrock.__init__,
        tms.AsyncAnthropicVertex.__init__,
        tms.AnthropicVertex.__init__,
        tms.AsyncAnthropicFoundry.__init__,
        tms.AnthropicFoundry.__init__,
        tms.FanOut.submit,
        tms.AsyncToolRunner.__init__,
        tms.APIStatusError.__init__,
        tms_mcp.mcp_tool,
        tms_mcp.async_mcp_tool,
        kit.sse_bytes,
        kit.text_response,
        kit.ScriptedResponse.error,
        kit.fake_anthropic_in_thread,
    ],
    ids=lambda target: target.__qualname__,
)
def test_platform_clients_fan_out_runner_errors_mcp_and_the_testing_kit(
    target: Callable[..., Any],
) -> None:
    typing.get_type_hints(target)


_FRESH = """
import json, sys, typing
from trio_msgstream import AsyncClient, Client
before = sorted(m for m in sys.modules if m.startswith("trio_msgstream._core.schema.param"))
hints = typing.get_type_hints(AsyncClient(api_key="k").messages.parse)
sync_hints = typing.get_type_hints(Client(api_key="k").messages.tool_runner)
print(json.dumps([before, str(hints["kwargs"]), str(sync_hints["kwargs"])]))
"""


@pytest.mark.slow  # a fresh interpreter: this one has imported everything
def test_names_resolve_on_demand_in_a_fresh_interpreter() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FRESH], capture_output=True, text=True, timeout=120, check=True
    )
    before, kwargs, runner_kwargs = json.loads(out.stdout.splitlines()[-1])
    assert before == []  # nothing was imported for the hints before they were asked for
    assert kwargs.endswith("MessageKwargs]")
    assert runner_kwargs.endswith("SyncToolRunnerKwargs]")


_BARE = """
import json, sys, typing
import trio_msgstream
bare = "trio_msgstream._core.type_names" in sys.modules
from trio_msgstream import AsyncClient, APIStatusError
hints = typing.get_type_hints(APIStatusError.__init__)
print(json.dumps([bare, str(hints["partial_message"])]))
"""


@pytest.mark.slow  # a fresh interpreter
def test_the_bare_import_does_not_load_the_resolver() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _BARE], capture_output=True, text=True, timeout=120, check=True
    )
    bare, partial = json.loads(out.stdout.splitlines()[-1])
    assert bare is False
    assert "Message" in partial
