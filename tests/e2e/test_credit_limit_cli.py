"""`makerbus member credit-limit` through the real command, and machines that heed it."""

from __future__ import annotations

import pytest

from core import members
from core.audit import Actor
from core.billing import Tariff
from core.clock import SystemClock
from core.members import NewMember
from makerbus.context import database
from tests.e2e.stack import Stack, run_async

LASER = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)  # 400 to start


def _credit_limit(stack: Stack, member: NewMember) -> int:
    async def go() -> int:
        async with database(stack.settings) as db:
            detail = await members.detail(db, member.member_id, now=SystemClock().now())
            return detail.credit_limit_cents

    return run_async(go())


def _in_debt(stack: Stack) -> NewMember:
    """A member at -50 cents with a credit limit of 100."""
    member = stack.add_member(balance_cents=0, credit_limit_cents=100)

    async def go() -> None:
        async with database(stack.settings) as db:
            await members.correct_balance(
                db,
                member.member_id,
                -50,
                reason="test debt",
                now=SystemClock().now(),
                actor=Actor.person("e2e"),
            )

    run_async(go())
    return member


def test_a_credit_limit_set_by_card_lets_a_machine_start_below_zero(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=0)
    assert member.card_uid is not None
    stack.cli("machine", "authorize", machine.username, "--card", member.card_uid)

    done = stack.cli("member", "credit-limit", "--card", member.card_uid, "400")
    started = stack.device(machine).request("session/start", card=member.card_uid)

    assert done.stdout.strip() == (
        f"Member {member.member_id} may now go down to -400 cents (balance 0 cents)."
    )
    assert (started.ok, started["balance_cents"]) == (True, -400)
    stack.device(machine).request("session/end", session_id=started["session_id"])
    stack.check_ledger()


def test_a_machine_refuses_a_start_beyond_the_credit_limit_set_by_member_id(stack: Stack) -> None:
    machine = stack.machine(LASER)
    member = stack.add_member(balance_cents=100)
    stack.cli("machine", "authorize", machine.username, "--member", str(member.member_id))
    device = stack.device(machine)

    stack.cli("member", "credit-limit", "--member", str(member.member_id), "299")
    short = device.request("session/start", card=member.card_uid)
    stack.cli("member", "credit-limit", "--member", str(member.member_id), "300")
    enough = device.request("session/start", card=member.card_uid)

    assert (short.error, short["balance_cents"]) == ("insufficient_funds", 100)
    assert (enough.ok, enough["balance_cents"]) == (True, -300)
    device.request("session/end", session_id=enough["session_id"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["500"], "exactly one of --card and --member"),
        (["--card", "{card}", "--member", "{id}", "500"], "exactly one of --card and --member"),
        (["--card", "{card}", "-5"], "-5 is not in the range 0<=x<=100000000"),
        (["--card", "{card}", "100000001"], "is not in the range 0<=x<=100000000"),
        (["--card", "{card}", "five"], "'five' is not a valid integer"),
        (["--card", "04:zz", "500"], "card UID must be 4, 7 or 10 bytes of hex"),
        (["--card", "04000000000001", "500"], "no member has card 04000000000001"),
        (["--member", "999999999", "500"], "no member 999999999"),
        (["--member", "0", "500"], "0 is not in the range x>=1"),
        (["--card", "{card}", "49"], "the balance is already below that credit limit"),
    ],
)
def test_a_refused_credit_limit_is_one_clear_line_and_changes_nothing(
    stack: Stack, args: list[str], message: str
) -> None:
    member = _in_debt(stack)
    filled = [arg.format(card=member.card_uid, id=member.member_id) for arg in args]

    refused = stack.cli("member", "credit-limit", *filled, check=False)

    assert refused.returncode != 0
    assert message in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _credit_limit(stack, member) == 100
