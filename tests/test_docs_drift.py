"""Lines the docs show as output are the lines the code prints.

Each documented line (a ``text`` block of a page) is turned into a pattern: its numbers
match any number and ``...`` (with the word it ends) any run of non-space characters;
every other character must be as shown. Then the real output is produced, in this
process, and every documented line must match one of its lines, so a change of format
fails here until the page follows. The testing kit's page must spell out the full
arguments of the constructors it names.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import trio
from _cli_support import run_cli
from _terminal_support import WIDTH, Screen

import trio_msgstream as tms
from trio_msgstream._cli.batch_progress import WaitProgress
from trio_msgstream._core.batches.models import MessageBatch
from trio_msgstream.testing import (
    FakeBatches,
    RecordedRequest,
    ScriptedResponse,
    default_responder,
    error_response,
    fake_anthropic_in_thread,
    open_fake_anthropic,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEXT_BLOCK = re.compile(r"^[ ]*```text\n(.*?)^[ ]*```", re.DOTALL | re.MULTILINE)

pytestmark = pytest.mark.usefixtures("no_anthropic_env")


def shape(documented: str) -> re.Pattern[str]:
    """The pattern of a documented output line (see the module docstring)."""
    parts = []
    for piece in re.split(r"(\w*\.\.\.|\d+(?:\.\d+)?)", documented.strip()):
        if piece.endswith("..."):
            parts.append(r"\S*")
        elif re.fullmatch(r"\d+(?:\.\d+)?", piece):
            parts.append(r"\d+(?:\.\d+)?")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def documented_block(page: str, after: str) -> list[str]:
    """The lines of the first ``text`` block after the phrase ``after`` in ``docs/page``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index(after)
    match = TEXT_BLOCK.search(text, start)
    assert match is not None, f"no text block after {after!r} in {page}"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def assert_documented(documented: list[str], real: list[str]) -> None:
    missing = [line for line in documented if not any(shape(line).fullmatch(r) for r in real)]
    assert not missing, (
        "documented but never printed:\n"
        + "\n".join(missing)
        + ("\nreal output:\n" + "\n".join(real))
    )


def test_shape() -> None:
    pattern = shape("chat m-5 ok: request_id=req_011C... duration=1.412s")
    assert pattern.fullmatch("chat m-5 ok: request_id=req_fake0001 duration=0.007s")
    assert not pattern.fullmatch("chat m-5 ok: request_id=req_x duration=0.007s extra")


# --------------------------------------------------------------------------- the CLI


def test_cli_md_embedded_server_line() -> None:
    documented = documented_block("cli.md", "a line on stderr says so")
    result = run_cli("Say hi")
    assert result.returncode == 0, result.stderr
    assert_documented(documented, result.stderr.splitlines())


def _fail_on_request(request: RecordedRequest) -> ScriptedResponse:
    body = request.json or {}
    if body["messages"][-1]["content"] == "fail":
        return error_response(400, "invalid_request_error", "no thanks")
    return default_responder(request)


def test_cli_md_plain_fan_out_lines() -> None:
    documented = documented_block("cli.md", "one plain line per state")
    with fake_anthropic_in_thread(responder=_fail_on_request) as server:
        result = run_cli(
            "--base-url", server.base_url, "--fan-out", "-", stdin="one\ntwo\nfail\nfour\n"
        )
    assert result.returncode == 1, result.stderr
    assert_documented(documented, result.stderr.splitlines())


def test_cli_md_batch_wait_plain_lines() -> None:
    documented = documented_block("cli.md", "When stderr is not a terminal, one plain line")
    with fake_anthropic_in_thread() as server:
        FakeBatches(server, polls_until_ended=4)
        url = server.base_url
        batch_id = run_cli("batch", "submit", "-", "--base-url", url, stdin="a\nb\n").stdout
        result = run_cli(
            "batch", "wait", batch_id.strip(), "--base-url", url, "--poll-interval", "0.01"
        )
    assert result.returncode == 0, result.stderr
    assert_documented(documented, result.stderr.splitlines())


def test_cli_md_batch_wait_terminal_block() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    documented = documented_block("cli.md", "three lines at the bottom of the screen")
    terminal = Terminal()
    progress = WaitProgress("msgbatch_1", terminal, clock=lambda: 0.0)
    counts = {"processing": 3796, "succeeded": 1198, "errored": 6, "canceled": 0, "expired": 0}
    batch = MessageBatch.model_validate(
        {
            "id": "msgbatch_1",
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": counts,
            "created_at": "2026-12-01T00:00:00Z",
            "expires_at": "2026-12-02T00:00:00Z",
        }
    )
    for _ in range(9):
        progress.on_poll(batch)
    screen = Screen(WIDTH)
    screen.feed(terminal.getvalue().replace("\n", "\r\n"))
    assert len(screen.text()) == len(documented) == 3
    for line, real in zip(documented, screen.text(), strict=True):
        assert shape(line).fullmatch(real.strip()), (line, real)


# --------------------------------------------------------------------------- fan-out example


def _load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fan_out_md_plain_lines_are_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    documented = documented_block("fan-out.md", "With `--plain`")
    example = _load_example("fan_out.py")
    assert trio.run(example.main, 3, 3, "claude-sonnet-5-5", True) == 0
    assert_documented(documented, capsys.readouterr().out.splitlines())


# --------------------------------------------------------------------------- logging


async def _log_messages() -> list[str]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("trio_msgstream")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    params: dict[str, Any] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello there!"}],
    }
    overloaded = error_response(
        529, "overloaded_error", "Overloaded", headers=[("retry-after-ms", "1")]
    )
    try:
        async with open_fake_anthropic() as server:
            async with tms.AsyncClient(base_url=server.base_url, api_key="sk-test") as client:
                async with client.messages.stream(**params) as stream:
                    await stream.get_final_message()
                await client.messages.create(**params)
                server.fail_first(3, overloaded)
                with pytest.raises(tms.OverloadedError):
                    await client.messages.create(**params)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return [r.getMessage() for r in records if r.name == "trio_msgstream"]


async def test_observability_md_log_lines() -> None:
    real = await _log_messages()
    documented = documented_block("observability.md", "INFO, once per request")
    documented += documented_block("observability.md", "DEBUG, once per retry")
    assert len(documented) == 4
    assert_documented(documented, real)


# --------------------------------------------------------------------------- testing kit


def _signature_text(function: Any) -> str:
    """``a, b=1, c="x"``: a constructor's arguments as the docs write them."""
    parts = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if parameter.default is inspect.Parameter.empty:
            parts.append(parameter.name)
        else:
            default = parameter.default
            shown = json.dumps(default) if isinstance(default, str) else repr(default)
            parts.append(f"{parameter.name}={shown}")
    return ", ".join(parts)


@pytest.mark.parametrize("name", ["pings_only", "error_event_after"])
def test_testing_md_spells_out_fault_constructors(name: str) -> None:
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    signature = _signature_text(getattr(ScriptedResponse, name))
    assert f"ScriptedResponse.{name}({signature}, **fields)" in text


def test_testing_md_shows_a_responder_on_the_fixture() -> None:
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    assert "fake_anthropic.responder = conversation" in text
    assert "fake_anthropic.responder = respond" in text
    assert "fake_anthropic_thread.responder" in text
