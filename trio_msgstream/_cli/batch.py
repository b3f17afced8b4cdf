"""``trio-msgstream batch ...``: Message Batches from the command line.

Subcommands::

    batch submit FILE     one prompt per line, or JSONL of params ('-' for stdin);
                          prints the id of every batch created (a large job is split)
    batch status ID       the batch as JSON
    batch wait ID         poll until it has ended; the ended batch as JSON
    batch results ID      the results as JSONL, one line per request

On a terminal, ``wait`` and ``results`` keep a progress line on stderr. A batch
outlives the process, so these commands need the real API (``ANTHROPIC_API_KEY``) or a
server of your own (``--base-url`` / ``ANTHROPIC_BASE_URL``); there is no embedded one.

Exit codes as for the rest of the CLI: 0 ok, 1 API error, 2 usage error, 3 timeout
(``wait --deadline``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

import trio

from .._core.batches.build import MAX_BATCH_REQUESTS, BatchLimitError
from .._core.batches.models import MessageBatch
from .._core.batches.wait import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL
from .._core.exceptions import MsgStreamError
from .._httpx.async_client import AsyncClient
from .._trio.batches import AsyncBatches
from .options import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    check_base_url,
    prompt_params,
)
from .output import describe_error, exit_code_for

__all__ = ["main", "read_requests"]


class BatchUsageError(Exception):
    """A bad command line or input file (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``trio-msgstream batch``."""
    parser = argparse.ArgumentParser(
        prog="trio-msgstream batch",
        description="Message Batches: half the price, results within 24 hours.",
        epilog="exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted",
    )
    parser.add_argument("--base-url", help="API base URL (default: ANTHROPIC_BASE_URL or the API)")
    commands = parser.add_subparsers(dest="command", required=True)

    submit = commands.add_parser("submit", help="create batches from a file of prompts")
    submit.add_argument("file", help="one prompt per line, or JSONL of params ('-': stdin)")
    submit.add_argument("--model", default=DEFAULT_MODEL, help=f"default {DEFAULT_MODEL}")
    submit.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    submit.add_argument("--system", help="a system prompt for every request")
    submit.add_argument(
        "--max-requests",
        type=int,
        default=MAX_BATCH_REQUESTS,
        help=f"requests per batch (default and maximum {MAX_BATCH_REQUESTS:,})",
    )

    for name, text in (
        ("status", "print the batch as JSON"),
        ("wait", "poll until the batch has ended"),
        ("results", "print the results as JSONL"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("id", help="the batch id (msgbatch_...)")
        if name == "wait":
            command.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL)
            command.add_argument(
                "--max-poll-interval", type=float, default=DEFAULT_MAX_POLL_INTERVAL
            )
            command.add_argument("--deadline", type=float, help="give up after SECONDS")
    return parser


def read_requests(
    lines: Sequence[str], *, model: str, max_tokens: int, system: str | None = None
) -> list[dict[str, Any]]:
    """The batch requests of a ``submit`` file.

    A file whose first non-blank line starts with ``{`` is JSONL: each line is a
    request (``{"custom_id": ..., "params": {...}}``) or bare params (its custom_id
    is then ``line-N``). Otherwise every non-blank line is a prompt, sent with the
    ``--model``/``--max-tokens``/``--system`` options, as request ``line-N``.

    Raises:
        BatchUsageError: A JSONL line that is not a JSON object; no requests at all.
    """
    defaults = functools.partial(prompt_params, model=model, max_tokens=max_tokens, system=system)
    numbered = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise BatchUsageError("the file holds no prompts")
    requests: list[dict[str, Any]] = []
    if not numbered[0][1].startswith("{"):
        return [{"custom_id": f"line-{n}", "params": defaults(p)} for n, p in numbered]
    for number, line in numbered:
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise BatchUsageError(f"line {number} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BatchUsageError(f"line {number} is not a JSON object")
        if "params" in value and "custom_id" in value:
            requests.append(value)
        else:
            requests.append({"custom_id": f"line-{number}", "params": value})
    return requests


class _Progress:
    """One line on stderr, rewritten in place; silent when stderr is not a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._width = 0

    def show(self, text: str) -> None:
        if not self._live:
            return
        padding = " " * max(self._width - len(text), 0)
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()
        self._width = len(text)

    def done(self) -> None:
        if self._live and self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0


def _describe(batch: MessageBatch, elapsed: float, polls: int) -> str:
    counts = batch.request_counts
    finished = counts.total - counts.processing
    minutes, seconds = divmod(int(elapsed), 60)
    return (
        f"{batch.id}: {batch.processing_status}, {finished:,}/{counts.total:,} done "
        f"(succeeded {counts.succeeded:,}, errored {counts.errored:,}, "
        f"canceled {counts.canceled:,}, expired {counts.expired:,}), "
        f"{polls} polls, {minutes}:{seconds:02d}"
    )


def _read_lines(path: str, stdin: IO[str]) -> list[str]:
    if path == "-":
        return stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().splitlines()
    except OSError as exc:
        raise BatchUsageError(f"cannot read {path}: {exc.strerror}") from None


async def _run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    base_url = args.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
    if not os.environ.get("ANTHROPIC_API_KEY") and base_url is None:
        raise BatchUsageError(
            "batch commands need ANTHROPIC_API_KEY (or --base-url): a batch outlives "
            "this process, so there is no embedded server for them"
        )
    if base_url is not None:
        try:
            check_base_url(base_url, "--base-url" if args.base_url else "ANTHROPIC_BASE_URL")
        except UsageError as exc:
            raise BatchUsageError(str(exc)) from None
    async with AsyncClient(base_url=base_url) as client:
        batches = AsyncBatches(client)
        if args.command == "submit":
            return await _submit(batches, args, out, err)
        if args.command == "status":
            batch = await batches.retrieve(args.id)
            print(batch.model_dump_json(), file=out, flush=True)
            return EXIT_OK
        if args.command == "wait":
            return await _wait(batches, args, out, err)
        return await _results(batches, args, out, err)


async def _submit(
    batches: AsyncBatches, args: argparse.Namespace, out: IO[str], err: IO[str]
) -> int:
    requests = read_requests(
        args.lines, model=args.model, max_tokens=args.max_tokens, system=args.system
    )
    try:
        created = await batches.create_many(requests, max_requests=args.max_requests)
    except BatchLimitError as exc:
        raise BatchUsageError(str(exc)) from None
    for batch in created:
        print(batch.id, file=out, flush=True)
    print(
        f"trio-msgstream: {len(requests):,} requests in {len(created)} batch"
        f"{'es' if len(created) != 1 else ''}",
        file=err,
        flush=True,
    )
    return EXIT_OK


async def _wait(batches: AsyncBatches, args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    progress = _Progress(err)
    started = trio.current_time()
    polls = 0

    def on_poll(batch: MessageBatch) -> None:
        nonlocal polls
        polls += 1
        progress.show(_describe(batch, trio.current_time() - started, polls))

    try:
        batch = await batches.wait(
            args.id,
            poll_interval=args.poll_interval,
            max_poll_interval=max(args.max_poll_interval, args.poll_interval),
            deadline=args.deadline,
            on_poll=on_poll,
        )
    finally:
        progress.done()
    print(batch.model_dump_json(), file=out, flush=True)
    return EXIT_OK


async def _results(
    batches: AsyncBatches, args: argparse.Namespace, out: IO[str], err: IO[str]
) -> int:
    progress = _Progress(err)
    count = 0
    try:
        async with batches.results(args.id) as results:
            async for result in results:
                out.write(result.model_dump_json(exclude_unset=True) + "\n")
                count += 1
                if count % 1000 == 0:
                    progress.show(f"{args.id}: {count:,} results")
        out.flush()
    finally:
        progress.done()
    return EXIT_OK


def _leaves(exc: BaseException) -> list[BaseException]:
    nested = getattr(exc, "exceptions", None)
    if not isinstance(nested, tuple):
        return [exc]
    return [leaf for inner in nested for leaf in _leaves(inner)]


def main(
    argv: Sequence[str],
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """``trio-msgstream batch ARGV...``; returns the exit code."""
    stdin = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:  # --help, bad arguments
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "submit":
            args.lines = _read_lines(args.file, stdin)
        return trio.run(_run, args, out, err)
    except BaseException as exc:
        leaves = _leaves(exc)
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            print("trio-msgstream: interrupted", file=err, flush=True)
            return EXIT_INTERRUPTED
        if len(leaves) == 1 and isinstance(leaves[0], BatchUsageError):
            print(f"trio-msgstream batch: {leaves[0]}", file=err, flush=True)
            return EXIT_USAGE
        if len(leaves) == 1 and isinstance(leaves[0], MsgStreamError):
            print(f"trio-msgstream: {describe_error(leaves[0])}", file=err, flush=True)
            return exit_code_for(leaves[0])
        if len(leaves) == 1 and isinstance(leaves[0], BrokenPipeError):
            return EXIT_OK
        raise
