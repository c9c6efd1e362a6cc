"""The reference machine controller: a card reader, a relay and the session contract.

The relay goes on only after ``session/start`` answered ok, and goes off when the member taps
again, when the server ends the session, and - fail safe - when the paid time is over, whether
or not the server can still be reached.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from makerbus_device.answer import Answer
from makerbus_device.client import CommandHandler
from makerbus_device.errors import DeviceError
from makerbus_device.hardware import CardReader, Relay
from makerbus_device.machine_session import MachineSession, Verdict, int_field

logger = logging.getLogger(__name__)

IDLE = "idle"
RUNNING = "running"
FALLBACK_HEARTBEAT_S = 30


class DeviceLink(Protocol):
    """The part of DeviceClient the controller uses."""

    def request(
        self,
        op: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        request_id: str | None = None,
        **fields: object,
    ) -> Answer: ...

    def on_command(self, handler: CommandHandler) -> None: ...


def _log_display(text: str) -> None:
    logger.info("%s", text)


class MachineController:
    """Drives one machine: ``start()`` once, then ``step()`` in a loop (or just ``run()``).

    ``step`` runs on one thread; server commands arrive on the MQTT thread, so the state and
    every relay switch are guarded by one lock.
    """

    def __init__(
        self,
        client: DeviceLink,
        reader: CardReader,
        relay: Relay,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        display: Callable[[str], None] = _log_display,
        request_timeout: float = 5.0,
        retries: int = 2,
        warn_before_s: float = 60.0,
    ) -> None:
        """``display`` shows a line to the member (by default: logs it at INFO)."""
        self._client = client
        self._reader = reader
        self._relay = relay
        self._monotonic = monotonic
        self._display = display
        self._timeout = request_timeout
        self._retries = retries
        self._warn_before_s = warn_before_s
        self._heartbeat_s: float = FALLBACK_HEARTBEAT_S
        self._lock = threading.RLock()  # display() may read the properties
        self._session: MachineSession | None = None
        self._terminated: int | None = None

    @property
    def state(self) -> str:
        """``"idle"`` or ``"running"``."""
        with self._lock:
            return IDLE if self._session is None else RUNNING

    @property
    def session_id(self) -> int | None:
        with self._lock:
            return None if self._session is None else self._session.session_id

    @property
    def deadline(self) -> float | None:
        """When the relay goes off unless a heartbeat moves it (monotonic clock)."""
        with self._lock:
            return None if self._session is None else self._session.deadline

    @property
    def heartbeat_s(self) -> float:
        return self._heartbeat_s

    def start(self) -> None:
        """Switch off, listen for server commands and learn the heartbeat period."""
        with self._lock:
            self._switch_off()
        self._client.on_command(self._on_command)
        try:
            self._heartbeat_s = int_field(self._ask("device/config"), "heartbeat_s")
        except DeviceError as exc:
            logger.warning(
                "no heartbeat period from device/config (%s); using %s s", exc, FALLBACK_HEARTBEAT_S
            )

    def run(self, stop: threading.Event) -> None:
        """``start()``, then ``step()`` until ``stop`` is set.

        On the way out the relay goes off and a running session is ended, so the member is
        billed for the time used rather than until the server notices the silence.
        """
        self.start()
        try:
            while not stop.is_set():
                self.step()
        finally:
            with self._lock:
                session = self._session
            if session is not None:
                self._end_session(session)
            with self._lock:
                self._switch_off()

    def step(self, poll_s: float = 0.2) -> None:
        """Handle a card tapped within ``poll_s``, a due heartbeat and the deadline."""
        card = self._reader.read(poll_s)
        if card is not None:
            self._tap(card)
        with self._lock:
            session = self._session
        if session is None:
            return
        now = self._monotonic()
        if session.heartbeat_due(now):
            self._heartbeat(session, now)
        self._enforce_deadline()

    # -- card taps ---------------------------------------------------------------------------

    def _tap(self, card: str) -> None:
        with self._lock:
            session = self._session
        if session is None:
            self._start_session(card)
        elif card == session.card:
            self._end_session(session)
        else:
            self._display(f"card {card}: the machine is in use")

    def _start_session(self, card: str) -> None:
        asked_at = self._monotonic()
        try:
            answer = self._ask("session/start", card=card)
            session_id = int_field(answer, "session_id")
            remaining_s = int_field(answer, "remaining_s")
        except DeviceError as exc:
            self._display(f"card {card}: {exc}")
            return
        with self._lock:
            if session_id == self._terminated:  # ended by the server while we waited
                return
            # Counted from the request, not the answer: the paid time ran while it travelled.
            self._session = MachineSession(
                session_id, card, asked_at + remaining_s, asked_at + self._heartbeat_s
            )
            self._relay.switch(True)
        balance = answer.fields.get("balance_cents")
        self._display(f"machine on: {remaining_s} s paid, balance {balance} cents")

    def _end_session(self, session: MachineSession) -> None:
        with self._lock:
            if self._session is not session:
                return
            self._switch_off()
        try:
            answer = self._ask("session/end", session_id=session.session_id)
            total = int_field(answer, "total_cents")
        except DeviceError as exc:
            self._display(f"machine off; the server did not confirm the end ({exc})")
            return
        self._display(f"machine off: {total} cents, balance {answer.fields.get('balance_cents')}")

    # -- heartbeat and deadline --------------------------------------------------------------

    def _heartbeat(self, session: MachineSession, now: float) -> None:
        timeout, retries = session.heartbeat_budget(now, self._timeout, self._retries)
        try:
            answer: Answer | None = self._client.request(
                "session/heartbeat", timeout=timeout, retries=retries, session_id=session.session_id
            )
        except DeviceError as exc:
            logger.warning("heartbeat for session %s failed: %s", session.session_id, exc)
            answer = None
        with self._lock:
            if self._session is not session:  # ended meanwhile
                return
            verdict = session.heartbeat_answered(
                now, answer, self._heartbeat_s, self._warn_before_s
            )
            self._follow(verdict)

    def _enforce_deadline(self) -> None:
        now = self._monotonic()
        with self._lock:
            if self._session is not None:
                self._follow(self._session.check_clock(now, self._warn_before_s))

    # -- server commands (MQTT thread) ---------------------------------------------------------

    def _on_command(self, name: str, payload: dict[str, object]) -> None:
        session_id = payload.get("session_id")
        if name != "session/terminate" or not isinstance(session_id, int):
            return
        with self._lock:
            self._terminated = session_id
            if self._session is None or self._session.session_id != session_id:
                return
            self._switch_off()
        self._display(f"machine off: the server ended the session ({payload.get('reason')})")

    # -- helpers -------------------------------------------------------------------------------

    def _ask(self, op: str, **fields: object) -> Answer:
        """Send a request; an error answer raises DeviceError with the server's words."""
        answer = self._client.request(
            op, timeout=self._timeout, retries=self._retries, request_id=None, **fields
        )
        if not answer.ok:
            raise DeviceError(f"{answer.error}: {answer.message}")
        return answer

    def _follow(self, verdict: Verdict) -> None:
        """Act on a verdict; the caller holds the lock."""
        if verdict.switch_off:
            self._switch_off()
        if verdict.message is not None:
            self._display(verdict.message)

    def _switch_off(self) -> None:
        """Go idle with the relay off; the caller holds the lock."""
        self._session = None
        self._relay.switch(False)
