"""What a waiting stream keeps, in a fresh process (run by ``startup.py``).

Usage::

    python benchmarks/waiting_probe.py {ours_text,raw_httpx} N

Starts ``arrival_server.py``, makes one warm-up stream, then opens ``N`` concurrent
streams of one text delta every 5 s; once every stream has handed out its first text
(each task then waits for the next, as a consumer does), it counts the bytes
(tracemalloc, against the state before the streams) and the GC-tracked objects per
stream. Prints one JSON object, with the object types that grew by at least one per
stream.
"""

from __future__ import annotations

import collections
import gc
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import trio
from arrival_procs import ArrivalServer

MODEL = "paced0.2/text:4"
MESSAGES = [{"role": "user", "content": "hi"}]
HEADERS = {"content-type": "application/json", "x-api-key": "x", "anthropic-version": "2023-06-01"}


def census() -> tuple[int, collections.Counter[str]]:
    gc.collect()
    objects = gc.get_objects()
    kinds = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    return len(objects), kinds


async def main(url: str, mode: str, n: int) -> dict[str, Any]:
    import trio_msgstream as tms

    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
        timeout=httpx.Timeout(600, connect=60),
    )
    client = tms.AsyncClient(base_url=url, api_key="x", http_client=http, max_retries=0)
    body = json.dumps({"model": MODEL, "max_tokens": 10, "messages": MESSAGES}).encode()
    state = {"ready": 0, "want": 1, "event": trio.Event()}

    def first() -> None:
        state["ready"] += 1
        if state["ready"] == state["want"]:
            state["event"].set()

    async def ours() -> None:
        async with trio.open_nursery() as nursery:
            async with tms.open_message_stream(
                nursery, client, model=MODEL, max_tokens=10, messages=MESSAGES
            ) as stream:
                seen = False
                async for _text in stream.text_stream:
                    if not seen:
                        seen = True
                        first()

    async def raw() -> None:
        async with http.stream("POST", url + "/v1/messages", content=body, headers=HEADERS) as r:
            seen = False
            async for chunk in r.aiter_bytes():
                if not seen and b"text_delta" in chunk:
                    seen = True
                    first()

    one = ours if mode == "ours_text" else raw
    async with trio.open_nursery() as nursery:  # warm-up: imports, one connection
        nursery.start_soon(one)
        await state["event"].wait()
        nursery.cancel_scope.cancel()
    state.update(ready=0, want=n, event=trio.Event())
    tracemalloc.start(1)
    count0, kinds0 = census()
    mem0 = tracemalloc.get_traced_memory()[0]
    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(one)
        await state["event"].wait()
        await trio.sleep(0.2)
        mem1 = tracemalloc.get_traced_memory()[0]
        count1, kinds1 = census()
        nursery.cancel_scope.cancel()
    await http.aclose()
    grew = {k: (kinds1[k] - kinds0[k]) / n for k in kinds1 if kinds1[k] - kinds0[k] >= n}
    return {
        "mode": mode,
        "streams": n,
        "kib_per_stream": (mem1 - mem0) / n / 1024,
        "objects_per_stream": (count1 - count0) / n,
        "kinds": dict(sorted(grew.items(), key=lambda kv: -kv[1])),
    }


if __name__ == "__main__":
    server = ArrivalServer(None)
    try:
        print(json.dumps(trio.run(main, server.url, sys.argv[1], int(sys.argv[2]))))
    finally:
        server.close()
