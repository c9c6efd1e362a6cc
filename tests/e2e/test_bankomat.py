"""The Bankomat over the real broker: top-up, donation, transfer, payout with PIN, history."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from makerbus_device import Answer, DeviceClient

from core import bank, cash_boxes, pins
from core.clock import SystemClock
from core.formats import DeviceKind
from core.members import NewMember
from core.origin import Origin
from makerbus.context import database
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_identify import assert_matches_schema
from tests.factories import T0, TESTER, unique_slug, unique_uid

PIN = "86429753"
WRONG_PIN = "13572468"
FAST = 4  # bcrypt rounds where a test sets many PINs; the CLI uses the real cost


def make_box(stack: Stack, *, balance_cents: int = 0, name: str = "Drinks fund") -> str:
    """A new cash box's slug, funded by a donation when `balance_cents` is given."""
    slug = unique_slug("box")

    async def go() -> None:
        async with database(stack.settings) as db:
            now = SystemClock().now()
            await cash_boxes.create(db, slug=slug, name=name, now=now)
            if balance_cents:
                await bank.donate(db, amount_cents=balance_cents, target=slug, origin=Origin(now))

    run_async(go())
    return slug


def box_balance(stack: Stack, slug: str) -> int:
    async def go() -> int:
        async with database(stack.settings) as db:
            return (await cash_boxes.find(db, slug)).balance_cents

    return run_async(go())


def check_boxes(stack: Stack) -> None:
    """The invariant for cash boxes: every balance equals the sum of its entries."""

    async def go() -> list[tuple[str, int, int]]:
        async with database(stack.settings) as db:
            return await cash_boxes.mismatched(db)

    assert run_async(go()) == []


def set_pin_fast(stack: Stack, member: NewMember, pin: str = PIN) -> None:
    async def go() -> None:
        async with database(stack.settings) as db:
            await pins.set_pin(db, member.member_id, pin, rounds=FAST, actor=TESTER, now=T0)

    run_async(go())


def cli_with_stdin(stack: Stack, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `makerbus` command with something typed on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "makerbus", *args],
        env=stack.env(),
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def treasurer(stack: Stack, pin: str = PIN) -> NewMember:
    """A member whose PIN was set with `makerbus member pin-set --pin-stdin`."""
    member = stack.add_member(name="Treasurer")
    assert member.card_uid is not None
    cli_with_stdin(stack, pin + "\n", "member", "pin-set", "--card", member.card_uid, "--pin-stdin")
    return member


def bankomat(stack: Stack, mqtt_version: int = 5) -> DeviceClient:
    return stack.device(stack.provision(DeviceKind.BANKOMAT), mqtt_version=mqtt_version)


