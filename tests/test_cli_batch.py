"""``trio-msgstream batch ...`` against the fake batch endpoints (in a thread), in this process."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli_support import run_cli

from trio_msgstream._cli.batch import main, read_requests
from trio_msgstream._core.schema import model_names
from trio_msgstream.testing import FakeBatches, fake_anthropic_in_thread


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
    fake.outcomes["prompt-2"] = "errored"
    code, out, err = run("submit", str(prompts), "--max-tokens", "32", base_url=url)
    assert code == 0, err
    [batch_id] = out.split()
    assert "3 requests in 1 batch" in err
    sent = fake.batches[batch_id].requests
    # Named by prompt count, as the fan-out's [n]: the blank line is not counted.
    assert [r["custom_id"] for r in sent] == ["prompt-1", "prompt-2", "prompt-3"]
    assert sent[1]["params"]["messages"] == [{"role": "user", "content": "Say two"}]
    assert sent[1]["params"]["max_tokens"] == 32

    code, out, _ = run("status", batch_id, base_url=url)
    assert code == 0
    assert json.loads(out)["processing_status"] == "in_progress"

    code, out, err = run("wait", batch_id, "--poll-interval", "0.01", base_url=url)
    assert code == 0
    assert json.loads(out)["processing_status"] == "ended"
    assert err.splitlines()[-1].startswith(
        f"batch {batch_id}: ended, 3/3 done (succeeded 2, errored 1, canceled 0, expired 0, "
    )

    code, out, err = run("results", batch_id, base_url=url)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["custom_id"]: line["result"]["type"] for line in lines} == {
        "prompt-1": "succeeded",
        "prompt-2": "errored",
        "prompt-3": "succeeded",
    }
    assert lines[0]["result"]["message"]["content"][0]["text"] == "Reply to prompt-1: Say one"


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
    bare = read_requests(
        ['{"model": "x", "max_tokens": 5}', "", '{"model": "y", "max_tokens": 6}'],
        model="m",
        max_tokens=1,
    )
    assert bare == [
        {"custom_id": "request-1", "params": {"model": "x", "max_tokens": 5}},
        {"custom_id": "request-2", "params": {"model": "y", "max_tokens": 6}},
    ]
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
    batch_id = out.strip()
    code, _, err = run(
        "wait", batch_id, "--poll-interval", "0.01", "--deadline", "0.05", base_url=url
    )
    assert code == 3
    # The batch did not end in time; the server was not slow.
    assert err.splitlines()[-1].startswith(
        f"trio-msgstream: batch {batch_id} did not end within the wait's deadline of 0.05 s "
        "(last status: in_progress, "
    ), err
    assert "timed out" not in err
    code, _, err = run("results", batch_id, base_url=url)
    assert code == 1
    # What a CLI user runs next, not a Python API.
    assert err == (
        f"trio-msgstream: batch {batch_id} is in_progress: its results can be read once it "
        f"has ended; wait for it with: trio-msgstream batch wait {batch_id} --base-url {url}\n"
    )


def test_entry_point_dispatches_batch(fake: FakeBatches) -> None:
    # ``python -m trio_msgstream batch ...`` and ``trio-msgstream batch ...`` call this.
    fake.polls_until_ended = 0
    submitted = run_cli(
        "batch", "submit", "-", stdin="Say hi\n", ANTHROPIC_BASE_URL=fake.server.base_url
    )
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip() in fake.batches


def test_connection_options_before_and_after_the_subcommand(fake: FakeBatches) -> None:
    url = fake.server.base_url
    fake.polls_until_ended = 0
    submitted = run_cli("batch", "submit", "-", "--base-url", url, stdin="Say hi\n")
    assert submitted.returncode == 0, submitted.stderr
    [batch_id] = submitted.stdout.split()
    for argv in (
        ["batch", "status", batch_id, "--base-url", url, "--timeout", "5", "--max-retries", "0"],
        ["batch", "--base-url", url, "status", batch_id],
        ["--base-url", url, "batch", "status", batch_id],  # as the streaming command takes it
        [f"--base-url={url}", "--max-retries", "1", "batch", "status", batch_id],
    ):
        result = run_cli(*argv)
        assert result.returncode == 0, (argv, result.stderr)
        assert json.loads(result.stdout)["id"] == batch_id
    # An option after the subcommand wins over the same one before it.
    result = run_cli(
        "batch", "--base-url", "http://127.0.0.1:9", "status", batch_id, "--base-url", url
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "msgbatch_x", "--timeout", "0"], "--timeout must be > 0"),
        (["status", "msgbatch_x", "--max-retries", "-1"], "--max-retries must be >= 0"),
    ],
)
def test_connection_option_errors(fake: FakeBatches, argv: list[str], expected: str) -> None:
    code, _, err = run(*argv, base_url=fake.server.base_url)
    assert code == 2
    assert err == f"trio-msgstream: {expected}\n"


def test_batch_is_in_the_top_level_help_and_docs() -> None:
    help_text = run_cli("--help").stdout
    for command in ("submit FILE", "status ID", "wait ID", "results ID"):
        assert f"batch {command}" in help_text
    assert "trio-msgstream batch --help" in help_text
    root = Path(__file__).resolve().parents[1]
    cli_md = (root / "docs" / "cli.md").read_text()
    for command in ("submit", "status", "wait", "results"):
        assert f"trio-msgstream batch {command}" in cli_md
    assert "trio-msgstream batch" in (root / "README.md").read_text()


def test_submit_says_a_deprecated_model_in_one_line(fake: FakeBatches) -> None:
    model = next(iter(model_names.DEPRECATED_MODELS))
    code, _, err = run(
        "submit", "-", "--model", model, base_url=fake.server.base_url, stdin="a\nb\n"
    )
    assert code == 0, err
    assert err.splitlines() == [
        f"trio-msgstream: warning: {model_names.deprecation_notice(model)}",
        "trio-msgstream: 2 requests in 1 batch",
    ]
