"""The command line of the CLI: flags, validation, and the exit codes.

Everything wrong with the command line is found here, before ``trio.run``: a usage
error exits with code 2 at once, without a request and without retries.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from .._core.config import NOT_GIVEN, NotGiven, Timeout, TimeoutTypes
from .._core.schema import model_names
from .._version import __version__

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MODEL",
    "EXIT_API_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "Options",
    "UsageError",
    "build_parser",
    "check_base_url",
    "parse_options",
    "prompt_params",
]

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130

DEFAULT_MODEL = model_names.DEFAULT_MODEL
DEFAULT_MAX_TOKENS = 1024
DEFAULT_CONCURRENCY = 4


class UsageError(Exception):
    """A bad command line (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the CLI."""
    parser = argparse.ArgumentParser(
        prog="trio-msgstream",
        usage=(
            "%(prog)s [options] [prompt ...]\n"
            "       %(prog)s batch {submit,status,wait,results} ... (see: %(prog)s batch --help)"
        ),
        description=(
            "Stream a Claude response with trio_msgstream. Without ANTHROPIC_API_KEY an\n"
            "embedded local server answers (deterministic demo replies)."
        ),
        epilog=(
            "commands:\n"
            "  batch submit FILE     create Message Batches from a file of prompts (or JSONL)\n"
            "  batch status ID       print a batch as JSON\n"
            "  batch wait ID         poll until a batch has ended, with progress\n"
            "  batch results ID      print the results of an ended batch as JSONL\n"
            "\n"
            "exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", nargs="*", help="the prompt (default: read from stdin)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"default {DEFAULT_MODEL}")
    parser.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help=f"default {DEFAULT_MAX_TOKENS}"
    )
    parser.add_argument("--system", help="a system prompt")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one compact JSON object per line: the API's events (single prompt) "
        "or one result per prompt (--fan-out)",
    )
    parser.add_argument(
        "--fan-out",
        metavar="FILE",
        help="stream every line of FILE as its own prompt, concurrently ('-' for stdin)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help=f"streams at once with --fan-out (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print time to first token, tokens/s, usage and request id on stderr",
    )
    parser.add_argument("--base-url", help="API base URL (default: ANTHROPIC_BASE_URL or the API)")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="connect/read/idle timeout in seconds (no event but pings for that long fails)",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help="retries of a failed request before any content arrived (default 2)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


@dataclass
class Options:
    """The parsed command line."""

    prompts: list[str]
    fan_out: bool
    model: str
    max_tokens: int
    system: str | None
    json: bool
    stats: bool
    base_url: str | None
    timeout: TimeoutTypes | NotGiven
    concurrency: int
    max_retries: int | NotGiven = NOT_GIVEN

    def params(self, prompt: str) -> dict[str, Any]:
        return prompt_params(
            prompt, model=self.model, max_tokens=self.max_tokens, system=self.system
        )


def prompt_params(
    prompt: str, *, model: str, max_tokens: int, system: str | None
) -> dict[str, Any]:
    """The Messages API parameters of one user prompt (for ``main`` and ``batch``)."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        params["system"] = system
    return params


def check_base_url(url: str, source: str) -> str:
    """``url`` if it is an absolute http(s) URL; a :class:`UsageError` naming
    ``source`` (the flag or variable it came from) otherwise."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise UsageError(f"{source} must be an http:// or https:// URL, got {url!r}")
    return url


def _read_prompts(args: argparse.Namespace, stdin: IO[str]) -> list[str]:
    if args.fan_out is not None:
        if args.prompt:
            raise UsageError("give either a prompt or --fan-out FILE, not both")
        try:
            if args.fan_out == "-":
                lines = stdin.read().splitlines()
            else:
                with open(args.fan_out, encoding="utf-8") as file:
                    lines = file.read().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read {args.fan_out}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{args.fan_out} is not UTF-8 text") from None
        prompts = [line.strip() for line in lines if line.strip()]
        if not prompts:
            raise UsageError(f"{args.fan_out} has no prompts (one prompt a line)")
        return prompts
    if args.prompt:
        prompt = " ".join(args.prompt)
    elif stdin.isatty():
        raise UsageError("no prompt: give one as an argument or on stdin")
    else:
        prompt = stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    return [prompt.strip()]


def parse_options(argv: Sequence[str] | None, stdin: IO[str]) -> Options:
    """Parse ``argv`` (and read the prompt from ``stdin`` when none is given).

    Raises:
        UsageError: A value that cannot work (exit code 2).
        SystemExit: From argparse (``--help``, ``--version``, unknown flags).
    """
    args = build_parser().parse_args(argv)
    if args.max_tokens < 1:
        raise UsageError("--max-tokens must be >= 1")
    if args.concurrency is not None:
        if args.fan_out is None:
            raise UsageError("--concurrency only applies with --fan-out FILE")
        if args.concurrency < 1:
            raise UsageError("--concurrency must be >= 1")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError("--timeout must be > 0")
    if args.max_retries is not None and args.max_retries < 0:
        raise UsageError("--max-retries must be >= 0")
    if args.base_url is not None:
        check_base_url(args.base_url, "--base-url")
    elif os.environ.get("ANTHROPIC_BASE_URL"):
        check_base_url(os.environ["ANTHROPIC_BASE_URL"], "ANTHROPIC_BASE_URL")
    prompts = _read_prompts(args, stdin)
    return Options(
        prompts=prompts,
        fan_out=args.fan_out is not None,
        model=args.model,
        max_tokens=args.max_tokens,
        system=args.system,
        json=args.json,
        stats=args.stats,
        base_url=args.base_url,
        timeout=Timeout.of(args.timeout) if args.timeout is not None else NOT_GIVEN,
        concurrency=args.concurrency if args.concurrency is not None else DEFAULT_CONCURRENCY,
        max_retries=args.max_retries if args.max_retries is not None else NOT_GIVEN,
    )
