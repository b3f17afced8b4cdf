"""The connect timeout, against a loopback listener that never completes handshakes.

A listening socket with a backlog of 0 that never accepts: once its accept queue is
full, Linux drops further SYNs, so a new connection attempt neither succeeds nor fails.
Under the autojump clock the connect timeout then fires at once, exactly.
"""

from __future__ import annotations

import sys

import pytest
import trio
import trio.testing
from _shared import API_KEY, PARAMS

import trio_msgstream as tms

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="relies on Linux dropping SYNs on a full backlog"
)
# ``blackhole`` (the listener) is a fixture of tests/conftest.py.


async def test_connect_timeout_fires_with_which_connect(
    blackhole: str, autojump_clock: trio.testing.MockClock
) -> None:
    client = tms.AsyncClient(
        base_url=blackhole, api_key=API_KEY, max_retries=1, timeout=tms.Timeout(connect=3.0)
    )
    async with client:
        start = trio.current_time()
        with trio.fail_after(100), pytest.raises(tms.APITimeoutError) as info:
            async with client.messages.stream(**PARAMS):
                pass
    assert info.value.which == "connect"
    assert info.value.partial_message is None
    # Two attempts of 3 s each, plus one backoff of at most 0.5 s.
    elapsed = trio.current_time() - start
    assert 6.0 <= elapsed <= 6.5 + 1e-6
