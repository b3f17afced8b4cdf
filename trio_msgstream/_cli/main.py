"""``python -m trio_msgstream`` / ``trio-msgstream``: stream a prompt from the command line.

Without ``ANTHROPIC_API_KEY`` (and no ``--base-url``/``ANTHROPIC_BASE_URL``) the
embedded fake server runs inside the same ``trio.run`` and the CLI says so on stderr.

Exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO, Any

import pydantic
import trio

from .._core import model_names
from .._core.config import NOT_GIVEN, NotGiven, Timeout, TimeoutTypes
from .._core.events import MessageStreamEvent, TextEvent
from .._core.exceptions import APIStatusError, APITimeoutError, MsgStreamError
from .._core.models import Message
from .._httpx.async_client import AsyncClient
from .._trio.fanout import open_fan_out
from .._trio.fanout_handle import FanOutHandle
from .._trio.fanout_results import FanOutResult
from .._trio.stream import MessageStream
from .._version import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130

DEFAULT_MODEL = model_names.DEFAULT_MODEL
DEFAULT_MAX_TOKENS = 1024


class UsageError(Exception):
    """A bad command line (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the CLI."""
    parser = argparse.ArgumentParser(
        prog="trio-msgstream",
        description=(
            "Stream a Claude response with trio_msgstream. Without ANTHROPIC_API_KEY an "
            "embedded local server answers (deterministic demo replies)."
        ),
        epilog="exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted",
    )
    parser.add_argument("prompt", nargs="*", help="the prompt (default: read from stdin)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"default {DEFAULT_MODEL}")
    parser.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help=f"default {DEFAULT_MAX_TOKENS}"
    )
    parser.add_argument("--system", help="a system prompt")
    parser.add_argument(
        "--json", action="store_true", help="print every event as a JSON line instead of text"
    )
    parser.add_argument(
        "--fan-out",
        metavar="FILE",
        help="stream every line of FILE as its own prompt, concurrently ('-' for stdin)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="streams at once with --fan-out (default 4)"
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


def parse_options(argv: Sequence[str] | None, stdin: IO[str]) -> Options:
    """Parse ``argv`` (and read the prompt from ``stdin`` when none is given)."""
    args = build_parser().parse_args(argv)
    if args.max_tokens < 1:
        raise UsageError("--max-tokens must be >= 1")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
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
        prompts = [line.strip() for line in lines if line.strip()]
        if not prompts:
            raise UsageError(f"{args.fan_out} has no prompts (one prompt a line)")
    else:
        if args.prompt:
            prompt = " ".join(args.prompt)
        elif stdin.isatty():
            raise UsageError("no prompt: give one as an argument or on stdin")
        else:
            prompt = stdin.read()
        if not prompt.strip():
            raise UsageError("the prompt is empty")
        prompts = [prompt.strip()]
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
        concurrency=args.concurrency,
    )


# --------------------------------------------------------------------------- output


def event_to_json(event: MessageStreamEvent) -> str:
    """One event as a compact JSON object (raw and derived events alike)."""
    if isinstance(event, pydantic.BaseModel):
        return event.model_dump_json(exclude_none=True)
    data: dict[str, Any] = {"type": event.type, "index": event.index}
    for name in ("text", "thinking", "partial_json", "signature"):
        value = getattr(event, name, None)
        if value is not None:
            data[name] = value
    citation = getattr(event, "citation", None)
    if citation is not None:
        data["citation"] = (
            citation.model_dump(mode="json")
            if isinstance(citation, pydantic.BaseModel)
            else citation
        )
    return json.dumps(data, ensure_ascii=False)


def _err(message: str) -> None:
    print(f"trio-msgstream: {message}", file=sys.stderr, flush=True)


def describe_error(exc: BaseException) -> str:
    """A one-line description of an error, with its request id when known."""
    if isinstance(exc, APIStatusError):
        text = exc.message
        if exc.mid_stream:
            text = f"error event mid-stream: {text}"
        if exc.request_id:
            text += f" (request id {exc.request_id})"
    elif isinstance(exc, MsgStreamError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def exit_code_for(exc: BaseException) -> int:
    return EXIT_TIMEOUT if isinstance(exc, APITimeoutError) else EXIT_API_ERROR


@dataclass
class _Timing:
    started: float
    first_text: float | None = None
    ended: float | None = None


def format_stats(
    message: Message | None,
    timing: _Timing,
    request_id: str | None,
    *,
    label: str = "",
) -> str:
    """The ``--stats`` line: time to first token, tokens/s, usage, request id."""
    end = timing.ended if timing.ended is not None else timing.started
    parts = [f"stats{label}:"]
    if timing.first_text is not None:
        parts.append(f"ttft={timing.first_text - timing.started:.3f}s")
    else:
        parts.append("ttft=n/a")
    parts.append(f"total={end - timing.started:.3f}s")
    usage = message.usage if message is not None else None
    if usage is not None:
        output = usage.output_tokens
        streaming_time = end - (timing.first_text if timing.first_text is not None else end)
        if output and streaming_time > 0:
            parts.append(f"tokens/s={output / streaming_time:.1f}")
        else:
            parts.append("tokens/s=n/a")
        parts.append(f"input_tokens={usage.input_tokens}")
        parts.append(f"output_tokens={output}")
        for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            value = getattr(usage, name, None)
            if value:
                parts.append(f"{name}={value}")
    if message is not None and message.stop_reason:
        parts.append(f"stop_reason={message.stop_reason}")
    parts.append(f"request_id={request_id or 'n/a'}")
    return " ".join(parts)


# --------------------------------------------------------------------------- client


@asynccontextmanager
async def open_cli_client(options: Options) -> AsyncIterator[AsyncClient]:
    """The client: real API with a key, else a given base URL, else the embedded server."""
    base_url = options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
    from ..testing._embedded import open_embedded_server_unless_key

    async with open_embedded_server_unless_key(base_url=base_url) as url:
        async with AsyncClient(base_url=url, timeout=options.timeout) as client:
            yield client


# --------------------------------------------------------------------------- modes


async def run_single(client: AsyncClient, options: Options, out: IO[str]) -> int:
    """Stream one prompt: text (or JSON events) to ``out`` as it arrives."""
    timing = _Timing(started=trio.current_time())
    request_id: str | None = None
    message: Message | None = None
    wrote_text = False
    try:
        async with client.messages.stream(
            **options.params(options.prompts[0]), timeout=options.timeout
        ) as stream:
            request_id = stream.request_id
            async for event in stream:
                if isinstance(event, TextEvent):
                    if timing.first_text is None:
                        timing.first_text = trio.current_time()
                    if not options.json:
                        out.write(event.text)
                        out.flush()
                        wrote_text = True
                if options.json:
                    out.write(event_to_json(event) + "\n")
                    out.flush()
            message = await stream.get_final_message()
    except MsgStreamError as exc:
        if wrote_text:
            out.write("\n")
            out.flush()
        _err(describe_error(exc))
        return exit_code_for(exc)
    finally:
        timing.ended = trio.current_time()
        if options.stats:
            print(format_stats(message, timing, request_id), file=sys.stderr, flush=True)
    if wrote_text:
        out.write("\n")
        out.flush()
    return EXIT_OK


@dataclass
class _Progress:
    index: int
    prompt: str
    state: str = "queued"
    deltas: int = 0
    chars: int = 0
    first_text: float | None = None
    tail: str = ""


class _Board:
    """Live per-stream progress on stderr: redrawn in place on a terminal, one line per
    state change otherwise."""

    def __init__(self, prompts: list[str], stream: IO[str]) -> None:
        self.items = [_Progress(i + 1, p) for i, p in enumerate(prompts)]
        self.stream = stream
        self.live = stream.isatty()
        self._drawn = 0

    def set_state(self, item: _Progress, state: str) -> None:
        item.state = state
        if not self.live:
            detail = f" ({item.deltas} text deltas)" if state != "streaming" else ""
            print(f"[{item.index}] {state}{detail}", file=self.stream, flush=True)

    def line(self, item: _Progress) -> str:
        prompt = item.prompt if len(item.prompt) <= 30 else item.prompt[:29] + "…"
        tail = " ".join(item.tail.split())[-40:]
        return f"[{item.index}] {item.state:<9} {item.deltas:>5} deltas  {prompt!r}  {tail}"

    def draw(self) -> None:
        if not self.live:
            return
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        lines = "".join(f"\x1b[2K{self.line(item)}\n" for item in self.items)
        self.stream.write(up + lines)
        self.stream.flush()
        self._drawn = len(self.items)

    async def run(self) -> None:
        while True:
            self.draw()
            await trio.sleep(0.1)


def _progress_handler(board: _Board, item: _Progress) -> type[MessageStream]:
    class Progress(MessageStream):
        async def on_text(self, text: str) -> None:
            if item.first_text is None:
                item.first_text = trio.current_time()
                board.set_state(item, "streaming")
            item.deltas += 1
            item.chars += len(text)
            item.tail = (item.tail + text)[-80:]

    return Progress


async def run_fan_out(client: AsyncClient, options: Options, out: IO[str]) -> int:
    """Stream every prompt concurrently; print each answer when it completes."""
    board = _Board(options.prompts, sys.stderr)
    started = trio.current_time()
    failures: list[tuple[int, BaseException]] = []
    results: dict[int, FanOutResult] = {}
    handles: dict[int, FanOutHandle] = {}
    async with trio.open_nursery() as progress_nursery:
        if board.live:
            progress_nursery.start_soon(board.run)
        async with open_fan_out(client, max_concurrency=options.concurrency) as fan:
            for item in board.items:
                handles[item.index] = await fan.submit(
                    item.index,
                    event_handler=_progress_handler(board, item),
                    timeout=options.timeout,
                    **options.params(item.prompt),
                )
            fan.done_submitting()
            async for result in fan.results():
                assert isinstance(result.key, int)
                item = board.items[result.key - 1]
                results[result.key] = result
                if result.error is not None:
                    failures.append((item.index, result.error))
                    board.set_state(item, "failed")
                else:
                    board.set_state(item, "done")
                _print_result(item, result, options, out)
        progress_nursery.cancel_scope.cancel()
    board.draw()
    if options.stats:
        for item in board.items:
            result = results[item.index]
            timing = _Timing(
                started=started,
                first_text=(
                    started + result.metrics.time_to_first_text
                    if result.metrics.time_to_first_text is not None
                    else None
                ),
                ended=started + result.metrics.duration,
            )
            message = result.message or getattr(result.error, "partial_message", None)
            stream = handles[item.index].stream
            request_id = stream.request_id if stream is not None else None
            print(
                format_stats(message, timing, request_id, label=f"[{item.index}]"),
                file=sys.stderr,
                flush=True,
            )
    for index, error in failures:
        _err(f"[{index}] {describe_error(error)}")
    if failures:
        return exit_code_for(failures[0][1])
    return EXIT_OK


def _print_result(item: _Progress, result: FanOutResult, options: Options, out: IO[str]) -> None:
    message = result.message
    if options.json:
        record: dict[str, Any] = {"index": item.index, "prompt": item.prompt}
        if message is not None:
            record["text"] = "".join(b.text for b in message.content if b.type == "text")  # type: ignore[union-attr]
            record["message"] = message.model_dump(mode="json", exclude_none=True)
        else:
            record["error"] = describe_error(result.error) if result.error else "unknown"
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif message is not None:
        text = "".join(b.text for b in message.content if b.type == "text")  # type: ignore[union-attr]
        out.write(f"### [{item.index}] {item.prompt}\n{text}\n\n")
    out.flush()


async def run(options: Options, out: IO[str]) -> int:
    """Run the CLI's work inside ``trio.run``."""
    async with open_cli_client(options) as client:
        if options.fan_out:
            return await run_fan_out(client, options, out)
        return await run_single(client, options, out)


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups; ``[exc]`` for a plain one."""
    nested = getattr(exc, "exceptions", None)
    if not isinstance(nested, tuple):
        return [exc]
    return [leaf for inner in nested for leaf in _leaves(inner)]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m trio_msgstream`` and the ``trio-msgstream`` script.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted.
    """
    try:
        options = parse_options(argv, sys.stdin)
    except UsageError as exc:
        build_parser().print_usage(sys.stderr)
        _err(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help, --version, bad arguments
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return trio.run(run, options, sys.stdout)
    except BaseException as exc:
        leaves = _leaves(exc)
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            _err("interrupted")
            return EXIT_INTERRUPTED
        if len(leaves) == 1 and isinstance(leaves[0], MsgStreamError):
            _err(describe_error(leaves[0]))
            return exit_code_for(leaves[0])
        if len(leaves) == 1 and isinstance(leaves[0], BrokenPipeError):
            # stdout was closed (``| head``): not worth a traceback. Point stdout at
            # devnull so that the interpreter's final flush does not complain.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        raise
