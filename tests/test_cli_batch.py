"""``trio-msgstream batch ...`` against the fake batch endpoints (in a thread), in this process."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli_support import run_cli

from trio_msgstream._cli.batch import main, read_requests
from trio_msgstream.testing import FakeBatches, fake_anthropic_in_thread


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake() -> Iterator[FakeBatches]:
    with fake_anthropic_in_thread() as server:
        yield FakeBatches(server, polls_until_ended=2)


pytestmark = pytest.mark.usefixtures("no_anthropic_env")


def run(
    *argv: str, base_url: str | None, stdin: str = "", err: io.StringIO | None = None
) -> tuple[int, str, str]:
    out = io.StringIO()
    err = err if err is not None else io.StringIO()
    args = (["--base-url", base_url] if base_url else []) + list(argv)
    code = main(args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_submit_status_wait_results(fake: FakeBatches, tmp_path: Path) -> None:
    url = fake.server.base_url
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Say one\n\nSay two\nSay three\n")
    fake.outcomes["line-3"] = "errored"
    code, out, err = run("submit", str(prompts), "--max-tokens", "32", base_url=url)
    assert code == 0, err
    [batch_id] = out.split()
    assert "3 requests in 1 batch" in err
    sent = fake.batches[batch_id].requests
    assert [r["custom_id"] for r in sent] == ["line-1", "line-3", "line-4"]
    assert sent[1]["params"]["messages"] == [{"role": "user", "content": "Say two"}]
    assert sent[1]["params"]["max_tokens"] == 32

    code, out, _ = run("status", batch_id, base_url=url)
    assert code == 0
    assert json.loads(out)["processing_status"] == "in_progress"

    terminal = Terminal()
    code, out, _ = run("wait", batch_id, "--poll-interval", "0.01", base_url=url, err=terminal)
    assert code == 0
    assert json.loads(out)["processing_status"] == "ended"
    progress = terminal.getvalue()
    assert progress.startswith(f"\r{batch_id}: ended, 3/3 done (succeeded 2, errored 1")
    assert progress.endswith("\n")

    code, out, err = run("results", batch_id, base_url=url)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["custom_id"]: line["result"]["type"] for line in lines} == {
        "line-1": "succeeded",
        "line-3": "errored",
        "line-4": "succeeded",
    }
    assert lines[0]["result"]["message"]["content"][0]["text"] == "Reply to line-1: Say one"


def test_submit_jsonl_and_split(fake: FakeBatches) -> None:
    lines = [
        json.dumps({"custom_id": f"c-{i}", "params": {"model": "m", "max_tokens": 1}})
        for i in range(5)
    ]
    code, out, err = run(
        "submit", "-", "--max-requests", "2", base_url=fake.server.base_url, stdin="\n".join(lines)
    )
    assert code == 0, err
    ids = out.split()
    assert len(ids) == 3
    assert [len(fake.batches[i].requests) for i in ids] == [2, 2, 1]
    assert fake.batches[ids[0]].requests[0] == {
        "custom_id": "c-0",
        "params": {"model": "m", "max_tokens": 1},
    }


def test_read_requests_shapes() -> None:
    bare = read_requests(['{"model": "x", "max_tokens": 5}'], model="m", max_tokens=1)
    assert bare == [{"custom_id": "line-1", "params": {"model": "x", "max_tokens": 5}}]
    prompts = read_requests(["hi"], model="m", max_tokens=7, system="be brief")
    assert prompts[0]["params"]["system"] == "be brief"


def test_usage_errors(fake: FakeBatches, tmp_path: Path) -> None:
    code, _, err = run("status", "msgbatch_x", base_url=None)
    assert code == 2
    assert "ANTHROPIC_API_KEY" in err
    code, _, err = run("submit", str(tmp_path / "missing.txt"), base_url=fake.server.base_url)
    assert code == 2
    assert "cannot read" in err
    code, _, err = run("submit", "-", base_url=fake.server.base_url, stdin='{"a": 1}\nnot json\n')
    assert (code, "line 2 is not JSON" in err) == (2, True)
    code, _, err = run("submit", "-", base_url=fake.server.base_url, stdin="\n\n")
    assert code == 2
    assert fake.batches == {}


def test_api_errors_and_timeout(fake: FakeBatches) -> None:
    url = fake.server.base_url
    code, _, err = run("status", "msgbatch_nope", base_url=url)
    assert code == 1
    assert "not_found_error" in err
    fake.polls_until_ended = 10**6
    code, out, _ = run("submit", "-", base_url=url, stdin="hello\n")
    code, _, err = run(
        "wait", out.strip(), "--poll-interval", "0.01", "--deadline", "0.05", base_url=url
    )
    assert code == 3
    assert "deadline" in err
    code, _, err = run("results", out.strip(), base_url=url)
    assert code == 1
    assert "in_progress" in err


def test_entry_point_dispatches_batch(fake: FakeBatches) -> None:
    # ``python -m trio_msgstream batch ...`` and ``trio-msgstream batch ...`` call this.
    fake.polls_until_ended = 0
    submitted = run_cli(
        "batch", "submit", "-", stdin="Say hi\n", ANTHROPIC_BASE_URL=fake.server.base_url
    )
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip() in fake.batches
