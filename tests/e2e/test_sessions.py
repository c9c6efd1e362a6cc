"""Machine sessions over the real broker: billing to the cent, retries, the reaper, admin end."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core.billing import Tariff
from core.formats import DeviceKind
from tests.e2e.stack import Stack, wait_until
from tests.e2e.test_identify import assert_matches_schema

LASER = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_start_heartbeat_end_over_mqtt(stack: Stack, mqtt_version: int) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    device = stack.device(machine, mqtt_version=mqtt_version)

    started = device.request("session/start", card=member.card_uid)
    beat = device.request("session/heartbeat", session_id=started["session_id"])
    ended = device.request("session/end", session_id=started["session_id"])

    assert (started.ok, started["charged_cents"], started["balance_cents"]) == (True, 400, 600)
    assert (beat.ok, beat["charged_cents"], beat["session_id"]) == (True, 0, started["session_id"])
    assert (ended["total_cents"], ended["refund_cents"]) == (100 + 20, 280)  # one started minute
    assert ended["balance_cents"] == stack.balance(member) == 1000 - 120
    assert_matches_schema("session.start.answer.schema.json", started.raw)
    assert_matches_schema("session.heartbeat.answer.schema.json", beat.raw)
    assert_matches_schema("session.end.answer.schema.json", ended.raw)
    stack.check_ledger()


def test_start_with_too_little_money_is_refused_and_charges_nothing(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=399)
    stack.authorize(machine, member)

    answer = stack.device(machine).request("session/start", card=member.card_uid)

    assert (answer.error, answer["needed_cents"], answer["balance_cents"]) == (
        "insufficient_funds",
        400,
        399,
    )
    assert stack.balance(member) == 399
    assert_matches_schema("session.start.answer.schema.json", answer.raw)


def test_a_second_card_on_a_busy_machine_is_refused_the_same_card_rejoins(stack: Stack) -> None:
    machine = stack.machine(LASER)
    first, second = stack.add_member(balance_cents=1000), stack.add_member(balance_cents=1000)
    stack.authorize(machine, first)
    stack.authorize(machine, second)
    device = stack.device(machine)
    opened = device.request("session/start", card=first.card_uid)

    busy = device.request("session/start", card=second.card_uid)
    again = device.request("session/start", card=first.card_uid)

    assert busy.error == "machine_busy"
    assert (again["session_id"], again["charged_cents"]) == (opened["session_id"], 0)
    assert stack.balance(first) == 600
    assert stack.balance(second) == 1000


def test_unauthorized_members_cannot_start(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)

    answer = stack.device(machine).request("session/start", card=member.card_uid)

    assert answer.error == "not_authorized"


def test_a_checkout_may_not_start_sessions(stack: Stack) -> None:
    member = stack.add_member(balance_cents=1000)

    answer = stack.device(stack.provision(DeviceKind.CHECKOUT)).request(
        "session/start", card=member.card_uid
    )

    assert answer.error == "forbidden_op"


def test_retried_start_and_end_charge_and_refund_once(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    device = stack.device(machine)

    first_start = device.request("session/start", request_id="start-1", card=member.card_uid)
    retried_start = device.request("session/start", request_id="start-1", card=member.card_uid)
    first_end = device.request(
        "session/end", request_id="end-1", session_id=first_start["session_id"]
    )
    retried_end = device.request(
        "session/end", request_id="end-1", session_id=first_start["session_id"]
    )

    assert retried_start.raw == first_start.raw
    assert retried_end.raw == first_end.raw
    assert stack.balance(member) == 1000 - 120
    stack.check_ledger()


def test_silent_sessions_are_reaped_and_the_device_is_told(stack: Stack) -> None:
    machine = stack.machine(Tariff(0, 10, 15))
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    device = stack.device(machine)
    commands: list[tuple[str, dict[str, object]]] = []
    device.on_command(lambda name, payload: commands.append((name, payload)))
    opened = device.request("session/start", card=member.card_uid)

    stack.backdate_session(int(str(opened["session_id"])), by=timedelta(minutes=2))

    topic = f"mkr/v1/{machine.username}/cmd/session/terminate"
    assert wait_until(lambda: commands, 10.0), f"no command on {topic}"
    name, payload = commands[0]
    assert name == "session/terminate"
    assert (payload["session_id"], payload["reason"], payload["total_cents"]) == (
        opened["session_id"],
        "no_heartbeat",
        0,
    )
    assert_matches_schema("cmd.session.terminate.schema.json", payload)
    late = device.request("session/heartbeat", session_id=opened["session_id"])
    assert late.error == "session_closed"
    assert stack.balance(member) == 1000
    stack.check_ledger()


def test_admin_end_from_the_cli_tells_the_device(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    device = stack.device(machine)
    commands: list[tuple[str, dict[str, object]]] = []
    device.on_command(lambda name, payload: commands.append((name, payload)))
    opened = device.request("session/start", card=member.card_uid)

    result = stack.cli("session", "end", str(opened["session_id"]))

    assert "ended" in result.stdout
    assert wait_until(lambda: commands, 10.0)
    assert commands[0][1]["reason"] == "admin"
    listed = json.loads(stack.cli("session", "list", "--json").stdout)
    assert opened["session_id"] not in [row["session_id"] for row in listed]
