"""The requests waiting for their answers, and how answers and PUBACKs find them."""

import threading
from collections import deque
from dataclasses import dataclass, field

from paho.mqtt.reasoncodes import ReasonCode

from makerbus_device.answer import Answer
from makerbus_device.errors import DeviceError

_RECENT_IDS = 256


@dataclass(eq=False)
class Pending:
    """One request waiting for its answer (or for a reason to give up)."""

    request_id: str
    correlation: bytes | None
    mids: set[int] = field(default_factory=set)
    outcome: Answer | DeviceError | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def finish(self, outcome: Answer | DeviceError) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.done.set()

    def rearm(self) -> None:
        """Wait again, for the answer to the next copy of the request."""
        self.outcome = None
        self.done.clear()

    def refuse(self, code: ReasonCode) -> None:
        """Give up because the broker's PUBACK refused the request, e.g. not authorized."""
        self.finish(DeviceError(f"the broker refused request {self.request_id}: {code}"))


class PendingRequests:
    """The requests in flight, found by request id, correlation data or publish mid.

    Also remembers the last 256 finished request ids, to recognise repeated answers, and parks
    the PUBACK codes that arrive before anyone asks for them.

    Not locked on its own: DeviceClient calls it only while holding its lock, the one that also
    guards the connection state a new request is checked against.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, Pending] = {}
        self._by_correlation: dict[bytes, Pending] = {}
        self._by_mid: dict[int, Pending] = {}
        self._puback_codes: dict[int, ReasonCode] = {}
        self._recent_ids: deque[str] = deque(maxlen=_RECENT_IDS)

    def add(self, pending: Pending) -> None:
        """Start waiting for ``pending``; ValueError if its request id is already in flight."""
        if pending.request_id in self._by_id:
            raise ValueError(f"request id {pending.request_id} is already in flight")
        self._by_id[pending.request_id] = pending
        if pending.correlation is not None:
            self._by_correlation[pending.correlation] = pending

    def remove(self, pending: Pending) -> None:
        """Stop waiting for ``pending``; a late answer to it then counts as a repeat."""
        del self._by_id[pending.request_id]
        if pending.correlation is not None:
            del self._by_correlation[pending.correlation]
        for mid in pending.mids:
            if self._by_mid.get(mid) is pending:
                del self._by_mid[mid]
        self._recent_ids.append(pending.request_id)

    def fail_all(self, message: str) -> None:
        """Finish every request in flight with a DeviceError(``message``)."""
        for pending in self._by_id.values():
            pending.finish(DeviceError(message))

    def sent(self, pending: Pending, mid: int, *, acknowledged: bool) -> None:
        """Note that ``pending`` went out as ``mid``; ``acknowledged``: its PUBACK came already."""
        if not acknowledged:
            self._by_mid[mid] = pending
            pending.mids.add(mid)
            return
        code = self._puback_codes.pop(mid, None)
        if code is not None and code.is_failure:
            pending.refuse(code)

    def puback(self, mid: int, code: ReasonCode) -> Pending | None:
        """Return the request sent as ``mid``; if there is none, park a failure ``code``."""
        pending = self._by_mid.pop(mid, None)
        if pending is None:
            if code == 0:
                self._puback_codes.pop(mid, None)
            else:
                # For publish_raw, or a sent() that comes after this PUBACK, to read.
                self._puback_codes[mid] = code
        return pending

    def take_puback_code(self, mid: int) -> ReasonCode | None:
        """The parked PUBACK code of ``mid``, once; None if none was parked (a plain success)."""
        return self._puback_codes.pop(mid, None)

    def match(self, correlation: object, answer_id: object) -> Pending | None:
        """The request an answer belongs to: by its correlation data, else by its id."""
        pending = None
        if isinstance(correlation, bytes):
            pending = self._by_correlation.get(correlation)
        if pending is None and isinstance(answer_id, str):
            pending = self._by_id.get(answer_id)
        return pending

    def finished_recently(self, answer_id: object) -> bool:
        """True if ``answer_id`` names one of the last 256 requests that stopped waiting."""
        return answer_id in self._recent_ids
