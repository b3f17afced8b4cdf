"""Fake Message Batches endpoints for the fake Anthropic server.

Theory of operation: :class:`FakeBatches` adds the batch routes to a running
:class:`~trio_msgstream.testing.FakeAnthropicServer` and keeps every batch in memory.
A batch is ``in_progress`` when created and ends on its ``polls_until_ended``-th
retrieve (so a test decides, in polls, how long a batch runs: no clock involved).
Each request's outcome is decided when the batch ends: ``outcomes[custom_id]`` when
set, else ``default_outcome``. A succeeded request's message is built by ``reply``.

The results file is produced line by line while it is sent, so a batch of any size
(hundreds of megabytes of results) costs the server one line of memory at a time.

Errors follow the API: an unknown id is ``404 not_found_error``; asking for the
results, or deleting, before the batch has ended is ``400 invalid_request_error``.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from ._responses import ScriptedResponse
from ._server import FakeAnthropicServer, RecordedRequest, RouteHandler
from ._transcripts import DEFAULT_MODEL

__all__ = ["FakeBatch", "FakeBatches", "BatchOutcome"]

BatchOutcome = Literal["succeeded", "errored", "canceled", "expired"]
"""What happened to one request of a batch."""

Endpoint = Literal["create", "retrieve", "list", "cancel", "delete", "results"]


@dataclass
class _Failure:
    endpoint: Endpoint | None
    after: int
    times: int
    response: ScriptedResponse


_RESULTS_CHUNK = 64 * 1024
_batch_numbers = itertools.count(1)
_TEXT_SLOT = "\x00text\x00"
_ENCODED_SLOT = json.dumps(_TEXT_SLOT)


@functools.lru_cache(maxsize=16)
def _encode_text(text: str) -> str:
    return json.dumps(text)


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def default_reply(custom_id: str, params: Mapping[str, Any]) -> str:
    """The text of a succeeded request: names the request and echoes its prompt."""
    prompt = ""
    messages = params.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], Mapping):
        content = messages[-1].get("content")
        if isinstance(content, str):
            prompt = content
        elif isinstance(content, list):
            prompt = " ".join(
                str(block.get("text", "")) for block in content if isinstance(block, Mapping)
            )
    return f"Reply to {custom_id}: {prompt[:200]}"


@dataclass
class FakeBatch:
    """One batch held by :class:`FakeBatches`.

    Attributes:
        id: The batch id (``msgbatch_...``).
        requests: The requests as uploaded (``custom_id`` and ``params``).
        polls_until_ended: Retrieves that end the batch.
        polls: Retrieves so far.
        status: ``"in_progress"``, ``"canceling"`` or ``"ended"``.
        created_at: Creation time (UTC).
        results_lines: Raw lines to serve as the results instead of the computed ones.
    """

    id: str
    requests: list[dict[str, Any]]
    polls_until_ended: int
    polls: int = 0
    status: str = "in_progress"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    processed_before_cancel: int | None = None
    results_lines: list[bytes] | None = None


class FakeBatches:
    """The Message Batches endpoints, added to a fake server.

    Args:
        server: The server to add the routes to (running, or not yet).
        polls_until_ended: The batch ends on this retrieve (``0``: already ended when
            created).
        default_outcome: The outcome of a request without an entry in ``outcomes``.
        reply: Builds the text of a succeeded request from its ``custom_id`` and
            params.

    Attributes:
        batches: Every batch by id (deleted ones removed).
        outcomes: ``custom_id`` -> outcome, for requests that should not have the
            default one.
        results_chunk_delay: Seconds between the pieces (~64 kB) of a results file.

    Example::

        async with open_fake_anthropic() as server:
            fake = FakeBatches(server, polls_until_ended=3)
            fake.outcomes["bad-1"] = "errored"
            ...  # point a client at server.base_url
    """

    def __init__(
        self,
        server: FakeAnthropicServer,
        *,
        polls_until_ended: int = 2,
        default_outcome: BatchOutcome = "succeeded",
        reply: Callable[[str, Mapping[str, Any]], str] = default_reply,
    ) -> None:
        if polls_until_ended < 0:
            raise ValueError("polls_until_ended must be >= 0")
        self.server = server
        self.polls_until_ended = polls_until_ended
        self.default_outcome: BatchOutcome = default_outcome
        self.reply = reply
        self.outcomes: dict[str, BatchOutcome] = {}
        self.results_chunk_delay: float = 0.0
        self.batches: dict[str, FakeBatch] = {}
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        base = "/v1/messages/batches"
        server.add_route("POST", base, self._route("create", self._create))
        server.add_route("GET", base, self._route("list", self._list))
        server.add_route("GET", base + "/{batch_id}", self._route("retrieve", self._retrieve))
        server.add_route("POST", base + "/{batch_id}/cancel", self._route("cancel", self._cancel))
        server.add_route("DELETE", base + "/{batch_id}", self._route("delete", self._delete))
        server.add_route("GET", base + "/{batch_id}/results", self._route("results", self._results))

    # ---- scripting

    def fail_next(
        self,
        k: int,
        response: ScriptedResponse,
        *,
        endpoint: Endpoint | None = None,
        after: int = 0,
    ) -> None:
        """Answer ``k`` batch requests with ``response`` (a 429, a 529, ...).

        Args:
            k: How many requests fail.
            response: What they get.
            endpoint: Only requests to this endpoint (``"create"``, ``"retrieve"``,
                ``"list"``, ``"cancel"``, ``"delete"``, ``"results"``) count;
                ``None``: any batch request.
            after: Let this many of those requests through first.
        """
        with self._lock:
            self._failures.append(_Failure(endpoint, after, k, response))

    def set_results(self, batch_id: str, lines: Iterable[bytes | Mapping[str, Any]]) -> None:
        """Serve these lines as the batch's results file (mappings are JSON-encoded),
        e.g. to include a malformed line."""
        encoded = [
            line if isinstance(line, bytes) else json.dumps(line).encode("utf-8") for line in lines
        ]
        with self._lock:
            self.batches[batch_id].results_lines = encoded

    def end(self, batch_id: str) -> None:
        """End a batch now, without waiting for its polls."""
        with self._lock:
            self._end(self.batches[batch_id])

    # ---- objects

    def batch_object(self, batch: FakeBatch) -> dict[str, Any]:
        """The batch as the API shows it."""
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.status == "ended":
            for outcome in self._outcomes(batch):
                counts[outcome] += 1
        else:
            counts["processing"] = len(batch.requests)
        base = self.server.base_url
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _timestamp(batch.created_at),
            "expires_at": _timestamp(batch.created_at + timedelta(hours=24)),
            "ended_at": _timestamp(batch.ended_at) if batch.ended_at else None,
            "archived_at": None,
            "cancel_initiated_at": (
                _timestamp(batch.cancel_initiated_at) if batch.cancel_initiated_at else None
            ),
            "results_url": f"{base}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _outcomes(self, batch: FakeBatch) -> Iterator[BatchOutcome]:
        for index, request in enumerate(batch.requests):
            yield self._outcome(batch, index, request["custom_id"])

    def _outcome(self, batch: FakeBatch, index: int, custom_id: str) -> BatchOutcome:
        if batch.processed_before_cancel is not None and index >= batch.processed_before_cancel:
            return "canceled"
        return self.outcomes.get(custom_id, self.default_outcome)

    def result_line(self, batch: FakeBatch, index: int) -> bytes:
        """One line of the results file: the outcome of request ``index``."""
        request = batch.requests[index]
        custom_id = request["custom_id"]
        outcome = self._outcome(batch, index, custom_id)
        result: dict[str, Any] = {"type": outcome}
        text = ""
        if outcome == "succeeded":
            params = request.get("params") or {}
            text = self.reply(custom_id, params)
            result["message"] = {
                "id": f"msg_fake{batch.id[-8:]}{index:08d}",
                "type": "message",
                "role": "assistant",
                "model": params.get("model", DEFAULT_MODEL),
                "content": [{"type": "text", "text": _TEXT_SLOT}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": max(1, len(text) // 4)},
            }
        elif outcome == "errored":
            result["error"] = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "fake: request errored"},
            }
        line = json.dumps({"custom_id": custom_id, "result": result}, separators=(",", ":"))
        if text:
            # A long reply is encoded once, not once per line (large results files).
            line = line.replace(_ENCODED_SLOT, _encode_text(text), 1)
        return line.encode("utf-8") + b"\n"

    # ---- routes

    def _route(self, endpoint: Endpoint, answer: _Answer) -> RouteHandler:
        """A route: a scripted failure first, then (for a ``{batch_id}`` route) the
        batch or a 404, then ``answer`` under the lock; a mapping it returns is the
        200 JSON body."""

        def handle(
            server: FakeAnthropicServer, request: RecordedRequest, params: Mapping[str, str]
        ) -> ScriptedResponse:
            failure = self._failure(endpoint)
            if failure is not None:
                return failure
            batch = None
            if "batch_id" in params:
                batch = self.batches.get(params["batch_id"])
                if batch is None:
                    message = f"No Message Batch found with id {params['batch_id']!r}"
                    return ScriptedResponse.error(404, "not_found_error", message)
            with self._lock:
                answered = answer(request, batch)
            if isinstance(answered, ScriptedResponse):
                return answered
            return ScriptedResponse(
                status=200,
                headers=[("content-type", "application/json")],
                body=json.dumps(answered).encode("utf-8"),
            )

        return handle

    def _failure(self, endpoint: Endpoint) -> ScriptedResponse | None:
        with self._lock:
            for rule in self._failures:
                if rule.endpoint not in (None, endpoint) or rule.times <= 0:
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    return None
                rule.times -= 1
                return rule.response
        return None

    def _end(self, batch: FakeBatch) -> None:
        if batch.status != "ended":
            batch.status = "ended"
            batch.ended_at = datetime.now(UTC)

    def _create(self, request: RecordedRequest, _: FakeBatch | None) -> _Answered:
        body = request.json
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return _invalid("requests: a non-empty list is required")
        for item in requests:
            if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
                return _invalid("requests: each needs a custom_id and params")
        batch = FakeBatch(
            id=f"msgbatch_fake{next(_batch_numbers):016d}",
            requests=requests,
            polls_until_ended=self.polls_until_ended,
        )
        if batch.polls_until_ended == 0:
            self._end(batch)
        self.batches[batch.id] = batch
        return self.batch_object(batch)

    def _retrieve(self, _: RecordedRequest, batch: FakeBatch | None) -> _Answered:
        assert batch is not None
        batch.polls += 1
        if batch.status == "canceling" or batch.polls >= batch.polls_until_ended:
            self._end(batch)
        return self.batch_object(batch)

    def _list(self, request: RecordedRequest, _: FakeBatch | None) -> _Answered:
        query = dict(parse_qsl(request.query))
        limit = int(query.get("limit", "20"))
        ordered = list(reversed(self.batches.values()))  # most recent first
        ids = [batch.id for batch in ordered]
        start, stop = 0, len(ordered)
        if "after_id" in query and query["after_id"] in ids:
            start = ids.index(query["after_id"]) + 1
        if "before_id" in query and query["before_id"] in ids:
            stop = ids.index(query["before_id"])
            start = max(stop - limit, 0)
        page = ordered[start : min(start + limit, stop)]
        has_more = (start + len(page) < stop) if "before_id" not in query else start > 0
        data = [self.batch_object(batch) for batch in page]
        first_id, last_id = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return {"data": data, "has_more": has_more, "first_id": first_id, "last_id": last_id}

    def _cancel(self, _: RecordedRequest, batch: FakeBatch | None) -> _Answered:
        assert batch is not None
        if batch.status == "in_progress":
            batch.status = "canceling"
            batch.cancel_initiated_at = datetime.now(UTC)
            # The requests "processed" so far keep their outcome; the rest are canceled.
            done = batch.polls / max(batch.polls_until_ended, 1)
            batch.processed_before_cancel = int(len(batch.requests) * min(done, 1.0))
        return self.batch_object(batch)

    def _delete(self, _: RecordedRequest, batch: FakeBatch | None) -> _Answered:
        assert batch is not None
        refused = _unless_ended(batch, "cancel it and wait for it to end before deleting it")
        if refused is not None:
            return refused
        del self.batches[batch.id]
        return {"id": batch.id, "type": "message_batch_deleted"}

    def _results(self, _: RecordedRequest, batch: FakeBatch | None) -> _Answered:
        assert batch is not None
        refused = _unless_ended(batch, "results are available once processing has ended")
        return refused or _ResultsFile(
            headers=[("content-type", "application/binary")],
            chunked_encoding=True,
            chunk_delay=self.results_chunk_delay,
            pieces=_LazyChunks(self, batch),
        )


_Answered = Mapping[str, Any] | ScriptedResponse
_Answer = Callable[[RecordedRequest, "FakeBatch | None"], _Answered]


def _invalid(message: str) -> ScriptedResponse:
    return ScriptedResponse.error(400, "invalid_request_error", message)


def _unless_ended(batch: FakeBatch, advice: str) -> ScriptedResponse | None:
    """The API's 400 for a request that needs an ended batch, or ``None``."""
    if batch.status == "ended":
        return None
    return _invalid(f"Message Batch {batch.id} has not ended ({batch.status}): {advice}")


