"""The trio driver of the refusal-fallback middleware: sends what the core's runs say.

:func:`handle_async` is ``BetaRefusalFallbackMiddleware.handle_async``. The rules
(which requests, each hop's request, the splice) are the sans-IO core's
(:mod:`trio_msgstream._core.middleware.fallback`, ``.splice``); this module does the
I/O: ``call_next`` for each hop, reading bodies, and the spliced stream, an async
generator that the stream's producer reads as the response body. It runs in the
producer's task, so closing or cancelling the stream closes it (and the hop being
read) without starting another hop.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import trio

from .._core.middleware.chain import AsyncCallNext
from .._core.middleware.fallback import (
    BetaRefusalFallbackMiddleware,
    BodyRun,
    Prepared,
    StreamRun,
    count_hop,
    count_replaced,
    register_fallback_driver,
    speed_resend,
)
from .._core.middleware.framing import decoder_for, encode_sse
from .._core.middleware.request import APIRequest
from .._core.middleware.splice import HopReader
from .._core.request.status import MAX_ERROR_BODY
from .middleware import AsyncAPIResponse

__all__ = ["handle_async"]


async def _send(
    request: APIRequest, entry: Mapping[str, Any] | None, call_next: AsyncCallNext
) -> tuple[AsyncAPIResponse, bool]:
    """One hop's request (resent once without ``speed`` when the rules say so);
    whether it was resent."""
    response: AsyncAPIResponse = await call_next(request)
    resend = speed_resend(request, entry, response.status_code) if entry is not None else None
    if resend is None:
        return response, False
    await response.close()
    return await call_next(resend), True


async def handle_async(
    middleware: BetaRefusalFallbackMiddleware, request: APIRequest, call_next: AsyncCallNext
) -> Any:
    prepared = middleware.prepare(request)
    if prepared is None:
        return await call_next(request)
    response, _ = await _send(prepared.initial, prepared.initial_entry, call_next)
    if not response.is_success:
        return response
    if request.stream:
        if prepared.start + 1 >= len(prepared.fallbacks):
            return response  # nothing to hop to: untouched
        return response._with_stream(_spliced(prepared, response, call_next))
    run = BodyRun(prepared)
    while response.is_success:
        try:
            message = await response.json()
        except ValueError:
            return response
        hop = run.next_hop(message)
        if hop is None:
            break
        # Both were (or will be) billed: the refused reply and the hop's request.
        count_replaced(request, message)
        count_hop(hop[0])
        response, _ = await _send(*hop, call_next)
        if response.is_success:
            run.accepted()
    if response.is_success and run.seams:
        seamed = run.seamed(await response.json())
        if seamed is not None:
            return response._with_body(json.dumps(seamed).encode())
    return response


async def _spliced(
    prepared: Prepared, primary: AsyncAPIResponse, call_next: AsyncCallNext
) -> AsyncIterator[bytes]:
    """The body of the spliced stream (see the module notes)."""
    run = StreamRun(prepared)
    current: AsyncAPIResponse | None = primary
    try:
        reader = run.primary()
        drive = _drive(primary, reader)
        try:
            async for data in drive:
                yield data
        finally:
            await _aclose(drive)
        if not run.begin(reader.result()):
            return
        await primary.close()
        current = None
        while (hop_request := run.hop_request()) is not None:
            if run.first_try:  # a passed usage limit ends the stream here, unsent
                count_hop(hop_request)
            try:
                response, resent = await _send(hop_request, run.entry, call_next)
            except Exception as exc:  # not Cancelled: a failed hop, skipped
                run.hop_raised(exc)
                continue
            if resent:
                run.resent_without_speed()
            if not response.is_success:
                error = await response.read_bounded(MAX_ERROR_BODY)
                await response.close()
                run.hop_rejected(response.status_code, error.decode("utf-8", "replace"))
                continue
            current = response
            reader = run.hop_reader()
            drive = _drive(response, reader)
            try:
                async for data in drive:
                    yield data
            finally:
                await _aclose(drive)
            current = None
            await response.close()
            if not run.hop_ended(reader.result()):
                return
        yield encode_sse(run.failure_frames())
    finally:
        if current is not None:
            await current.close()


async def _drive(response: AsyncAPIResponse, reader: HopReader) -> AsyncIterator[bytes]:
    """One hop's body through its reader: the SSE bytes to forward, per chunk read."""
    decoder = decoder_for(response.headers.get("content-type"))
    chunks = response.iter_chunks()
    try:
        async for chunk in chunks:
            frames = []
            for event in decoder.feed(chunk):
                frames += reader.feed((event.event, event.data))
                if reader.outcome is not None:
                    break
            if frames:
                yield encode_sse(frames)
            if reader.outcome is not None:
                return
        frames = []
        for event in decoder.feed(b""):
            frames += reader.feed((event.event, event.data))
            if reader.outcome is not None:
                break
        frames += reader.finish()
        if frames:
            yield encode_sse(frames)
    finally:
        await _aclose(chunks)


async def _aclose(iterator: AsyncIterator[bytes]) -> None:
    # Async generators are closed now, not at garbage collection (trio warns then).
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with trio.CancelScope(shield=True):
            await aclose()


register_fallback_driver("async", handle_async)