def _moment(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --- targets, top-up, donation ---


def test_targets_lists_every_cash_box_sorted_with_its_balance(stack: Stack) -> None:
    first = make_box(stack, balance_cents=250, name="Drinks")
    second = make_box(stack, name="Tools")

    answer = bankomat(stack).request("bank/targets")

    targets = answer["targets"]
    assert isinstance(targets, list)
    assert {"slug": first, "name": "Drinks", "balance_cents": 250} in targets
    assert {"slug": second, "name": "Tools", "balance_cents": 0} in targets
    assert [t["slug"] for t in targets] == sorted(t["slug"] for t in targets)
    assert_matches_schema("bank.targets.answer.schema.json", answer.raw)


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_topup_credits_the_member_and_the_box(stack: Stack, mqtt_version: int) -> None:
    member = stack.add_member(balance_cents=100)
    box = make_box(stack, balance_cents=40)

    answer = bankomat(stack, mqtt_version).request(
        "bank/topup", card=member.card_uid, amount_cents=2000, target=box
    )

    assert answer.raw == {
        "id": answer.id,
        "ok": True,
        "balance_cents": 2100,
        "target_balance_cents": 2040,
    }
    assert (stack.balance(member), box_balance(stack, box)) == (2100, 2040)
    assert_matches_schema("bank.topup.answer.schema.json", answer.raw)
    stack.check_ledger()
    check_boxes(stack)


def test_topup_to_an_unknown_target_is_refused_naming_it(stack: Stack) -> None:
    member = stack.add_member(balance_cents=100)

    answer = bankomat(stack).request(
        "bank/topup", card=member.card_uid, amount_cents=500, target="no-such-box"
    )

    assert (answer.error, answer["target"]) == ("unknown_target", "no-such-box")
    assert stack.balance(member) == 100
    assert_matches_schema("bank.topup.answer.schema.json", answer.raw)


def test_topup_of_an_unknown_card_is_refused(stack: Stack) -> None:
    box = make_box(stack)

    answer = bankomat(stack).request("bank/topup", card=unique_uid(), amount_cents=5, target=box)

    assert answer.error == "unknown_card"
    assert box_balance(stack, box) == 0


@pytest.mark.parametrize("amount", [0, -5, 100_001, "500"])
def test_topup_with_a_bad_amount_is_a_bad_request(stack: Stack, amount: object) -> None:
    member = stack.add_member()
    box = make_box(stack)

    answer = bankomat(stack).request(
        "bank/topup", card=member.card_uid, amount_cents=amount, target=box
    )

    assert answer.error == "bad_request"
    assert "amount_cents" in str(answer.message)


def test_topup_retried_with_the_same_id_credits_once(stack: Stack) -> None:
    member = stack.add_member()
    box = make_box(stack)
    device = bankomat(stack)

    first = device.request(
        "bank/topup", request_id="topup-1", card=member.card_uid, amount_cents=700, target=box
    )
    again = device.request(
        "bank/topup", request_id="topup-1", card=member.card_uid, amount_cents=700, target=box
    )

    assert again.raw == first.raw
    assert (stack.balance(member), box_balance(stack, box)) == (700, 700)


def test_donate_credits_only_the_box(stack: Stack) -> None:
    box = make_box(stack, balance_cents=100)

    answer = bankomat(stack).request("bank/donate", amount_cents=350, target=box)

    assert answer.raw == {"id": answer.id, "ok": True, "target_balance_cents": 450}
    assert box_balance(stack, box) == 450
    assert_matches_schema("bank.donate.answer.schema.json", answer.raw)
    check_boxes(stack)


# --- transfer ---


def test_transfer_moves_money_between_two_members(stack: Stack) -> None:
    sender, receiver = stack.add_member(balance_cents=1000), stack.add_member(balance_cents=20)

    answer = bankomat(stack).request(
        "bank/transfer", card=sender.card_uid, to_card=receiver.card_uid, amount_cents=300
    )

    assert answer.raw == {
        "id": answer.id,
        "ok": True,
        "balance_cents": 700,
        "to_balance_cents": 320,
    }
    assert (stack.balance(sender), stack.balance(receiver)) == (700, 320)
    assert_matches_schema("bank.transfer.answer.schema.json", answer.raw)
    stack.check_ledger()


def test_transfer_beyond_the_balance_is_refused_and_moves_nothing(stack: Stack) -> None:
    sender, receiver = stack.add_member(balance_cents=299), stack.add_member()

    answer = bankomat(stack).request(
        "bank/transfer", card=sender.card_uid, to_card=receiver.card_uid, amount_cents=300
    )

    assert (answer.error, answer["balance_cents"], answer["needed_cents"]) == (
        "insufficient_funds",
        299,
        300,
    )
    assert (stack.balance(sender), stack.balance(receiver)) == (299, 0)
    assert_matches_schema("bank.transfer.answer.schema.json", answer.raw)


def test_transfer_to_the_same_member_is_not_authorized(stack: Stack) -> None:
    member = stack.add_member(balance_cents=500)

    answer = bankomat(stack).request(
        "bank/transfer", card=member.card_uid, to_card=member.card_uid, amount_cents=100
    )

    assert (answer.error, answer.message) == (
        "not_authorized",
        "cannot transfer to your own account",
    )
    assert stack.balance(member) == 500


def test_transfer_retried_with_the_same_id_moves_money_once(stack: Stack) -> None:
    sender, receiver = stack.add_member(balance_cents=1000), stack.add_member()
    device = bankomat(stack)

    def send() -> Answer:
        return device.request(
            "bank/transfer",
            request_id="transfer-1",
            card=sender.card_uid,
            to_card=receiver.card_uid,
            amount_cents=250,
        )

    first, again = send(), send()

    assert again.raw == first.raw
    assert (stack.balance(sender), stack.balance(receiver)) == (750, 250)


# --- payout ---


def test_payout_by_a_treasurer_with_the_right_pin_takes_cash_out(stack: Stack) -> None:
    person = treasurer(stack)
    box = make_box(stack, balance_cents=5000)

    answer = bankomat(stack).request(
        "bank/payout", card=person.card_uid, pin=PIN, target=box, amount_cents=1500
    )

    assert answer.raw == {"id": answer.id, "ok": True, "target_balance_cents": 3500}
    assert box_balance(stack, box) == 3500
    assert_matches_schema("bank.payout.answer.schema.json", answer.raw)
    check_boxes(stack)


def test_payout_with_a_card_without_a_pin_is_pin_required(stack: Stack) -> None:
    member = stack.add_member()
    box = make_box(stack, balance_cents=5000)

    answer = bankomat(stack).request(
        "bank/payout", card=member.card_uid, pin=PIN, target=box, amount_cents=100
    )

    assert answer.error == "pin_required"
    assert box_balance(stack, box) == 5000


def test_payout_beyond_the_box_balance_is_refused_and_pays_nothing(stack: Stack) -> None:
    person = stack.add_member()
    set_pin_fast(stack, person)
    box = make_box(stack, balance_cents=800)

    answer = bankomat(stack).request(
        "bank/payout", card=person.card_uid, pin=PIN, target=box, amount_cents=801
    )

    assert (answer.error, answer["balance_cents"], answer["needed_cents"]) == (
        "insufficient_funds",
        800,
        801,
    )
    assert box_balance(stack, box) == 800
    assert_matches_schema("bank.payout.answer.schema.json", answer.raw)


def test_payout_retried_with_the_same_id_pays_once(stack: Stack) -> None:
    person = stack.add_member()
    set_pin_fast(stack, person)
    box = make_box(stack, balance_cents=5000)
    device = bankomat(stack)

    def send() -> Answer:
        return device.request(
            "bank/payout",
            request_id="payout-1",
            card=person.card_uid,
            pin=PIN,
            target=box,
            amount_cents=1000,
        )

    first, again = send(), send()

    assert again.raw == first.raw == {"id": "payout-1", "ok": True, "target_balance_cents": 4000}
    assert box_balance(stack, box) == 4000


def test_wrong_pin_retried_with_the_same_id_counts_once(stack: Stack) -> None:
    person = stack.add_member()
    set_pin_fast(stack, person)
    box = make_box(stack, balance_cents=5000)
    device = bankomat(stack)

    def send(request_id: str) -> Answer:
        return device.request(
            "bank/payout",
            request_id=request_id,
            card=person.card_uid,
            pin=WRONG_PIN,
            target=box,
            amount_cents=100,
        )

    first, again, next_wrong = send("wrong-1"), send("wrong-1"), send("wrong-2")

    assert again.raw == first.raw
    assert (first["attempts_left"], next_wrong["attempts_left"]) == (2, 1)


def test_three_wrong_pins_lock_payouts_even_with_the_right_pin(stack: Stack) -> None:
    person = stack.add_member()
    set_pin_fast(stack, person)
    box = make_box(stack, balance_cents=5000)
    device = bankomat(stack)
    before = SystemClock().now()

    def attempt(pin: str) -> tuple[str | None, object]:
        answer = device.request(
            "bank/payout", card=person.card_uid, pin=pin, target=box, amount_cents=100
        )
        assert_matches_schema("bank.payout.answer.schema.json", answer.raw)
        return answer.error, answer.fields.get("attempts_left", answer.fields.get("locked_until"))

    answers = [attempt(WRONG_PIN) for _ in range(3)] + [attempt(PIN)]

    assert [error for error, _ in answers] == [
        "pin_invalid",
        "pin_invalid",
        "pin_locked",
        "pin_locked",
    ]
    assert [extra for _, extra in answers[:2]] == [2, 1]
    locked_until = _moment(answers[2][1])
    assert answers[3][1] == answers[2][1]
    assert (
        before + timedelta(minutes=14) < locked_until <= SystemClock().now() + timedelta(minutes=15)
    )
    assert box_balance(stack, box) == 5000


def test_pins_never_appear_in_the_handler_log(stack: Stack) -> None:
    person = treasurer(stack)
    box = make_box(stack, balance_cents=5000)
    credentials = stack.provision(DeviceKind.BANKOMAT)
    device = stack.device(credentials)
    malformed = "97531x"

    wrong = device.request(
        "bank/payout", card=person.card_uid, pin=WRONG_PIN, target=box, amount_cents=100
    )
    bad = device.request(
        "bank/payout", card=person.card_uid, pin=malformed, target=box, amount_cents=100
    )
    paid = device.request(
        "bank/payout", card=person.card_uid, pin=PIN, target=box, amount_cents=100
    )

    assert (wrong.error, bad.error, paid.ok) == ("pin_invalid", "bad_request", True)
    log = stack.handler_log.read_text()
    failures = [
        record
        for record in map(json.loads, log.splitlines())
        if record.get("logger") == "makerbus.bank" and record.get("member_id") == person.member_id
    ]
    assert [(r["msg"], r["failures"], r["attempts_left"]) for r in failures] == [
        ("wrong PIN", 1, 2)
    ]
    assert failures[0]["device"] == credentials.username
    for secret in (PIN, WRONG_PIN, malformed):
        assert secret not in log
        assert secret not in json.dumps([wrong.raw, bad.raw, paid.raw])


# --- PINs from the command line ---


def test_pin_set_and_clear_from_the_cli_decide_whether_a_card_has_a_pin(stack: Stack) -> None:
    member = stack.add_member()
    assert member.card_uid is not None
    device = bankomat(stack)

    set_output = cli_with_stdin(
        stack, PIN + "\n", "member", "pin-set", "--card", member.card_uid, "--pin-stdin"
    )
    with_pin = device.request("card/identify", card=member.card_uid)
    stack.cli("member", "pin-clear", "--card", member.card_uid)
    without_pin = device.request("card/identify", card=member.card_uid)

    assert (with_pin["has_pin"], without_pin["has_pin"]) == (True, False)
    assert PIN not in set_output.stdout + set_output.stderr


def test_pin_set_with_a_malformed_pin_fails_without_echoing_it(stack: Stack) -> None:
    member = stack.add_member()
    assert member.card_uid is not None

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "makerbus",
            "member",
            "pin-set",
            "--card",
            member.card_uid,
            "--pin-stdin",
        ],
        env=stack.env(),
        input="12ab9\n",
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "4 to 8 digits" in result.stderr
    assert "12ab9" not in result.stdout + result.stderr


