"""The traffic list: every message below the prefix as a row, each request paired with its answer.

Requests are decoded through the wire contract (`broker.topics`, `broker.envelope`) and only
their redacted summary is kept. An answer is paired by (device, request id) from its body, not
by its topic: an MQTT 5 device may have named any response topic below its `res/`. Rows live in
a ring buffer and requests waiting for an answer in a bounded table, so memory stays flat.

Retained messages are skipped: they were published earlier and come again on every reconnect
(a live message reaches a subscriber with the retain flag cleared, unless it asked for retain
as published). So are empty ones: they only delete a retained message (the handler service
clears retained requests that way). A request whose id cannot be read gets a row but waits
for nothing: its answer (with `"id": null`) is a row of its own.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict, deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from api.live.redaction import (
    Field,
    answer_summary,
    command_summary,
    printable,
    request_summary,
    status_summary,
)
from api.live.stats import NO_ANSWER, OK, Stats
from broker.envelope import REQUEST_ID_PATTERN, EnvelopeError, decode_request
from broker.topics import Topics
from core.formats import SLUG_PATTERN

REQUEST = "request"
ANSWER = "answer"
COMMAND = "command"
STATUS = "status"
MAX_OP = 64
# Answers and commands come from the server, not from devices; a full basket's answer can pass
# the requests' 4 KiB, so they have a limit of their own.
MAX_SERVER_PAYLOAD_BYTES = 64 * 1024
_SLUG = re.compile(SLUG_PATTERN)
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


def rfc3339(moment: datetime) -> str:
    """UTC with milliseconds: rows a few ms apart stay in order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pairs(summary: list[Field]) -> list[list[Any]]:
    return [[name, value] for name, value in summary]


@dataclass
class Row:
    """One line of the traffic list; a request's result and answer are filled in later."""

    seq: int
    at: datetime
    device: str
    kind: str
    op: str
    request_id: str | None
    summary: list[Field]
    result: str | None = None
    latency_ms: float | None = None
    answer: list[Field] = field(default_factory=list)

    def as_event(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": rfc3339(self.at),
            "device": self.device,
            "kind": self.kind,
            "op": self.op,
            "request_id": self.request_id,
            "summary": _pairs(self.summary),
            "result": self.result,
            "latency_ms": self.latency_ms,
            "answer": _pairs(self.answer),
        }

    def result_event(self) -> dict[str, Any]:
        return {
            "type": "result",
            "seq": self.seq,
            "device": self.device,
            "op": self.op,
            "result": self.result,
            "latency_ms": self.latency_ms,
            "answer": _pairs(self.answer),
        }


@dataclass(frozen=True)
class _Waiting:
    key: tuple[str, str]
    row: Row


@dataclass(frozen=True)
class _Parsed:
    kind: str
    device: str
    name: str


def _json_object(payload: bytes, max_bytes: int) -> dict[str, Any] | None:
    """A payload's JSON object, or None for anything else (too big, not UTF-8, not JSON)."""
    if len(payload) > max_bytes:
        return None
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _result(body: dict[str, Any]) -> str:
    """ "ok", or the answer's error code (any odd one printable and short)."""
    if body.get("ok") is True:
        return OK
    error = body.get("error")
    return (printable(error, MAX_OP) if isinstance(error, str) else "") or "error"


