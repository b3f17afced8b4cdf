"""Run the fake Anthropic server in a background thread, for synchronous code."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import trio

from ._server import FakeAnthropicServer, Responder, serve_fake_anthropic

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ServerThread", "fake_anthropic_in_thread", "start_server_thread"]


@contextmanager
def fake_anthropic_in_thread(
    *,
    responder: Responder | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[FakeAnthropicServer]:
    """Run a fake Anthropic server in its own thread (with its own ``trio.run``).

    For tests of synchronous clients, or synchronous users. The thread is not a daemon: it
    is stopped and joined when the ``with`` block exits. :meth:`~FakeAnthropicServer.enqueue`,
    :meth:`~FakeAnthropicServer.fail_first` and :meth:`~FakeAnthropicServer.reset` may be
    called from any thread; ``requests`` and the counters can be read from any thread.
    ``wait_for_requests`` belongs to the server's Trio run and cannot be awaited here.

    Args:
        responder: Builds responses when no script is queued; defaults to
            :func:`~trio_msgstream.testing.default_responder`.
        host: Address to listen on.
        port: Port to listen on; ``0`` picks a free one.

    Yields:
        The running server, already listening.

    Raises:
        BaseException: Whatever made the server fail to start (e.g. ``OSError`` if the
            port is taken), or an error that crashed it while running.

    Example:
        >>> with fake_anthropic_in_thread() as server:  # doctest: +SKIP
        ...     httpx.post(f"{server.base_url}/v1/messages", json={...})
    """
    running = start_server_thread(responder=responder, host=host, port=port, daemon=False)
    try:
        yield running.server
    except BaseException:
        running.stop(reraise=False)
        raise
    running.stop()


class ServerThread:
    """A fake server running in a thread of its own (see :func:`start_server_thread`)."""

    def __init__(self, thread: threading.Thread, state: dict[str, object]) -> None:
        self._thread = thread
        self._state = state

    @property
    def server(self) -> FakeAnthropicServer:
        server = self._state["server"]
        assert isinstance(server, FakeAnthropicServer)
        return server

    def stop(self, *, reraise: bool = True) -> None:
        """Stop the server and join its thread; re-raise what crashed it, if anything
        (unless ``reraise`` is false)."""
        token = self._state.get("token")
        cancel_scope = self._state.get("cancel_scope")
        if isinstance(token, trio.lowlevel.TrioToken) and isinstance(
            cancel_scope, trio.CancelScope
        ):
            try:
                trio.from_thread.run_sync(cancel_scope.cancel, trio_token=token)
            except trio.RunFinishedError:
                pass
        self._thread.join()
        if reraise and "error" in self._state:
            raise self._state["error"]  # type: ignore[misc]


def start_server_thread(
    *, responder: Responder | None = None, host: str = "127.0.0.1", port: int = 0, daemon: bool
) -> ServerThread:
    """Start a fake server in a new thread (its own ``trio.run``); return once it listens.

    A daemon thread never needs stopping (it ends with the process).

    Raises:
        BaseException: Whatever made the server fail to start.
    """
    ready = threading.Event()
    state: dict[str, object] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            state["token"] = trio.lowlevel.current_trio_token()
            state["cancel_scope"] = nursery.cancel_scope
            state["server"] = await nursery.start(
                partial(serve_fake_anthropic, host=host, port=port, responder=responder)
            )
            ready.set()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:
            state["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="trio_msgstream-fake-anthropic", daemon=daemon)
    thread.start()
    ready.wait()
    if "error" in state:
        thread.join()
        raise state["error"]  # type: ignore[misc]
    return ServerThread(thread, state)