# --- history, device kinds, the cash box CLI ---


def test_history_lists_the_newest_lines_first(stack: Stack) -> None:
    member = stack.add_member(balance_cents=100)
    box = make_box(stack)
    device = bankomat(stack)
    for amount in (10, 20, 30):
        device.request("bank/topup", card=member.card_uid, amount_cents=amount, target=box)

    answer = device.request("bank/history", card=member.card_uid, limit=3)

    lines = answer["lines"]
    assert isinstance(lines, list)
    assert [(ln["kind"], ln["amount_cents"], ln["balance_after_cents"]) for ln in lines] == [
        ("topup", 30, 160),
        ("topup", 20, 130),
        ("topup", 10, 110),
    ]
    assert_matches_schema("bank.history.answer.schema.json", answer.raw)


def test_history_limit_above_twenty_is_a_bad_request(stack: Stack) -> None:
    member = stack.add_member()

    answer = bankomat(stack).request("bank/history", card=member.card_uid, limit=21)

    assert answer.error == "bad_request"
    assert "limit" in str(answer.message)


def test_bank_ops_are_forbidden_for_other_device_kinds(stack: Stack) -> None:
    member = stack.add_member()
    box = make_box(stack)
    checkout = stack.device(stack.provision(DeviceKind.CHECKOUT))

    answer = checkout.request("bank/topup", card=member.card_uid, amount_cents=100, target=box)

    assert answer.error == "forbidden_op"
    assert (stack.balance(member), box_balance(stack, box)) == (0, 0)


