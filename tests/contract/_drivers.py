"""One adapter per client, so that every contract test is written once.

A contract test talks to a :class:`Driver`: ``await driver.final(...)``,
``await driver.raw(...)``, ``await driver.create(...)``, ... Each driver runs the same
operation on its client against the same fake server (served in the test's own Trio
run) and lets the client's errors out as they are:

- :class:`AsyncDriver` runs the :class:`~trio_msgstream.AsyncClient` in the test's
  task, on trio's ``MockClock`` with autojump: every wait is virtual, so times are
  exact and a 600 s stall costs nothing.
- :class:`SyncDriver` runs the sync :class:`~trio_msgstream.Client` in a worker
  thread (``trio.to_thread.run_sync``) on the real clock, with small timeouts.

Times in the tests are written in ticks of ``driver.tick`` seconds (1 s of virtual
time for the async client, 50 ms of real time for the sync one). Only the async
driver's clock is exact (``driver.exact``); the sync tests never assert an upper bound
on the time something took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio
import trio.testing
from _shared import API_KEY, PARAMS

import trio_msgstream as tms
from trio_msgstream.testing import FakeAnthropicServer, FakeBedrock, FakeFoundry, FakeVertex

T = TypeVar("T")


@dataclass
class Closed:
    """What a test sees around ``close()``."""

    seen: list[str]
    """Event types read before the close."""
    after: list[str] = field(default_factory=list)
    """Event types an iteration after the close still produced."""
    final: BaseException | tms.Message | None = None
    """What ``get_final_message()`` after the close returned or raised."""


class HandlerFailed(Exception):
    """Raised by the recording handler's ``on_text`` when a test asks for it."""


def _hook_log(log: list[str], name: str, error: BaseException | None = None) -> None:
    log.append(f"{name}:{type(error).__name__}" if error is not None else name)


class Driver:
    """The operations every contract test uses; see the module docstring."""

    kind: str
    tick: float
    exact: bool

    platform = "anthropic"
    """The platform the client speaks to (its fake endpoints on ``server``)."""

    def __init__(self, server: FakeAnthropicServer) -> None:
        self.server = server
        self.log: list[str] = []
        """The end hooks (and ``on_message``) of every stream of the test, in order."""
        self.released_at_stop: bool | None = None
        """Whether the response was already closed when ``get_final_message()``
        returned, or when a raw stream handed out ``message_stop``."""
        self.stop_time: float | None = None
        """When that was (``now()``)."""
        self.fail_on_text = False
        """The recording handler's ``on_text`` raises :class:`HandlerFailed`."""

    def now(self) -> float:
        raise NotImplementedError

    def streamed(self, index: int) -> bool:
        """Whether request ``index`` asked for a stream (in the platform's way)."""
        request = self.server.requests[index]
        if self.platform == "bedrock":
            return request.path.endswith("/invoke-with-response-stream")
        return bool(request.json.get("stream"))

    def _at_stop(self, response: Any) -> None:
        self.released_at_stop = response.is_closed
        self.stop_time = self.now()

    async def final(self, **kw: Any) -> tms.Message:
        """``messages.stream(...)`` with a recording handler; ``get_final_message()``."""
        raise NotImplementedError

    async def events(self, **kw: Any) -> list[str]:
        """``messages.stream(...)``, iterated to its end: the event types."""
        raise NotImplementedError

    async def raw(self, **kw: Any) -> list[Any]:
        """``messages.create(stream=True, ...)``, iterated to its end: the events."""
        raise NotImplementedError

    async def create(self, **kw: Any) -> tms.Message:
        """``messages.create(...)``: the whole message."""
        raise NotImplementedError

    async def close_after(self, n: int, *, twice: bool = False, **kw: Any) -> Closed:
        """Read ``n`` events of a stream, ``close()`` it (twice), iterate on, then ask
        for the final message (inside the ``with`` block)."""
        raise NotImplementedError

    async def close_while_reading(self, n: int, **kw: Any) -> Closed:
        """Close a stream from another task/thread while its consumer waits for the
        network after ``n`` events; the consumer's iteration must end quietly."""
        raise NotImplementedError

    async def leave_early(self, n: int, **kw: Any) -> list[str]:
        """Leave the ``with`` block after ``n`` events (``break``)."""
        raise NotImplementedError

    async def raw_close_after(self, n: int, **kw: Any) -> Closed:
        """Read ``n`` raw events, ``close()``, iterate on."""
        raise NotImplementedError

    async def wait_server_idle(self) -> None:
        """Wait until the server answers no request (the client let the response go)."""
        with trio.fail_after(5 if not self.exact else 600):
            # A counter of the server (maybe run by another thread): polled.
            while self.server.active_requests:  # noqa: ASYNC110
                await trio.sleep(0.01)


