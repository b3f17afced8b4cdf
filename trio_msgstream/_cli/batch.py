"""``trio-msgstream batch ...``: Message Batches from the command line.

Subcommands::

    batch submit FILE     one prompt per line, or JSONL of params ('-' for stdin);
                          prints the id of every batch created (a large job is split)
    batch status ID       the batch as JSON
    batch wait ID         poll until it has ended; the ended batch as JSON
    batch results ID      the results as JSONL, one line per request

On a terminal, ``wait`` and ``results`` keep a progress line on stderr, redrawn in
place; otherwise ``wait`` writes a plain line when the batch's state changes
(``batch_progress``). A batch outlives the process, so these commands need the real API
(``ANTHROPIC_API_KEY``) or a server of your own (``--base-url`` /
``ANTHROPIC_BASE_URL``); there is no embedded one. ``--base-url``, ``--timeout`` and
``--max-retries`` go before or after the subcommand.

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
from .._core.batches.models import BatchNotEndedError
from .._core.batches.wait import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL
from .._core.config import Timeout
from .._core.exceptions import MsgStreamError
from .._core.schema.model_names import deprecation_notice
from .._httpx.async_client import AsyncClient
from .._trio.batches import AsyncBatches
from .batch_progress import ResultsProgress, WaitProgress
from .options import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    check_base_url,
    prompt_params,
)
from .output import PROG, describe_error, exit_code_for

__all__ = ["main", "read_requests"]


class BatchUsageError(Exception):
    """A bad command line or input file (exit code 2)."""


def _connection_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    # The options of every batch command, accepted before and after the subcommand
    # (``batch --base-url URL submit F`` and ``batch submit F --base-url URL``): the
    # subcommands' copies default to SUPPRESS, so they never undo a value given earlier.
    parser.add_argument(
        "--base-url", default=default, help="API base URL (default: ANTHROPIC_BASE_URL or the API)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=default,
        help="connect/read/write/pool timeout of each request in seconds",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        default=default,
        help="retries of a failed request (default 2)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``trio-msgstream batch``."""
    parser = argparse.ArgumentParser(
        prog="trio-msgstream batch",
        description="Message Batches: half the price, results within 24 hours.",
        epilog="exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted",
    )
    _connection_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        _connection_options(sub, default=argparse.SUPPRESS)
        return sub

    submit = command("submit", "create batches from a file of prompts")
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
        ("wait", "poll until the batch has ended; print it as JSON"),
        ("results", "print the results of an ended batch as JSONL"),
    ):
        sub = command(name, text)
        sub.add_argument("id", help="the batch id (msgbatch_...)")
        if name == "wait":
            sub.add_argument(
                "--poll-interval",
                type=float,
                default=DEFAULT_POLL_INTERVAL,
                metavar="SECONDS",
                help=f"first pause between polls (default {DEFAULT_POLL_INTERVAL:g})",
            )
            sub.add_argument(
                "--max-poll-interval",
                type=float,
                default=DEFAULT_MAX_POLL_INTERVAL,
                metavar="SECONDS",
                help=f"longest pause between polls (default {DEFAULT_MAX_POLL_INTERVAL:g})",
            )
            sub.add_argument(
                "--deadline",
                type=float,
                metavar="SECONDS",
                help="stop waiting after SECONDS (exit code 3; the batch keeps running)",
            )
    return parser