def test_cashbox_cli_adds_lists_and_shows_a_statement(stack: Stack) -> None:
    slug = unique_slug("cli-box")
    member = stack.add_member()

    stack.cli("cashbox", "add", slug, "--name", "Coffee kitty")
    bankomat(stack).request("bank/topup", card=member.card_uid, amount_cents=123, target=slug)
    listed = json.loads(stack.cli("cashbox", "list", "--json").stdout)
    statement = json.loads(stack.cli("cashbox", "statement", slug, "--json").stdout)

    assert {"slug": slug, "name": "Coffee kitty", "balance_cents": 123} in listed
    assert (statement["balance_cents"], len(statement["entries"])) == (123, 1)
    entry = statement["entries"][0]
    assert (entry["kind"], entry["amount_cents"], entry["member_id"]) == (
        "topup",
        123,
        member.member_id,
    )


def test_cashbox_add_with_a_taken_slug_fails_cleanly(stack: Stack) -> None:
    slug = make_box(stack)

    result = stack.cli("cashbox", "add", slug, "--name", "Again", check=False)

    assert result.returncode != 0
    assert "exists already" in result.stderr
    assert "Traceback" not in result.stderr


# --- many Bankomats at once ---

BANKOMATS = 16
ROUNDS = 4
START_CENTS = 3000


