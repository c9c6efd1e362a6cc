"""MachineController decisions the live-stack tests do not reach, against a scripted server.

The live proof (relay on after start, off on end, at paid_until, on terminate and when the
server is gone) is tests/e2e/test_machine_controller.py in the makerbus repository.
"""

import threading
from dataclasses import dataclass, field

from support import wait_until

from makerbus_device import (
    Answer,
    DeviceError,
    MachineController,
    RequestTimeout,
    SimulatedReader,
    SimulatedRelay,
)
from makerbus_device.client import CommandHandler
from makerbus_device.machine_session import MachineSession

CARD = "04A1B2C3"
OTHER_CARD = "04B2C3D4"


def ok(**fields: object) -> Answer:
    return Answer.from_json({"id": "r", "ok": True, **fields})


def refused(error: str, **fields: object) -> Answer:
    return Answer.from_json({"id": "r", "ok": False, "error": error, "message": error, **fields})


CONFIG = ok(heartbeat_s=30)
STARTED = ok(session_id=7, remaining_s=900, balance_cents=600)


@dataclass
class ScriptedDevice:
    """Stands in for DeviceClient: each request gets the next scripted answer or error."""

    script: list[Answer | DeviceError]
    sent: list[tuple[str, float, int]] = field(default_factory=list)
    handler: CommandHandler | None = None

    def request(
        self,
        op: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        request_id: str | None = None,
        **fields: object,
    ) -> Answer:
        self.sent.append((op, timeout, retries))
        outcome = self.script.pop(0)
        if isinstance(outcome, DeviceError):
            raise outcome
        return outcome

    def on_command(self, handler: CommandHandler) -> None:
        self.handler = handler


@dataclass
class Machine:
    controller: MachineController
    device: ScriptedDevice
    reader: SimulatedReader
    relay: SimulatedRelay
    clock: list[float]
    shown: list[str]

    def tap(self, card: str) -> None:
        self.reader.tap(card)
        self.controller.step(poll_s=0)

    def advance_and_step(self, seconds: float) -> None:
        self.clock[0] += seconds
        self.controller.step(poll_s=0)


def machine(*script: Answer | DeviceError) -> Machine:
    """A started controller; the server answers device/config, then ``script`` in order."""
    device = ScriptedDevice([CONFIG, *script])
    reader, relay, clock = SimulatedReader(), SimulatedRelay(), [0.0]
    shown: list[str] = []
    controller = MachineController(
        device, reader, relay, monotonic=lambda: clock[0], display=shown.append
    )
    controller.start()
    return Machine(controller, device, reader, relay, clock, shown)


def test_start_without_config_answer_uses_30_second_heartbeat() -> None:
    device = ScriptedDevice([RequestTimeout("device/config", "r", 3)])
    controller = MachineController(device, SimulatedReader(), SimulatedRelay())

    controller.start()

    assert controller.heartbeat_s == 30


def test_tap_with_other_card_while_running_sends_nothing_and_shows_in_use() -> None:
    running = machine(STARTED)
    running.tap(CARD)

    running.tap(OTHER_CARD)

    assert [op for op, _, _ in running.device.sent] == ["device/config", "session/start"]
    assert running.shown[-1] == f"card {OTHER_CARD}: the machine is in use"
    assert running.relay.is_on


def test_tap_with_same_card_when_end_gets_no_answer_still_switches_off() -> None:
    running = machine(STARTED, RequestTimeout("session/end", "r", 3))
    running.tap(CARD)

    running.tap(CARD)

    assert (running.relay.is_on, running.controller.state) == (False, "idle")


def test_heartbeat_with_session_closed_switches_off() -> None:
    running = machine(STARTED, refused("session_closed"))
    running.tap(CARD)

    running.advance_and_step(30)

    assert (running.relay.is_on, running.controller.state) == (False, "idle")


def test_heartbeat_with_ok_answer_moves_the_deadline() -> None:
    running = machine(STARTED, ok(session_id=7, remaining_s=900, charged_cents=300))
    running.tap(CARD)

    running.advance_and_step(30)

    assert running.controller.deadline == 30 + 900


def test_terminate_for_another_session_keeps_relay_on() -> None:
    running = machine(STARTED)
    running.tap(CARD)
    assert running.device.handler is not None

    running.device.handler("session/terminate", {"session_id": 8, "reason": "admin"})

    assert (running.relay.is_on, running.controller.session_id) == (True, 7)


def unfunded(remaining_s: int) -> Answer:
    return refused("insufficient_funds", session_id=7, remaining_s=remaining_s, balance_cents=0)


def test_heartbeats_without_funds_warn_once_then_once_more_near_the_deadline() -> None:
    # Paid until t=230; heartbeats at t=30, 80, 130 and 180, then the deadline.
    running = machine(STARTED, *(unfunded(230 - t) for t in (30, 80, 130, 180)))
    running.tap(CARD)
    running.advance_and_step(30)

    for _ in range(4):
        running.advance_and_step(50)

    warnings = [line for line in running.shown if line.startswith("funds run out")]
    assert warnings == [
        "funds run out in 200 s: top up to keep the machine running",
        "funds run out in 50 s: the machine switches off then",
    ]


def test_heartbeat_budget_close_to_deadline_ends_waiting_by_the_deadline() -> None:
    session = MachineSession(session_id=7, card=CARD, deadline=100.0, next_beat=0.0)

    assert session.heartbeat_budget(now=97.0, timeout=5.0, retries=2) == (3.0, 0)


def test_stopping_the_controller_ends_a_running_session() -> None:
    device = ScriptedDevice([CONFIG, STARTED, ok(total_cents=120, balance_cents=880)])
    reader, relay = SimulatedReader(), SimulatedRelay()
    controller = MachineController(device, reader, relay, display=lambda _: None)
    stop = threading.Event()
    reader.tap(CARD)
    runner = threading.Thread(target=controller.run, args=(stop,))
    runner.start()
    assert wait_until(lambda: relay.is_on, 5)

    stop.set()
    runner.join(5)

    assert [op for op, _, _ in device.sent] == ["device/config", "session/start", "session/end"]
    assert not relay.is_on
