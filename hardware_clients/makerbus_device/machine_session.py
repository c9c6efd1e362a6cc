"""One running machine session as the controller sees it: paid time, heartbeats, warnings.

Pure bookkeeping on the controller's monotonic clock; the controller does the I/O and locking.
"""

import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

from makerbus_device.answer import Answer
from makerbus_device.errors import DeviceError

logger = logging.getLogger(__name__)

RETRY_PAUSE_S = 5.0
"""After a heartbeat got no usable answer, try again this much later (the server's shortest
heartbeat period is 5 s, so it still sees a retry before it reaps the session)."""

_ENDED = frozenset({"session_closed", "unknown_session"})


class Verdict(NamedTuple):
    """What the controller does next."""

    switch_off: bool
    message: str | None
    """A line for the member, if any."""


KEEP_GOING = Verdict(switch_off=False, message=None)


def int_field(answer: Answer, name: str) -> int:
    """An answer's integer field; DeviceError when the server sent none."""
    value = answer.fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceError(f"the answer has no integer {name}: {answer.raw}")
    return value


@dataclass
class MachineSession:
    """The session the relay is on for."""

    session_id: int
    card: str
    deadline: float
    """Paid until then: the relay goes off unless a heartbeat moves it."""
    next_beat: float
    unfunded: bool = False
    """The last heartbeat could not pay the next interval."""
    final_warning_shown: bool = False
    unreachable: bool = False
    """The last heartbeat got no usable answer."""

    def heartbeat_due(self, now: float) -> bool:
        return self.next_beat <= now < self.deadline

    def heartbeat_budget(self, now: float, timeout: float, retries: int) -> tuple[float, int]:
        """Per-attempt timeout and retries such that waiting for the answer ends by the deadline.

        Otherwise a server that stopped answering would keep the relay on past the paid time
        for as long as the request's attempts take.
        """
        left = self.deadline - now
        return min(timeout, left), max(0, min(retries, int(left // timeout) - 1))

    def heartbeat_answered(
        self, now: float, answer: Answer | None, heartbeat_s: float, warn_before_s: float
    ) -> Verdict:
        """Take in a heartbeat's answer (None: no answer); ``now`` is when it was sent."""
        if answer is not None and answer.error in _ENDED:
            return Verdict(switch_off=True, message=f"machine off: the server says {answer.error}")
        if answer is None or not (answer.ok or answer.error == "insufficient_funds"):
            if answer is not None:
                logger.warning("heartbeat refused: %s: %s", answer.error, answer.message)
            return self._retry_later(now)
        try:
            remaining_s = int_field(answer, "remaining_s")
        except DeviceError as exc:
            logger.warning("%s", exc)
            return self._retry_later(now)
        self.deadline = now + remaining_s
        self.next_beat = now + heartbeat_s
        self.unreachable = False
        if answer.ok:  # paid, perhaps after a top-up
            self.unfunded = self.final_warning_shown = False
            return KEEP_GOING
        if self.unfunded:
            return KEEP_GOING
        self.unfunded = True
        self.final_warning_shown = remaining_s <= warn_before_s
        return Verdict(
            switch_off=False,
            message=f"funds run out in {remaining_s} s: top up to keep the machine running",
        )

    def _retry_later(self, now: float) -> Verdict:
        self.unreachable = True
        self.next_beat = now + RETRY_PAUSE_S
        return KEEP_GOING

    def check_clock(self, now: float, warn_before_s: float) -> Verdict:
        """Off once the paid time is over; a last warning before, if the money runs out."""
        left = self.deadline - now
        if left <= 0:
            if self.unfunded:
                why = "the funds ran out"
            elif self.unreachable:
                why = "the server cannot be reached"
            else:
                why = "no heartbeat extended it"
            return Verdict(switch_off=True, message=f"machine off: the paid time is over ({why})")
        if self.unfunded and not self.final_warning_shown and left <= warn_before_s:
            self.final_warning_shown = True
            return Verdict(
                switch_off=False,
                message=f"funds run out in {math.ceil(left)} s: the machine switches off then",
            )
        return KEEP_GOING
