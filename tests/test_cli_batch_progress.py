"""``trio-msgstream batch wait``'s progress: on a terminal one line redrawn in place
(requests by status, time waited, polls; the clock refreshed between polls), plain
lines otherwise; against the fake batch endpoints.

What is written to a terminal is replayed through ``_terminal_support.Screen``, which
knows only the sequences the CLI's live lines may use.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import trio
from _cli_support import run_cli
from _shared import env_without_anthropic
from _terminal_support import WIDTH, Screen, pty_pair, read_until_closed

from trio_msgstream._cli.batch import main
from trio_msgstream._cli.batch_progress import WaitProgress, format_elapsed
from trio_msgstream._core.batches.models import MessageBatch
from trio_msgstream.testing import FakeBatches, fake_anthropic_in_thread

pytestmark = pytest.mark.usefixtures("no_anthropic_env")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake() -> Iterator[FakeBatches]:
    with fake_anthropic_in_thread() as server:
        yield FakeBatches(server, polls_until_ended=4)


def _batch(status: str, **counts: int) -> MessageBatch:
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0, **counts}
    return MessageBatch.model_validate(
        {
            "id": "msgbatch_1",
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": "2026-12-01T00:00:00Z",
            "expires_at": "2026-12-02T00:00:00Z",
        }
    )


def _screen(written: str, width: int) -> list[str]:
    """The screen after ``written`` went through a terminal (whose driver turns each
    ``\\n`` into ``\\r\\n``, as the pseudo-terminal does)."""
    screen = Screen(width)
    screen.feed(written.replace("\n", "\r\n"))
    return screen.text()


def _submit(fake: FakeBatches, prompts: str) -> str:
    result = run_cli("batch", "submit", "-", "--base-url", fake.server.base_url, stdin=prompts)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_format_elapsed() -> None:
    assert [format_elapsed(s) for s in (0, 42.9, 725, 3723)] == ["0:00", "0:42", "12:05", "1:02:03"]


async def test_live_line_counts_by_status_and_a_running_clock(autojump_clock: object) -> None:
    terminal = Terminal()
    progress = WaitProgress("msgbatch_1", terminal)
    assert progress.live
    async with trio.open_nursery() as nursery:
        nursery.start_soon(progress.run)
        await trio.sleep(0.5)
        progress.on_poll(_batch("in_progress", processing=1200, succeeded=300, errored=4))
        await trio.sleep(75)  # no poll for a while: the clock goes on
        # 80 columns: what the block was cut to (a StringIO has no size).
        assert _screen(terminal.getvalue(), 80) == [
            "batch msgbatch_1: in_progress",
            "  304/1,504 requests done, 1:15 elapsed, 1 poll",
            "  succeeded 300, errored 4, canceled 0, expired 0, processing 1,200",
        ]
        progress.on_poll(_batch("ended", succeeded=1500, errored=4))
        nursery.cancel_scope.cancel()
    progress.close()
    # The live block is gone; the last state stays, once, as one plain line.
    assert _screen(terminal.getvalue(), 1000) == [
        "batch msgbatch_1: ended, 1,504/1,504 done (succeeded 1,500, errored 4, "
        "canceled 0, expired 0, processing 0), 1:15 elapsed, 2 polls"
    ]
    assert "\x1b[3F" in terminal.getvalue()  # redrawn in place, not appended


def test_wait_on_a_terminal_in_process(fake: FakeBatches) -> None:
    batch_id = _submit(fake, "one\ntwo\n\nthree\n")
    fake.outcomes["prompt-2"] = "errored"
    terminal, out = Terminal(), io.StringIO()
    argv = ["wait", batch_id, "--poll-interval", "0.01", "--base-url", fake.server.base_url]
    assert main(argv, stdout=out, stderr=terminal) == 0
    assert json.loads(out.getvalue())["processing_status"] == "ended"
    [line] = _screen(terminal.getvalue(), 1000)
    assert line.startswith(
        f"batch {batch_id}: ended, 3/3 done (succeeded 2, errored 1, canceled 0, expired 0, "
        "processing 0), 0:00 elapsed, 4 polls"
    )
    assert "  0/3 requests done" in terminal.getvalue()  # the in_progress state was drawn


def test_wait_not_on_a_terminal_writes_a_line_per_change(fake: FakeBatches) -> None:
    batch_id = _submit(fake, "one\ntwo\n")
    err, out = io.StringIO(), io.StringIO()
    argv = ["wait", batch_id, "--poll-interval", "0.01", "--base-url", fake.server.base_url]
    assert main(argv, stdout=out, stderr=err) == 0
    assert "\x1b" not in err.getvalue()
    assert "\r" not in err.getvalue()
    lines = err.getvalue().splitlines()
    # Four polls, three of them in_progress with the same counts: two lines.
    assert [line.split(", 0:")[0] for line in lines] == [
        f"batch {batch_id}: in_progress, 0/2 done (succeeded 0, errored 0, canceled 0, "
        "expired 0, processing 2)",
        f"batch {batch_id}: ended, 2/2 done (succeeded 2, errored 0, canceled 0, "
        "expired 0, processing 0)",
    ]
    assert lines[0].endswith(" elapsed, 1 poll")
    assert lines[1].endswith(" elapsed, 4 polls")
    assert json.loads(out.getvalue())["id"] == batch_id


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_wait_on_a_pty_redraws_in_place(fake: FakeBatches) -> None:
    batch_id = _submit(fake, "one\ntwo\nthree\n")
    master, slave = pty_pair()
    env = env_without_anthropic()
    env.pop("TERM", None)
    argv = [sys.executable, "-m", "trio_msgstream", "batch", "wait", batch_id]
    argv += ["--base-url", fake.server.base_url, "--poll-interval", "0.5"]
    argv += ["--max-poll-interval", "0.5"]
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env
        )
        os.close(slave)
        assert process.stdout is not None
        stderr = read_until_closed(master, process, timeout=60).decode("utf-8")
        stdout = process.stdout.read().decode("utf-8")
        process.stdout.close()
    finally:
        os.close(master)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["processing_status"] == "ended"
    # Three polls 0.5 s apart before the batch ends: the block was redrawn in place
    # between them, its clock too.
    assert "\x1b[3F" in stderr
    assert f"batch {batch_id}: in_progress" in stderr
    assert "  0/3 requests done, 0:01 elapsed" in stderr
    assert "  succeeded 0, errored 0, canceled 0, expired 0, processing 3" in stderr
    screen = Screen(WIDTH)
    screen.feed(stderr)
    assert all(len(row) <= WIDTH for row in screen.rows)
    # Nothing of the block stays: one plain line (wrapped by the terminal).
    line = "".join("".join(row) for row in screen.rows).rstrip()
    assert line.startswith(f"batch {batch_id}: ended, 3/3 done (succeeded 3, ")
    assert line.endswith(" elapsed, 4 polls")
