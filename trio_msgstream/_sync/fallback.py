"""The sync driver of the refusal-fallback middleware: the trio driver's twin.

:func:`handle` is ``BetaRefusalFallbackMiddleware.handle``; the rules are the sans-IO
core's, and the loop the same as :mod:`trio_msgstream._trio.fallback`'s, without
``await``. The spliced stream is a generator the caller's thread reads as the body;
closing the stream closes it (and the hop being read) without starting another hop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .._core.middleware.chain import CallNext
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
from .middleware import APIResponse

__all__ = ["handle"]


def _send(
    request: APIRequest, entry: Mapping[str, Any] | None, call_next: CallNext
) -> tuple[APIResponse, bool]:
    """One hop's request (resent once without ``speed`` when the rules say so);
    whether it was resent."""
    response: APIResponse = call_next(request)
    resend = speed_resend(request, entry, response.status_code) if entry is not None else None
    if resend is None:
        return response, False
    response.close()
    return call_next(resend), True


def handle(
    middleware: BetaRefusalFallbackMiddleware, request: APIRequest, call_next: CallNext
) -> Any:
    prepared = middleware.prepare(request)
    if prepared is None:
        return call_next(request)
    response, _ = _send(prepared.initial, prepared.initial_entry, call_next)
    if not response.is_success:
        return response
    if request.stream:
        if prepared.start + 1 >= len(prepared.fallbacks):
            return response  # nothing to hop to: untouched
        return response._with_stream(_spliced(prepared, response, call_next))
    run = BodyRun(prepared)
    while response.is_success:
        try:
            message = response.json()
        except ValueError:
            return response
        hop = run.next_hop(message)
        if hop is None:
            break
        # Both were (or will be) billed: the refused reply and the hop's request.
        count_replaced(request, message)
        count_hop(hop[0])
        response, _ = _send(*hop, call_next)
        if response.is_success:
            run.accepted()
    if response.is_success and run.seams:
        seamed = run.seamed(response.json())
        if seamed is not None:
            return response._with_body(json.dumps(seamed).encode())
    return response


def _spliced(prepared: Prepared, primary: APIResponse, call_next: CallNext) -> Iterator[bytes]:
    """The body of the spliced stream (see the module notes)."""
    run = StreamRun(prepared)
    current: APIResponse | None = primary
    try:
        reader = run.primary()
        for data in _drive(primary, reader):
            yield data
        if not run.begin(reader.result()):
            return
        primary.close()
        current = None
        while (hop_request := run.hop_request()) is not None:
            if run.first_try:  # a passed usage limit ends the stream here, unsent
                count_hop(hop_request)
            try:
                response, resent = _send(hop_request, run.entry, call_next)
            except Exception as exc:  # not Cancelled: a failed hop, skipped
                run.hop_raised(exc)
                continue
            if resent:
                run.resent_without_speed()
            if not response.is_success:
                error = response.read_bounded(MAX_ERROR_BODY)
                response.close()
                run.hop_rejected(response.status_code, error.decode("utf-8", "replace"))
                continue
            current = response
            reader = run.hop_reader()
            for data in _drive(response, reader):
                yield data
            current = None
            response.close()
            if not run.hop_ended(reader.result()):
                return
        yield encode_sse(run.failure_frames())
    finally:
        if current is not None:
            current.close()


def _drive(response: APIResponse, reader: HopReader) -> Iterator[bytes]:
    """One hop's body through its reader: the SSE bytes to forward, per chunk read."""
    decoder = decoder_for(response.headers.get("content-type"))
    chunks = response.iter_chunks()
    try:
        for chunk in chunks:
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
        chunks.close()  # type: ignore[attr-defined]


register_fallback_driver("sync", handle)