class AsyncDriver(Driver):
    kind = "async"
    tick = 1.0
    exact = True

    def __init__(self, server: FakeAnthropicServer, client: tms.AsyncClient) -> None:
        super().__init__(server)
        self.client = client
        log = self.log
        driver = self

        class Recorder(tms.MessageStream):
            async def on_text(self, text: str, snapshot: str) -> None:
                if driver.fail_on_text:
                    raise HandlerFailed(text)

            async def on_message(self, message: tms.Message) -> None:
                log.append("on_message")

            async def on_exception(self, exception: Exception) -> None:
                _hook_log(log, "on_exception", exception)

            async def on_timeout(self) -> None:
                log.append("on_timeout")

            async def on_end(self) -> None:
                log.append("on_end")

        self.handler = Recorder

    def now(self) -> float:
        return trio.current_time()

    def _stream(self, **kw: Any) -> Any:
        return self.client.messages.stream(**PARAMS, event_handler=self.handler, **kw)

    async def final(self, **kw: Any) -> tms.Message:
        async with self._stream(**kw) as stream:
            message = await stream.get_final_message()
            self._at_stop(stream.response)
            return message

    async def events(self, **kw: Any) -> list[str]:
        async with self._stream(**kw) as stream:
            return [event.type async for event in stream]

    async def raw(self, **kw: Any) -> list[Any]:
        async with await self.client.messages.create(stream=True, **PARAMS, **kw) as events:
            seen = []
            async for event in events:
                seen.append(event)
                if event.type == "message_stop":
                    self._at_stop(events.response)
            return seen

    async def create(self, **kw: Any) -> tms.Message:
        return await self.client.messages.create(**PARAMS, **kw)

    async def close_after(self, n: int, *, twice: bool = False, **kw: Any) -> Closed:
        async with self._stream(**kw) as stream:
            result = Closed(seen=await _take(stream, n))
            await stream.close()
            if twice:
                await stream.close()
            result.after = [event.type async for event in stream]
            result.final = await _outcome_async(stream.get_final_message)
        return result

    async def close_while_reading(self, n: int, **kw: Any) -> Closed:
        async with self._stream(**kw) as stream:
            result = Closed(seen=[])
            reached = trio.Event()

            async def consume() -> None:
                async for event in stream:
                    result.seen.append(event.type)
                    if len(result.seen) >= n:
                        reached.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(consume)
                await reached.wait()
                await trio.testing.wait_all_tasks_blocked()
                await stream.close()
            result.final = await _outcome_async(stream.get_final_message)
        return result

    async def leave_early(self, n: int, **kw: Any) -> list[str]:
        async with self._stream(**kw) as stream:
            seen = await _take(stream, n)
        return seen

    async def raw_close_after(self, n: int, **kw: Any) -> Closed:
        async with await self.client.messages.create(stream=True, **PARAMS, **kw) as events:
            result = Closed(seen=await _take(events, n))
            await events.close()
            result.after = [event.type async for event in events]
        return result


async def _take(stream: Any, n: int) -> list[str]:
    seen: list[str] = []
    if n == 0:
        return seen
    async for event in stream:
        seen.append(event.type)
        if len(seen) == n:
            break
    return seen


async def _outcome_async(fn: Callable[[], Any]) -> Any:
    try:
        return await fn()
    except Exception as exc:
        return exc


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return exc