def read_requests(
    lines: Sequence[str], *, model: str, max_tokens: int, system: str | None = None
) -> list[dict[str, Any]]:
    """The batch requests of a ``submit`` file.

    A file whose first non-blank line starts with ``{`` is JSONL: each line is a
    request (``{"custom_id": ..., "params": {...}}``) or bare params (its custom_id
    is then ``request-N``, for the N-th request of the file). Otherwise every
    non-blank line is a prompt, sent with the ``--model``/``--max-tokens``/``--system``
    options, as request ``prompt-N`` for the N-th prompt (blank lines are not counted,
    as the fan-out's ``[n]`` labels do not count them). Errors name the file's line.

    Raises:
        BatchUsageError: A JSONL line that is not a JSON object; no requests at all.
    """
    defaults = functools.partial(prompt_params, model=model, max_tokens=max_tokens, system=system)
    numbered = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise BatchUsageError("the file holds no prompts")
    requests: list[dict[str, Any]] = []
    if not numbered[0][1].startswith("{"):
        return [
            {"custom_id": f"prompt-{count}", "params": defaults(prompt)}
            for count, (_, prompt) in enumerate(numbered, 1)
        ]
    for count, (number, line) in enumerate(numbered, 1):
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise BatchUsageError(f"line {number} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BatchUsageError(f"line {number} is not a JSON object")
        if "params" in value and "custom_id" in value:
            requests.append(value)
        else:
            requests.append({"custom_id": f"request-{count}", "params": value})
    return requests


def _read_lines(path: str, stdin: IO[str]) -> list[str]:
    if path == "-":
        return stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().splitlines()
    except OSError as exc:
        raise BatchUsageError(f"cannot read {path}: {exc.strerror}") from None


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's keyword arguments from the connection options, checked."""
    options: dict[str, Any] = {}
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
    options["base_url"] = base_url
    if args.timeout is not None:
        if not args.timeout > 0:
            raise BatchUsageError("--timeout must be > 0")
        options["timeout"] = Timeout.of(args.timeout)
    if args.max_retries is not None:
        if args.max_retries < 0:
            raise BatchUsageError("--max-retries must be >= 0")
        options["max_retries"] = args.max_retries
    return options


async def _run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    async with AsyncClient(**_client_options(args)) as client:
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
    for model in dict.fromkeys(_models(requests)):
        notice = deprecation_notice(model)
        if notice is not None:
            print(f"{PROG}: warning: {notice}", file=err, flush=True)
    try:
        created = await batches.create_many(requests, max_requests=args.max_requests)
    except BatchLimitError as exc:
        raise BatchUsageError(str(exc)) from None
    for batch in created:
        print(batch.id, file=out, flush=True)
    print(
        f"{PROG}: {len(requests):,} requests in {len(created)} batch"
        f"{'es' if len(created) != 1 else ''}",
        file=err,
        flush=True,
    )
    return EXIT_OK


async def _wait(batches: AsyncBatches, args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    progress = WaitProgress(args.id, err)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(progress.run)
            batch = await batches.wait(
                args.id,
                poll_interval=args.poll_interval,
                max_poll_interval=max(args.max_poll_interval, args.poll_interval),
                deadline=args.deadline,
                on_poll=progress.on_poll,
            )
            nursery.cancel_scope.cancel()
    finally:
        progress.close()
    print(batch.model_dump_json(), file=out, flush=True)
    return EXIT_OK


async def _results(
    batches: AsyncBatches, args: argparse.Namespace, out: IO[str], err: IO[str]
) -> int:
    progress = ResultsProgress(args.id, err)
    try:
        async with batches.results(args.id) as results:
            async for result in results:
                out.write(result.model_dump_json(exclude_unset=True) + "\n")
                progress.add()
        out.flush()
    except BatchNotEndedError as exc:
        raise _NotEnded(exc.batch.id, exc.batch.processing_status, args) from None
    finally:
        progress.close()
    return EXIT_OK


class _NotEnded(Exception):
    """``batch results`` of a batch still running: what to run instead (exit code 1)."""

    def __init__(self, batch_id: str, status: str, args: argparse.Namespace) -> None:
        command = f"{PROG} batch wait {batch_id}"
        if args.base_url:
            command += f" --base-url {args.base_url}"
        super().__init__(
            f"batch {batch_id} is {status}: its results can be read once it has ended; "
            f"wait for it with: {command}"
        )


def _models(requests: Sequence[dict[str, Any]]) -> list[str]:
    params = (request.get("params") for request in requests)
    return [p["model"] for p in params if isinstance(p, dict) and isinstance(p.get("model"), str)]


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
    source: IO[str] = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:  # --help, bad arguments
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "submit":
            args.lines = _read_lines(args.file, source)
        return trio.run(_run, args, out, err)
    except BaseException as exc:
        leaves = _leaves(exc)
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            print(f"{PROG}: interrupted", file=err, flush=True)
            return EXIT_INTERRUPTED
        if len(leaves) == 1 and isinstance(leaves[0], BatchUsageError):
            print(f"{PROG}: {leaves[0]}", file=err, flush=True)
            return EXIT_USAGE
        if len(leaves) == 1 and isinstance(leaves[0], _NotEnded):
            print(f"{PROG}: {leaves[0]}", file=err, flush=True)
            return EXIT_API_ERROR
        if len(leaves) == 1 and isinstance(leaves[0], MsgStreamError):
            print(f"{PROG}: {describe_error(leaves[0])}", file=err, flush=True)
            return exit_code_for(leaves[0])
        if len(leaves) == 1 and isinstance(leaves[0], BrokenPipeError):
            return EXIT_OK
        raise
