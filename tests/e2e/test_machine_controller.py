"""The reference machine controller on the live stack: when its relay is on, and why it goes off.

The controller runs on a fake monotonic clock that each test moves by hand, so heartbeats and
deadlines come without waiting for minutes; the server keeps real time.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from makerbus_device import (
    Answer,
    DeviceClient,
    MachineController,
    SimulatedReader,
    SimulatedRelay,
)
from makerbus_device.client import CommandHandler

from broker.provisioning import Credentials
from core.billing import Tariff
from core.members import NewMember
from tests.e2e.console import Console
from tests.e2e.fakes import FakeClock
from tests.e2e.stack import Stack

LASER = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)
TEN_CENTS_A_MINUTE = Tariff(login_fee_cents=0, price_per_minute_cents=10, interval_min=1)


@dataclass
class Recorder:
    """The real DeviceClient, keeping every answer the controller got."""

    client: DeviceClient
    sent: list[str] = field(default_factory=list)
    answers: list[tuple[str, Answer]] = field(default_factory=list)

    def request(
        self,
        op: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        request_id: str | None = None,
        **fields: object,
    ) -> Answer:
        self.sent.append(op)
        answer = self.client.request(
            op, timeout=timeout, retries=retries, request_id=request_id, **fields
        )
        self.answers.append((op, answer))
        return answer

    def on_command(self, handler: CommandHandler) -> None:
        self.client.on_command(handler)

    def last(self, op: str) -> Answer:
        return [answer for name, answer in self.answers if name == op][-1]


@dataclass
class Rig:
    """A started controller with a simulated reader and relay."""

    controller: MachineController
    reader: SimulatedReader
    relay: SimulatedRelay
    clock: FakeClock
    device: Recorder

    def tap(self, member: NewMember) -> None:
        assert member.card_uid is not None
        self.reader.tap(member.card_uid)
        self.controller.step(poll_s=0)

    def advance_and_step(self, seconds: float) -> None:
        self.clock.now += seconds
        self.controller.step(poll_s=0)

    def step_past_deadline(self) -> None:
        deadline = self.controller.deadline
        assert deadline is not None
        self.clock.now = deadline + 1
        self.controller.step(poll_s=0)


def rig(stack: Stack, machine: Credentials, *, request_timeout: float = 5.0) -> Rig:
    reader, relay, clock = SimulatedReader(), SimulatedRelay(), FakeClock()
    device = Recorder(stack.device(machine))
    controller = MachineController(
        device, reader, relay, monotonic=clock, request_timeout=request_timeout, retries=0
    )
    controller.start()
    return Rig(controller, reader, relay, clock, device)


def stop_handlers(stack: Stack) -> None:
    """SIGTERM every handler worker and wait until they are gone."""
    for worker in stack.workers:
        worker.send_signal(signal.SIGTERM)
    for worker in stack.workers:
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.fixture
def consoles() -> Iterator[list[Console]]:
    """Console controllers a test starts; all are stopped afterwards."""
    started: list[Console] = []
    yield started
    for console in started:
        console.close()


def test_tap_with_authorized_card_switches_relay_on(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    machine_rig = rig(stack, machine)

    machine_rig.tap(member)

    started = machine_rig.device.last("session/start")
    assert started.ok
    assert machine_rig.relay.history == [False, True]  # off at start-up, on after the ok
    assert machine_rig.controller.state == "running"
    assert machine_rig.controller.session_id == started["session_id"]


def test_tap_with_unauthorized_card_leaves_relay_off(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    machine_rig = rig(stack, machine)

    machine_rig.tap(member)

    assert machine_rig.device.last("session/start").error == "not_authorized"
    assert machine_rig.relay.history == [False]
    assert machine_rig.controller.state == "idle"


def test_second_tap_with_same_card_switches_off_and_bills_the_member(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    machine_rig = rig(stack, machine)
    machine_rig.tap(member)

    machine_rig.tap(member)

    ended = machine_rig.device.last("session/end")
    assert machine_rig.relay.history == [False, True, False]
    assert machine_rig.controller.state == "idle"
    assert ended["total_cents"] == 100 + 20  # login fee and one started minute
    assert ended["balance_cents"] == stack.balance(member) == 1000 - 120
    stack.check_ledger()


def test_heartbeat_without_funds_switches_relay_off_at_paid_until(stack: Stack) -> None:
    machine = stack.machine(TEN_CENTS_A_MINUTE)
    member = stack.add_member(balance_cents=20)
    stack.authorize(machine, member)
    machine_rig = rig(stack, machine)
    machine_rig.tap(member)  # prepays two 1-minute intervals: all the member has
    started = machine_rig.device.last("session/start")
    assert (started["remaining_s"], started["balance_cents"]) == (120, 0)
    # Sixty seconds later on the server's clock, the paid time is down to two heartbeats.
    stack.backdate_session(int(str(started["session_id"])), by=timedelta(seconds=60))

    machine_rig.advance_and_step(machine_rig.controller.heartbeat_s)

    beat = machine_rig.device.last("session/heartbeat")
    assert beat.error == "insufficient_funds"
    assert 55 <= int(str(beat["remaining_s"])) <= 60
    assert machine_rig.relay.is_on
    machine_rig.step_past_deadline()
    assert not machine_rig.relay.is_on
    assert machine_rig.controller.state == "idle"


def test_admin_end_of_running_session_switches_relay_off(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    machine_rig = rig(stack, machine)
    machine_rig.tap(member)

    stack.cli("session", "end", str(machine_rig.controller.session_id))

    give_up = time.monotonic() + 10
    while machine_rig.relay.is_on and time.monotonic() < give_up:
        machine_rig.controller.step(poll_s=0.05)
    assert not machine_rig.relay.is_on
    assert machine_rig.controller.state == "idle"


def test_heartbeat_with_server_gone_keeps_relay_on_until_paid_time_is_over(
    own_stack: Stack,
) -> None:
    machine = own_stack.machine(LASER)
    member = own_stack.add_member(balance_cents=1000)
    own_stack.authorize(machine, member)
    machine_rig = rig(own_stack, machine, request_timeout=0.5)
    machine_rig.tap(member)
    stop_handlers(own_stack)

    machine_rig.advance_and_step(machine_rig.controller.heartbeat_s)

    assert machine_rig.device.sent[-1] == "session/heartbeat"
    assert machine_rig.device.answers[-1][0] == "session/start"  # the heartbeat got no answer
    assert machine_rig.relay.is_on
    machine_rig.step_past_deadline()
    assert not machine_rig.relay.is_on
    assert machine_rig.controller.state == "idle"


def test_console_controller_with_two_taps_switches_relay_on_then_off(
    stack: Stack, consoles: list[Console]
) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    console = Console(machine)
    consoles.append(console)

    console.type(f"{member.card_uid}\n")
    console.read_until("RELAY ON")
    console.type(f"{member.card_uid}\n", then_close=True)  # it stops after this tap

    assert "RELAY OFF" in console.read_until("machine off: 120 cents, balance 880")
    assert console.process.wait(15) == 0
    assert stack.balance(member) == 880
