"""``python -m trio_msgstream`` / ``trio-msgstream``: stream a prompt from the command line.

Without ``ANTHROPIC_API_KEY`` (and no ``--base-url``/``ANTHROPIC_BASE_URL``) the
embedded fake server runs inside the same ``trio.run`` and the CLI says so on stderr.

stdout carries only the answers (text, or JSON lines with ``--json``); notes, retries,
errors, stats and the fan-out progress board go to stderr. The flags and the formats
are described in ``docs/cli.md``; the modules of this package split the work:
``options`` (command line, exit codes), ``output`` (messages and formats), ``board``
(fan-out progress), ``entry`` (the entry point: the command line is parsed before
the client is imported) and this one (running the requests).

Exit codes: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any
from urllib.parse import urlsplit

import trio

from .._core.exceptions import MsgStreamError
from .._core.schema.models import Message
from .._core.stream.events import TextEvent
from .._httpx.async_client import AsyncClient
from .._trio.fanout.handle import FanOutHandle
from .._trio.fanout.results import FanOutResult
from .._trio.fanout.scheduler import open_fan_out
from .board import Board, Progress, progress_handler
from .options import (
    EXIT_OK,
    Options,
    UsageError,
)
from .output import (
    ErrorContext,
    RetryNotices,
    Timing,
    compact_json,
    describe_error,
    err,
    event_to_json,
    exit_code_for,
    format_stats,
    is_wire_event,
    max_tokens_note,
    message_text,
)

__all__ = ["open_cli_client", "run", "run_fan_out", "run_single"]


# --------------------------------------------------------------------------- client


@asynccontextmanager
async def open_cli_client(options: Options) -> AsyncIterator[AsyncClient]:
    """The client: real API with a key, else a given base URL, else the embedded server;
    or a cloud platform's client (``--platform``)."""
    if options.platform != "anthropic":
        async with platform_client(options) as client:
            yield client
        return
    base_url = options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
    from ..testing._embedded import open_embedded_server_unless_key

    async with open_embedded_server_unless_key(base_url=base_url) as url:
        async with AsyncClient(base_url=url, timeout=options.timeout) as client:
            yield client


def platform_client(options: Options) -> AsyncClient:
    """The ``--platform`` client, its other settings from the platform's environment.

    Raises:
        UsageError: The platform's settings are incomplete (no region, ...).
    """
    from .._httpx.platform_clients import (
        AsyncAnthropicBedrock,
        AsyncAnthropicFoundry,
        AsyncAnthropicVertex,
    )

    common: dict[str, Any] = {"base_url": options.base_url, "timeout": options.timeout}
    try:
        if options.platform == "bedrock":
            return AsyncAnthropicBedrock(aws_region=options.region, **common)
        if options.platform == "vertex":
            return AsyncAnthropicVertex(region=options.region, project_id=options.project, **common)
        return AsyncAnthropicFoundry(resource=options.resource, **common)
    except (ValueError, MsgStreamError) as exc:
        raise UsageError(f"--platform {options.platform}: {exc}") from None


def _host(base_url: str) -> str | None:
    try:
        return urlsplit(base_url).netloc or None
    except ValueError:
        return None


def _request_options(options: Options) -> dict[str, Any]:
    return {"timeout": options.timeout, "max_retries": options.max_retries}


# --------------------------------------------------------------------------- one prompt