class _LazyChunks(Sequence[bytes]):
    """The results file, cut into ~64 kB pieces made only as they are sent.

    The server plays a response by iterating its pieces and asks ``len()`` only to
    spot the last one (to send the end of the message with it). The length given is
    an upper bound (a piece holds at least one line), so the end of the message goes
    out in a write of its own; the body is never held whole.
    """

    def __init__(self, fake: FakeBatches, batch: FakeBatch) -> None:
        self._fake = fake
        self._batch = batch
        lines = batch.results_lines
        self._bound = max(len(lines) if lines is not None else len(batch.requests), 1)

    def __len__(self) -> int:
        return self._bound

    def __getitem__(self, index: Any) -> Any:
        raise TypeError("the results file is read in order")

    def __iter__(self) -> Iterator[bytes]:
        batch = self._batch
        lines: Iterable[bytes]
        if batch.results_lines is not None:
            lines = (line if line.endswith(b"\n") else line + b"\n" for line in batch.results_lines)
        else:
            lines = (self._fake.result_line(batch, i) for i in range(len(batch.requests)))
        pending: list[bytes] = []
        size = 0
        for line in lines:
            pending.append(line)
            size += len(line)
            if size >= _RESULTS_CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)


@dataclass
class _ResultsFile(ScriptedResponse):
    """A 200 response whose body is produced while it is sent."""

    pieces: Sequence[bytes] = ()

    def network_chunks(self) -> list[bytes]:
        return self.pieces  # type: ignore[return-value]  # read once, in order
