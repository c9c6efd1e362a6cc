"""The Bankomat's services on a real database: both ledgers to the cent, PINs, concurrency."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import bank, cash_boxes, members, pins
from core.clock import FrozenClock, SystemClock
from core.db import async_session_factory, make_async_engine
from core.errors import (
    CardBlocked,
    InsufficientFunds,
    NotAuthorized,
    PinRequired,
    UnknownCard,
    UnknownTarget,
)
from core.formats import DeviceKind
from core.members import NewMember
from core.models import Card, CashBoxEntry, LedgerEntry, Member
from core.origin import Origin
from tests.factories import (
    T0,
    TESTER,
    assert_ledger_matches_balances,
    make_device,
    make_member,
    unique_slug,
    unique_uid,
)

PIN = "4711"
WRONG = "0000"
FAST = 4  # bcrypt rounds for tests


async def make_box(db: AsyncSession, *, balance_cents: int = 0) -> cash_boxes.Box:
    """A new box, funded by a donation when `balance_cents` is given."""
    box = await cash_boxes.create(db, slug=unique_slug("box"), name="Test box", now=T0)
    if balance_cents:
        await bank.donate(db, amount_cents=balance_cents, target=box.slug, origin=Origin(T0))
    return await cash_boxes.find(db, box.slug)


async def make_treasurer(db: AsyncSession, *, balance_cents: int = 0) -> NewMember:
    member = await make_member(db, name="Treasurer", balance_cents=balance_cents)
    await pins.set_pin(db, member.member_id, PIN, rounds=FAST, actor=TESTER, now=T0)
    return member


def card(member: NewMember) -> str:
    assert member.card_uid is not None
    return member.card_uid


async def _balance(db: AsyncSession, member: NewMember) -> int:
    balance = await db.scalar(select(Member.balance_cents).where(Member.id == member.member_id))
    assert balance is not None
    return balance


async def _box_balance(db: AsyncSession, box: cash_boxes.Box) -> int:
    return (await cash_boxes.find(db, box.slug)).balance_cents


async def _invariants(db: AsyncSession) -> None:
    await assert_ledger_matches_balances(db)
    assert await cash_boxes.mismatched(db) == []


async def _payout(
    db: AsyncSession,
    member: NewMember,
    box: cash_boxes.Box,
    amount_cents: int,
    clock: FrozenClock,
    pin: str = PIN,
) -> bank.PaidOut | bank.BoxShort | pins.Rejected | pins.Locked:
    return await bank.payout(
        db,
        card_uid=card(member),
        pin=pin,
        target=box.slug,
        amount_cents=amount_cents,
        origin=Origin(clock.now(), request_id="p"),
    )


# --- top-up and donation ---


async def test_topup_credits_the_member_and_the_box(db: AsyncSession, clock: FrozenClock) -> None:
    device = await make_device(db, kind=DeviceKind.BANKOMAT)
    member = await make_member(db, balance_cents=100)
    box = await make_box(db, balance_cents=50)
    origin = Origin(clock.now(), device_id=device.id, request_id="t-1")

    done = await bank.topup(
        db, card_uid=card(member), amount_cents=2000, target=box.slug, origin=origin
    )

    assert done == bank.ToppedUp(balance_cents=2100, target_balance_cents=2050)
    assert (await _balance(db, member), await _box_balance(db, box)) == (2100, 2050)
    entry = (
        await db.scalars(
            select(LedgerEntry).where(
                LedgerEntry.member_id == member.member_id, LedgerEntry.kind == "topup"
            )
        )
    ).one()
    assert (entry.amount_cents, entry.box_id, entry.device_id, entry.request_id) == (
        2000,
        box.id,
        device.id,
        "t-1",
    )
    box_entry = (await cash_boxes.statement(db, box.id))[0]
    assert (box_entry.kind, box_entry.amount_cents, box_entry.member_id, box_entry.device_id) == (
        "topup",
        2000,
        member.member_id,
        device.id,
    )
    await _invariants(db)


async def test_topup_to_an_unknown_target_raises_and_credits_nobody(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db, balance_cents=100)

    with pytest.raises(UnknownTarget) as raised:
        async with db.begin_nested():  # the runtime's transaction: a refusal rolls it back
            await bank.topup(
                db,
                card_uid=card(member),
                amount_cents=500,
                target="nowhere",
                origin=Origin(T0),
            )

    assert raised.value.fields == {"target": "nowhere"}
    assert await _balance(db, member) == 100


async def test_topup_with_an_unknown_card_raises_unknown_card(db: AsyncSession) -> None:
    box = await make_box(db)

    with pytest.raises(UnknownCard):
        await bank.topup(
            db, card_uid=unique_uid(), amount_cents=500, target=box.slug, origin=Origin(T0)
        )


async def test_topup_with_a_blocked_card_raises_card_blocked(db: AsyncSession) -> None:
    member = await make_member(db)
    box = await make_box(db)
    await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    with pytest.raises(CardBlocked):
        await bank.topup(
            db, card_uid=card(member), amount_cents=500, target=box.slug, origin=Origin(T0)
        )


async def test_donate_credits_only_the_box(db: AsyncSession) -> None:
    box = await make_box(db, balance_cents=10)
    entries_before = await db.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id.desc()))

    balance = await bank.donate(db, amount_cents=990, target=box.slug, origin=Origin(T0))

    assert balance == await _box_balance(db, box) == 1000
    entry = (await cash_boxes.statement(db, box.id))[0]
    assert (entry.kind, entry.amount_cents, entry.member_id) == ("donation", 990, None)
    assert await db.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id.desc())) == entries_before


async def test_donate_to_an_unknown_target_raises_unknown_target(db: AsyncSession) -> None:
    with pytest.raises(UnknownTarget):
        await bank.donate(db, amount_cents=1, target="nowhere", origin=Origin(T0))


# --- transfer ---


async def test_transfer_moves_money_and_names_each_counterparty(db: AsyncSession) -> None:
    sender = await make_member(db, balance_cents=1000)
    receiver = await make_member(db, balance_cents=5)

    done = await bank.transfer(
        db,
        card_uid=card(sender),
        to_card_uid=card(receiver),
        amount_cents=400,
        origin=Origin(T0, request_id="x-1"),
    )

    assert done == bank.Transferred(balance_cents=600, to_balance_cents=405)
    rows = (
        await db.execute(
            select(
                LedgerEntry.member_id,
                LedgerEntry.kind,
                LedgerEntry.amount_cents,
                LedgerEntry.counterparty_id,
            )
            .where(LedgerEntry.request_id == "x-1")
            .order_by(LedgerEntry.member_id)
        )
    ).all()
    assert sorted(tuple(row) for row in rows) == sorted(
        [
            (sender.member_id, "transfer_out", -400, receiver.member_id),
            (receiver.member_id, "transfer_in", 400, sender.member_id),
        ]
    )
    await _invariants(db)


@pytest.mark.parametrize("receiver_first", [False, True], ids=["sender-older", "receiver-older"])
async def test_transfer_beyond_the_balance_raises_and_moves_nothing(
    db: AsyncSession, receiver_first: bool
) -> None:
    first = await make_member(db, balance_cents=300)
    second = await make_member(db, balance_cents=300)
    # Rows are posted in id order: with the receiver first, its credit has to be rolled back.
    sender, receiver = (second, first) if receiver_first else (first, second)

    with pytest.raises(InsufficientFunds) as raised:
        async with db.begin_nested():
            await bank.transfer(
                db,
                card_uid=card(sender),
                to_card_uid=card(receiver),
                amount_cents=301,
                origin=Origin(T0),
            )

    assert raised.value.fields == {"balance_cents": 300, "needed_cents": 301}
    assert (await _balance(db, sender), await _balance(db, receiver)) == (300, 300)
    await _invariants(db)


async def test_transfer_within_the_credit_limit_goes_below_zero(db: AsyncSession) -> None:
    sender = await make_member(db, balance_cents=100)
    await members.set_credit_limit(db, sender.member_id, 200, actor=TESTER, now=T0)
    receiver = await make_member(db)

    done = await bank.transfer(
        db,
        card_uid=card(sender),
        to_card_uid=card(receiver),
        amount_cents=300,
        origin=Origin(T0),
    )

    assert done == bank.Transferred(balance_cents=-200, to_balance_cents=300)


async def test_transfer_to_another_card_of_the_same_member_is_not_authorized(
    db: AsyncSession,
) -> None:
    sender = await make_member(db, balance_cents=1000)
    second_card = unique_uid()
    await members.add_card(db, sender.member_id, second_card, now=T0, actor=TESTER)

    with pytest.raises(NotAuthorized, match="own account"):
        await bank.transfer(
            db,
            card_uid=card(sender),
            to_card_uid=second_card,
            amount_cents=1,
            origin=Origin(T0),
        )

    assert await _balance(db, sender) == 1000


async def test_transfer_to_an_unknown_card_names_that_card(db: AsyncSession) -> None:
    sender = await make_member(db, balance_cents=1000)
    stranger = unique_uid()

    with pytest.raises(UnknownCard) as raised:
        await bank.transfer(
            db, card_uid=card(sender), to_card_uid=stranger, amount_cents=1, origin=Origin(T0)
        )

    assert raised.value.fields == {"card": stranger}


async def test_transfer_from_a_blocked_card_names_that_card(db: AsyncSession) -> None:
    sender = await make_member(db, balance_cents=1000)
    receiver = await make_member(db)
    await db.execute(update(Card).where(Card.uid == sender.card_uid).values(blocked=True))

    with pytest.raises(CardBlocked) as raised:
        await bank.transfer(
            db,
            card_uid=card(sender),
            to_card_uid=card(receiver),
            amount_cents=1,
            origin=Origin(T0),
        )

    assert raised.value.fields == {"card": sender.card_uid}


# --- payout ---


async def test_payout_takes_cash_out_of_the_box_for_a_treasurer(
    db: AsyncSession, clock: FrozenClock
) -> None:
    treasurer = await make_treasurer(db, balance_cents=70)
    box = await make_box(db, balance_cents=5000)

    outcome = await _payout(db, treasurer, box, 1200, clock)

    assert outcome == bank.PaidOut(target_balance_cents=3800)
    entry = (await cash_boxes.statement(db, box.id))[0]
    assert (entry.kind, entry.amount_cents, entry.member_id) == (
        "payout",
        -1200,
        treasurer.member_id,
    )
    assert await _balance(db, treasurer) == 70  # the box's cash, not the member's money
    await _invariants(db)


async def test_payout_without_a_pin_raises_pin_required(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    box = await make_box(db, balance_cents=5000)

    with pytest.raises(PinRequired):
        await _payout(db, member, box, 100, clock)


async def test_payout_with_a_wrong_pin_pays_nothing_and_counts(
    db: AsyncSession, clock: FrozenClock
) -> None:
    treasurer = await make_treasurer(db)
    box = await make_box(db, balance_cents=5000)

    outcome = await _payout(db, treasurer, box, 100, clock, pin=WRONG)

    assert outcome == pins.Rejected(failures=1, attempts_left=2)
    assert await _box_balance(db, box) == 5000


async def test_payout_fourth_attempt_within_fifteen_minutes_is_locked_even_with_the_right_pin(
    db: AsyncSession, clock: FrozenClock
) -> None:
    treasurer = await make_treasurer(db)
    box = await make_box(db, balance_cents=5000)
    wrong = []
    for _ in range(3):
        wrong.append(await _payout(db, treasurer, box, 100, clock, pin=WRONG))
        clock.advance(timedelta(minutes=1))
    clock.advance(timedelta(minutes=10))

    fourth = await _payout(db, treasurer, box, 100, clock)

    locked_until = T0 + timedelta(minutes=2 + 15)
    assert wrong == [
        pins.Rejected(1, 2),
        pins.Rejected(2, 1),
        pins.Locked(locked_until, failures=3, just_locked=True),
    ]
    assert fourth == pins.Locked(locked_until, failures=3, just_locked=False)
    assert await _box_balance(db, box) == 5000


async def test_payout_after_the_lock_expires_pays(db: AsyncSession, clock: FrozenClock) -> None:
    treasurer = await make_treasurer(db)
    box = await make_box(db, balance_cents=5000)
    for _ in range(3):
        await _payout(db, treasurer, box, 100, clock, pin=WRONG)
    clock.advance(timedelta(minutes=15))

    outcome = await _payout(db, treasurer, box, 100, clock)

    assert outcome == bank.PaidOut(target_balance_cents=4900)


async def test_payout_beyond_the_box_balance_is_box_short_and_pays_nothing(
    db: AsyncSession, clock: FrozenClock
) -> None:
    treasurer = await make_treasurer(db)
    box = await make_box(db, balance_cents=500)

    outcome = await _payout(db, treasurer, box, 501, clock)

    assert outcome == bank.BoxShort(balance_cents=500, needed_cents=501)
    assert await _box_balance(db, box) == 500
    await _invariants(db)


async def test_payout_from_an_unknown_target_costs_no_pin_attempt(
    db: AsyncSession, clock: FrozenClock
) -> None:
    treasurer = await make_treasurer(db)
    nowhere = cash_boxes.Box(0, "nowhere", "", 0)

    with pytest.raises(UnknownTarget):
        await _payout(db, treasurer, nowhere, 100, clock, pin=WRONG)

    failures = await db.scalar(select(Member.pin_failures).where(Member.id == treasurer.member_id))
    assert failures == 0


async def test_payout_failures_are_logged_without_the_pin(
    db: AsyncSession, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    treasurer = await make_treasurer(db)
    box = await make_box(db, balance_cents=5000)
    caplog.set_level(logging.DEBUG)

    for _ in range(4):
        await _payout(db, treasurer, box, 100, clock, pin="98765432")

    logged = [r for r in caplog.records if r.name == "makerbus.bank"]
    assert [(r.levelname, r.__dict__["failures"]) for r in logged] == [
        ("WARNING", n) for n in (1, 2, 3, 3)
    ]
    assert {r.__dict__["member_id"] for r in logged} == {treasurer.member_id}
    assert [r.__dict__.get("attempts_left") for r in logged] == [2, 1, None, None]
    everything = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    # As a whole token: debug records of other libraries print object addresses, and a hex
    # address can contain the digits of a 4-digit PIN by chance.
    assert not re.search(r"(?<![0-9A-Za-z])98765432(?![0-9A-Za-z])", everything)
    assert not re.search(rf"(?<![0-9A-Za-z]){PIN}(?![0-9A-Za-z])", everything)


# --- history ---


async def test_history_lists_the_newest_lines_first_up_to_the_limit(db: AsyncSession) -> None:
    member = await make_member(db, balance_cents=100)
    box = await make_box(db)
    for amount in (1, 2, 3):
        await bank.topup(
            db, card_uid=card(member), amount_cents=amount, target=box.slug, origin=Origin(T0)
        )

    lines = await bank.history(db, card_uid=card(member), limit=3)

    assert [(line.kind, line.amount_cents, line.balance_after_cents) for line in lines] == [
        ("topup", 3, 106),
        ("topup", 2, 103),
        ("topup", 1, 101),
    ]
    assert lines[0].at == T0


async def test_history_defaults_to_ten_lines(db: AsyncSession) -> None:
    member = await make_member(db, balance_cents=100)
    box = await make_box(db)
    for _ in range(12):
        await bank.topup(
            db, card_uid=card(member), amount_cents=1, target=box.slug, origin=Origin(T0)
        )

    lines = await bank.history(db, card_uid=card(member))

    assert len(lines) == 10


async def test_history_of_a_blocked_card_raises_card_blocked(db: AsyncSession) -> None:
    member = await make_member(db, balance_cents=100)
    await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    with pytest.raises(CardBlocked):
        await bank.history(db, card_uid=card(member))


# --- many devices at once, on real connections ---


@pytest.fixture
async def committed_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real, separately committing connections (no rollback wrapper): for races."""
    engine = make_async_engine(database_url, pool_size=10)
    yield async_session_factory(engine)
    await engine.dispose()


