"""A scripted stand-in for the server, for the reference programs' unit tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from makerbus_device import Answer, DeviceError, RequestTimeout

NO_ANSWER = RequestTimeout("scripted", "unused", 3)
"""Script it to have the request time out (under the id the program sent, or a fresh one)."""


def ok(**fields: object) -> Answer:
    return Answer.from_json({"id": "r", "ok": True, **fields})


def refused(error: str, **fields: object) -> Answer:
    return Answer.from_json({"id": "r", "ok": False, "error": error, "message": error, **fields})


@dataclass(frozen=True)
class Sent:
    op: str
    fields: dict[str, object]
    request_id: str | None
    """None: the program let the client choose the id."""


@dataclass
class ScriptedServer:
    """Each op answers with the next outcome scripted for it; device/config always answers."""

    script: dict[str, list[Answer | DeviceError]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, op: str, *outcomes: Answer | DeviceError) -> None:
        self.script.setdefault(op, []).extend(outcomes)

    def request(
        self,
        op: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        request_id: str | None = None,
        **fields: object,
    ) -> Answer:
        self.sent.append(Sent(op, fields, request_id))
        if op == "device/config" and not self.script.get(op):
            return ok(currency="EUR", heartbeat_s=30)
        queue = self.script.get(op)
        if not queue:
            raise AssertionError(f"the test did not script an answer to {op} {fields}")
        outcome = queue.pop(0)
        if outcome is NO_ANSWER:
            used = request_id if request_id is not None else f"auto-{next(self._ids)}"
            raise RequestTimeout(op, used, retries + 1)
        if isinstance(outcome, DeviceError):
            raise outcome
        return outcome

    def ops(self) -> list[str]:
        """The ops sent, device/config left out."""
        return [sent.op for sent in self.sent if sent.op != "device/config"]

    def last(self, op: str) -> Sent:
        return [sent for sent in self.sent if sent.op == op][-1]


class Clock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now