class Traffic:
    """Turns the monitor's messages into rows and events, and feeds the statistics."""

    def __init__(
        self,
        prefix: str,
        *,
        capacity: int = 500,
        answer_timeout_s: float = 30.0,
        max_pending: int = 4096,
        max_payload_bytes: int = 4096,
    ) -> None:
        self._topics = Topics(prefix)
        self._head = f"{prefix}/"
        self._answer_timeout_s = answer_timeout_s
        self._max_pending = max_pending
        self._max_payload_bytes = max_payload_bytes
        self._rows: deque[Row] = deque(maxlen=capacity)
        self._seq = 0
        # Waiting requests by seq (oldest first), and their seqs by (device, id), newest last.
        self._pending: OrderedDict[int, _Waiting] = OrderedDict()
        self._by_key: dict[tuple[str, str], list[int]] = {}
        self._stats = Stats()

    @property
    def stats(self) -> Stats:
        return self._stats

    @property
    def pending(self) -> int:
        return len(self._pending)

    def observe(
        self, topic: str, payload: bytes, *, retained: bool, now: datetime
    ) -> list[dict[str, Any]]:
        """Takes one message; the events it makes for the viewers (none for foreign topics)."""
        parsed = self._parse(topic)
        if parsed is None or retained or not payload:
            return []
        if parsed.kind == ANSWER:
            return self._answer(parsed, payload, now)
        events: list[dict[str, Any]] = []
        row = self._row(parsed, payload, now)
        if row.kind == REQUEST and row.request_id is not None:
            events += self._wait(_Waiting((row.device, row.request_id), row), now)
        return [*events, {"type": "row", "row": row.as_event()}]

    def expire(self, now: datetime) -> list[dict[str, Any]]:
        """Requests waiting longer than the answer timeout get "no_answer"; their events."""
        events = []
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if (now - oldest.row.at).total_seconds() <= self._answer_timeout_s:
                break
            events.append(self._give_up(oldest, now))
        return events

    def recent(self, devices: Collection[str] | None = None) -> list[dict[str, Any]]:
        """The kept rows, oldest first, as `Row.as_event` gives them; only `devices`' if given."""
        return [row.as_event() for row in self._rows if devices is None or row.device in devices]

    def _parse(self, topic: str) -> _Parsed | None:
        request = self._topics.parse_request(topic)
        if request is not None:
            parsed = _Parsed(REQUEST, request.slug, request.op)
        elif topic.startswith(self._head):
            device, _, rest = topic[len(self._head) :].partition("/")
            kind, _, name = rest.partition("/")
            if rest == STATUS:
                parsed = _Parsed(STATUS, device, STATUS)
            elif kind in ("res", "cmd"):
                parsed = _Parsed(ANSWER if kind == "res" else COMMAND, device, name)
            else:
                return None
        else:
            return None
        return parsed if _SLUG.fullmatch(parsed.device) else None

    def _add(self, row: Row) -> Row:
        self._rows.append(row)
        return row

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _row(self, parsed: _Parsed, payload: bytes, now: datetime) -> Row:
        request_id = None
        if parsed.kind == REQUEST:
            try:
                request = decode_request(payload, max_bytes=self._max_payload_bytes)
            except EnvelopeError as error:
                request_id, summary = error.request_id, []
            else:
                request_id, summary = request.id, request_summary(parsed.name, request.fields)
        elif parsed.kind == COMMAND:
            body = _json_object(payload, MAX_SERVER_PAYLOAD_BYTES)
            summary = command_summary(parsed.name, body) if body is not None else []
        else:
            body = _json_object(payload, self._max_payload_bytes)
            summary = status_summary(body) if body is not None else []
        return self._add(
            Row(
                seq=self._next_seq(),
                at=now,
                device=parsed.device,
                kind=parsed.kind,
                op=printable(parsed.name, MAX_OP),
                request_id=request_id,
                summary=summary,
            )
        )

    def _wait(self, waiting: _Waiting, now: datetime) -> list[dict[str, Any]]:
        """Enters a request in the pending table; the oldest waiting one gives way if it is full."""
        events = []
        while self._pending and len(self._pending) >= self._max_pending:
            events.append(self._give_up(next(iter(self._pending.values())), now))
        self._pending[waiting.row.seq] = waiting
        self._by_key.setdefault(waiting.key, []).append(waiting.row.seq)
        return events

    def _unwait(self, waiting: _Waiting) -> Row:
        seqs = self._by_key[waiting.key]
        seqs.remove(waiting.row.seq)
        if not seqs:
            del self._by_key[waiting.key]
        del self._pending[waiting.row.seq]
        return waiting.row

    def _give_up(self, waiting: _Waiting, now: datetime) -> dict[str, Any]:
        row = self._unwait(waiting)
        row.result = NO_ANSWER
        self._stats.record(row.op, NO_ANSWER, None, now)
        return row.result_event()

    def _answer(self, parsed: _Parsed, payload: bytes, now: datetime) -> list[dict[str, Any]]:
        body = _json_object(payload, MAX_SERVER_PAYLOAD_BYTES)
        if body is None:
            return []
        raw_id = body.get("id")
        request_id = raw_id if isinstance(raw_id, str) and _REQUEST_ID.fullmatch(raw_id) else None
        seqs = self._by_key.get((parsed.device, request_id)) if request_id else None
        result = _result(body)
        if not seqs:
            op = printable(parsed.name, MAX_OP)
            self._stats.record(op, result, None, now)
            row = self._add(
                Row(
                    seq=self._next_seq(),
                    at=now,
                    device=parsed.device,
                    kind=ANSWER,
                    op=op,
                    request_id=request_id,
                    summary=[],
                    result=result,
                    answer=answer_summary(parsed.name, body),
                )
            )
            return [{"type": "row", "row": row.as_event()}]
        row = self._unwait(self._pending[seqs[-1]])
        row.result = result
        row.latency_ms = round(max(0.0, (now - row.at).total_seconds() * 1000), 3)
        row.answer = answer_summary(row.op, body)
        self._stats.record(row.op, result, row.latency_ms, now)
        return [row.result_event()]