async def test_concurrent_topups_and_payouts_on_one_box_keep_it_exact_and_never_negative(
    committed_sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = SystemClock().now()
    async with committed_sessions() as db, db.begin():
        box = await make_box(db, balance_cents=1000)
        payers = [await make_member(db) for _ in range(4)]
        treasurers = [await make_treasurer(db) for _ in range(4)]
    rng = random.Random(4)
    jobs = [("topup", rng.choice(payers), rng.randint(1, 300)) for _ in range(30)]
    jobs += [("payout", rng.choice(treasurers), rng.randint(100, 600)) for _ in range(30)]
    rng.shuffle(jobs)

    async def run_job(kind: str, member: NewMember, amount: int) -> tuple[str, int]:
        origin = Origin(now)
        async with committed_sessions() as db, db.begin():
            if kind == "topup":
                await bank.topup(
                    db, card_uid=card(member), amount_cents=amount, target=box.slug, origin=origin
                )
                return "topup", amount
            outcome = await bank.payout(
                db,
                card_uid=card(member),
                pin=PIN,
                target=box.slug,
                amount_cents=amount,
                origin=origin,
            )
            if isinstance(outcome, bank.PaidOut):
                return "paid", -amount
            assert isinstance(outcome, bank.BoxShort)
            return "short", 0

    results = await asyncio.gather(*(run_job(*job) for job in jobs))

    async with committed_sessions() as db:
        balance = await _box_balance(db, box)
        entries = (
            await db.scalars(
                select(CashBoxEntry.balance_after_cents).where(CashBoxEntry.box_id == box.id)
            )
        ).all()
        assert await cash_boxes.mismatched(db) == []
        await assert_ledger_matches_balances(db)
    assert balance == 1000 + sum(delta for _, delta in results)
    assert min(entries) >= 0
    assert {outcome for outcome, _ in results} == {"topup", "paid", "short"}


async def test_concurrent_opposite_transfers_neither_deadlock_nor_lose_money(
    committed_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_sessions() as db, db.begin():
        ada, bob = (
            await make_member(db, balance_cents=500),
            await make_member(db, balance_cents=500),
        )

    async def send(sender: NewMember, receiver: NewMember) -> None:
        async with committed_sessions() as db, db.begin():
            await bank.transfer(
                db,
                card_uid=card(sender),
                to_card_uid=card(receiver),
                amount_cents=7,
                origin=Origin(SystemClock().now()),
            )

    await asyncio.gather(*(send(ada, bob) if i % 2 else send(bob, ada) for i in range(40)))

    async with committed_sessions() as db:
        assert (await _balance(db, ada), await _balance(db, bob)) == (500, 500)
        await assert_ledger_matches_balances(db)