def test_many_bankomats_topping_up_and_paying_out_one_box_keep_it_exact(
    two_worker_stack: Stack,
) -> None:
    stack = two_worker_stack
    box = make_box(stack, balance_cents=START_CENTS)
    payers = [stack.add_member() for _ in range(BANKOMATS // 2)]
    treasurers = [stack.add_member(name="Treasurer") for _ in range(BANKOMATS // 2)]
    for person in treasurers:
        set_pin_fast(stack, person)
    devices = [bankomat(stack) for _ in range(BANKOMATS)]
    barrier = threading.Barrier(BANKOMATS)

    def drive(i: int) -> list[tuple[str, int]]:
        """One Bankomat: a payer's top-ups or a treasurer's payouts, as fast as answered."""
        device, done = devices[i], []
        barrier.wait()
        for n in range(ROUNDS):
            if i % 2 == 0:
                amount = 100 + 10 * n
                answer = device.request(
                    "bank/topup",
                    card=payers[i // 2].card_uid,
                    amount_cents=amount,
                    target=box,
                    timeout=30,
                )
                assert answer.ok, answer.raw
                done.append(("topup", amount))
            else:
                amount = 400 + 50 * n
                answer = device.request(
                    "bank/payout",
                    card=treasurers[i // 2].card_uid,
                    pin=PIN,
                    target=box,
                    amount_cents=amount,
                    timeout=30,
                )
                assert answer.ok or answer.error == "insufficient_funds", answer.raw
                done.append(("paid", -amount) if answer.ok else ("short", 0))
        return done

    with ThreadPoolExecutor(BANKOMATS) as pool:
        results = [outcome for done in pool.map(drive, range(BANKOMATS)) for outcome in done]

    outcomes = {kind for kind, _ in results}
    assert outcomes == {"topup", "paid", "short"}
    assert box_balance(stack, box) == START_CENTS + sum(delta for _, delta in results) >= 0
    check_boxes(stack)
    stack.check_ledger()
    assert [("answered" in stack.log_of(i).read_text()) for i in range(2)] == [True, True]