async def run_single(client: AsyncClient, options: Options, out: IO[str]) -> int:
    """Stream one prompt: text (or JSON lines of the API's events) to ``out``."""
    timing = Timing(started=trio.current_time())
    request_id: str | None = None
    message: Message | None = None
    wrote_text = False
    with RetryNotices(err) as notices:
        try:
            async with client.messages.stream(
                **options.params(options.prompts[0]), **_request_options(options)
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
                    elif options.json and is_wire_event(event):
                        out.write(event_to_json(event) + "\n")
                        out.flush()
                message = await stream.get_final_message()
        except MsgStreamError as exc:
            timing.ended = trio.current_time()
            if wrote_text:
                out.write("\n")
                out.flush()
            context = ErrorContext(
                host=_host(client.base_url),
                elapsed=timing.ended - timing.started,
                attempts=notices.attempts,
                limits=client.timeout,
            )
            err(describe_error(exc, context))
            if options.stats:
                partial = getattr(exc, "partial_message", None)
                print(format_stats(partial, timing, request_id), file=sys.stderr, flush=True)
            return exit_code_for(exc)
    timing.ended = trio.current_time()
    if wrote_text:
        out.write("\n")
        out.flush()
    note = max_tokens_note(message, options.max_tokens)
    if note:
        err(note)
    if options.stats:
        print(format_stats(message, timing, request_id), file=sys.stderr, flush=True)
    return EXIT_OK


# --------------------------------------------------------------------------- fan-out


async def run_fan_out(client: AsyncClient, options: Options, out: IO[str]) -> int:
    """Stream every prompt concurrently; print each answer when it completes."""
    board = Board(options.prompts, out, sys.stderr)
    started = trio.current_time()
    failures: list[tuple[int, BaseException, ErrorContext]] = []
    results: dict[int, FanOutResult] = {}
    handles: dict[int, FanOutHandle] = {}
    try:
        async with trio.open_nursery() as progress_nursery:
            if board.live:
                progress_nursery.start_soon(board.run)
            async with open_fan_out(client, max_concurrency=options.concurrency) as fan:
                for item in board.items:
                    handles[item.index] = await fan.submit(
                        item.index,
                        event_handler=progress_handler(board, item),
                        **_request_options(options),
                        **options.params(item.prompt),
                    )
                fan.done_submitting()
                async for result in fan.results():
                    assert isinstance(result.key, int)
                    item = board.items[result.key - 1]
                    results[result.key] = result
                    if result.error is not None:
                        context = ErrorContext(
                            host=_host(client.base_url),
                            elapsed=result.metrics.duration,
                            attempts=result.metrics.retries + 1,
                            limits=client.timeout,
                        )
                        failures.append((item.index, result.error, context))
                        board.set_state(item, "failed")
                    else:
                        board.set_state(item, "done")
                    _print_result(board, item, result, options)
            progress_nursery.cancel_scope.cancel()
    finally:
        board.close()
    if options.stats:
        for item in board.items:
            _print_item_stats(item, results[item.index], handles[item.index], started)
    for index, error, context in failures:
        err(f"[{index}] {describe_error(error, context)}")
    if failures:
        return exit_code_for(failures[0][1])
    return EXIT_OK


def _print_item_stats(
    item: Progress, result: FanOutResult, handle: FanOutHandle, started: float
) -> None:
    metrics = result.metrics
    timing = Timing(
        started=started,
        first_text=(
            started + metrics.time_to_first_text if metrics.time_to_first_text is not None else None
        ),
        ended=started + metrics.duration,
    )
    message = result.message or getattr(result.error, "partial_message", None)
    stream = handle.stream
    request_id = stream.request_id if stream is not None else None
    print(
        format_stats(message, timing, request_id, label=f"[{item.index}]"),
        file=sys.stderr,
        flush=True,
    )


def _print_result(board: Board, item: Progress, result: FanOutResult, options: Options) -> None:
    message = result.message
    if options.json:
        record: dict[str, Any] = {"index": item.index, "prompt": item.prompt}
        if message is not None:
            record["text"] = message_text(message)
            record["message"] = message.model_dump(mode="json", exclude_none=True)
        else:
            record["error"] = describe_error(result.error) if result.error else "unknown"
        board.write_out(compact_json(record) + "\n")
    elif message is not None:
        board.write_out(f"### [{item.index}] {item.prompt}\n{message_text(message)}\n\n")
    note = max_tokens_note(message, options.max_tokens)
    if note:
        board.say(f"trio-msgstream: [{item.index}] {note}")


async def run(options: Options, out: IO[str]) -> int:
    """Run the CLI's work inside ``trio.run``."""
    async with open_cli_client(options) as client:
        if options.fan_out:
            return await run_fan_out(client, options, out)
        return await run_single(client, options, out)