class SyncDriver(Driver):
    kind = "sync"
    tick = 0.05
    exact = False

    def __init__(self, server: FakeAnthropicServer, client: tms.Client) -> None:
        super().__init__(server)
        self.client = client
        log = self.log
        driver = self

        class Recorder(tms.SyncMessageStream):
            def on_text(self, text: str, snapshot: str) -> None:
                if driver.fail_on_text:
                    raise HandlerFailed(text)

            def on_message(self, message: tms.Message) -> None:
                log.append("on_message")

            def on_exception(self, exception: Exception) -> None:
                _hook_log(log, "on_exception", exception)

            def on_timeout(self) -> None:
                log.append("on_timeout")

            def on_end(self) -> None:
                log.append("on_end")

        self.handler = Recorder

    def now(self) -> float:
        return time.monotonic()

    async def _run(self, fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn)

    def _stream(self, **kw: Any) -> Any:
        return self.client.messages.stream(**PARAMS, event_handler=self.handler, **kw)

    async def final(self, **kw: Any) -> tms.Message:
        def run() -> tms.Message:
            with self._stream(**kw) as stream:
                message: tms.Message = stream.get_final_message()
                self._at_stop(stream.response)
                return message

        return await self._run(run)

    async def events(self, **kw: Any) -> list[str]:
        def run() -> list[str]:
            with self._stream(**kw) as stream:
                return [event.type for event in stream]

        return await self._run(run)

    async def raw(self, **kw: Any) -> list[Any]:
        def run() -> list[Any]:
            with self.client.messages.create(stream=True, **PARAMS, **kw) as events:
                seen = []
                for event in events:
                    seen.append(event)
                    if event.type == "message_stop":
                        self._at_stop(events.response)
                return seen

        return await self._run(run)

    async def create(self, **kw: Any) -> tms.Message:
        return await self._run(lambda: self.client.messages.create(**PARAMS, **kw))

    async def close_after(self, n: int, *, twice: bool = False, **kw: Any) -> Closed:
        def run() -> Closed:
            with self._stream(**kw) as stream:
                result = Closed(seen=_take_sync(stream, n))
                stream.close()
                if twice:
                    stream.close()
                result.after = [event.type for event in stream]
                result.final = _outcome(stream.get_final_message)
            return result

        return await self._run(run)

    async def close_while_reading(self, n: int, **kw: Any) -> Closed:
        def run() -> Closed:
            with self._stream(**kw) as stream:
                result = Closed(seen=[])
                failures: list[BaseException] = []

                def consume() -> None:
                    try:
                        for event in stream:
                            result.seen.append(event.type)
                    except BaseException as exc:  # reported below, in the test's thread
                        failures.append(exc)

                consumer = threading.Thread(target=consume)
                consumer.start()
                give_up = time.monotonic() + 5
                while len(result.seen) < n and time.monotonic() < give_up:
                    time.sleep(0.001)
                time.sleep(2 * self.tick)  # the consumer is now blocked in a read
                stream.close()
                consumer.join(5)
                assert not consumer.is_alive(), "close() did not end the blocked read"
                if failures:
                    raise failures[0]
                result.final = _outcome(stream.get_final_message)
            return result

        return await self._run(run)

    async def leave_early(self, n: int, **kw: Any) -> list[str]:
        def run() -> list[str]:
            with self._stream(**kw) as stream:
                return _take_sync(stream, n)

        return await self._run(run)

    async def raw_close_after(self, n: int, **kw: Any) -> Closed:
        def run() -> Closed:
            with self.client.messages.create(stream=True, **PARAMS, **kw) as events:
                result = Closed(seen=_take_sync(events, n))
                events.close()
                result.after = [event.type for event in events]
            return result

        return await self._run(run)


def _take_sync(stream: Any, n: int) -> list[str]:
    seen: list[str] = []
    if n == 0:
        return seen
    for event in stream:
        seen.append(event.type)
        if len(seen) == n:
            break
    return seen


PLATFORMS = ("anthropic", "bedrock", "vertex", "foundry")
"""The first-party API, and the cloud platforms (their fakes on the same server)."""


def make_api_client(kind: str, base_url: str, platform: str = "anthropic") -> Any:
    """The client of one kind on ``base_url`` (a server with ``platform``'s fake
    endpoints), without retries unless asked."""
    if platform == "anthropic":
        client_type = tms.AsyncClient if kind == "async" else tms.Client
        return client_type(base_url=base_url, api_key=API_KEY, max_retries=0)
    server = base_url.rstrip("/")
    kwargs: dict[str, Any] = {
        "bedrock": {
            "base_url": server,
            "aws_region": "us-east-1",
            "aws_access_key": "AKIDTRIOFAKE",
            "aws_secret_key": "fake-secret-key",
        },
        "vertex": {
            "base_url": server + "/v1",
            "region": "us-east5",
            "project_id": "fake-project",
            "access_token": "fake-vertex-token",
        },
        "foundry": {"base_url": server + "/anthropic", "api_key": "fake-foundry-key"},
    }[platform]
    classes = {
        "bedrock": (tms.AsyncAnthropicBedrock, tms.AnthropicBedrock),
        "vertex": (tms.AsyncAnthropicVertex, tms.AnthropicVertex),
        "foundry": (tms.AsyncAnthropicFoundry, tms.AnthropicFoundry),
    }[platform]
    return classes[0 if kind == "async" else 1](max_retries=0, **kwargs)


def add_platform_fake(server: FakeAnthropicServer, platform: str) -> None:
    """The fake endpoints of ``platform`` on ``server`` (the defaults
    :func:`make_api_client` uses)."""
    fakes = {"bedrock": FakeBedrock, "vertex": FakeVertex, "foundry": FakeFoundry}
    if platform in fakes:
        fakes[platform](server)


@asynccontextmanager
async def driver_at(driver: Driver, base_url: str) -> AsyncIterator[Driver]:
    """A driver of the same kind whose client talks to ``base_url`` instead."""
    client = make_api_client(driver.kind, base_url, driver.platform)
    if isinstance(driver, AsyncDriver):
        async with client:
            other: Driver = AsyncDriver(driver.server, client)
            other.platform = driver.platform
            yield other
    else:
        with client:
            other = SyncDriver(driver.server, client)
            other.platform = driver.platform
            yield other
