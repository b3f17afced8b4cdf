"""Micro-benchmark of the sans-IO core alone: no sockets, no event loop.

For each scenario body, split one chunk per SSE event as the API sends it, measure per
event: ``decode`` (SSEDecoder.receive_data + next_event), ``parse`` (parse_event into
the pydantic event), ``accumulate`` (MessageAccumulator.apply, derived events included),
``engine`` (StreamEngine.receive_data: all three), ``engine_stream`` (the engine as a
stream's session makes it: canonical deltas applied without their pydantic event) and
``engine_raw`` (``create(stream=True)``'s: decoded and validated, not accumulated). Best of
``--repeats`` runs (the minimum is the least noisy estimate of a CPU-bound loop).

Usage: ``python benchmarks/core_micro.py [--quick] [--repeats N]``; prints JSON. A
``--quick`` run of ``run.py`` calls ``main(["--quick"])`` in its own process instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from scenarios import build

from trio_msgstream._core.stream.accumulate import MessageAccumulator
from trio_msgstream._core.stream.engine import StreamEngine
from trio_msgstream._core.stream.events import parse_event
from trio_msgstream._core.stream.sse import NEED_DATA, SSEDecoder
from trio_msgstream.testing import split_events


def _best(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(key: str, repeats: int) -> dict[str, Any]:
    body = build(key).body
    chunks = split_events(body)

    def decode() -> list[Any]:
        decoder = SSEDecoder()
        out = []
        for chunk in chunks:
            decoder.receive_data(chunk)
            while (ev := decoder.next_event()) is not NEED_DATA:
                out.append(ev)
        return out

    sse_events = decode()
    n = len(sse_events)
    pairs = [(e.event, e.data) for e in sse_events]

    def parse() -> None:
        # Each event is dropped at once, as in a stream: keeping 50,000 of them alive
        # would mostly measure the cyclic GC walking them.
        for name, data in pairs:
            parse_event(name, data)

    parsed = [parse_event(name, data) for name, data in pairs]

    def accumulate() -> int:
        acc = MessageAccumulator()
        apply = acc.apply
        k = 0
        for event in parsed:
            k += len(apply(event))
        return k

    def engine_run(**options: bool) -> Callable[[], int]:
        # The engine fed one chunk per event, as the runtime calls it.
        def run() -> int:
            eng = StreamEngine(**options)
            feed = eng.receive_data
            k = 0
            for chunk in chunks:
                k += len(feed(chunk))
            eng.receive_eof()
            return k

        return run

    engine = engine_run()
    # As a stream's session makes it: canonical deltas applied without their pydantic
    # event (built only if a consumer is handed it).
    engine_stream = engine_run(lazy_deltas=True)
    engine_raw = engine_run(accumulate=False)

    result: dict[str, Any] = {"scenario": key, "events": n}
    for name, fn in (
        ("decode", decode),
        ("parse", parse),
        ("accumulate", accumulate),
        ("engine", engine),
        ("engine_stream", engine_stream),
        ("engine_raw", engine_raw),
    ):
        result[f"{name}_us_per_event"] = _best(fn, repeats) / n * 1e6
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    suffix = ":1:100" if args.quick else ":1"
    keys = [f"{kind}{suffix}" for kind in ("short_chat", "long_text", "big_tool", "mixed")]
    print(json.dumps([measure(key, 2 if args.quick else args.repeats) for key in keys]))


if __name__ == "__main__":
    main()
