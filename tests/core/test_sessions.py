"""Machine sessions on a real database: every balance, refund and ledger entry to the cent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import sessions
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.errors import (
    InsufficientFunds,
    MachineBusy,
    NotAuthorized,
    SessionClosed,
    UnknownSession,
)
from core.members import NewMember
from core.models import LedgerEntry, MachineSession, Member
from tests.factories import (
    T0,
    assert_ledger_matches_balances,
    grant,
    make_machine,
    make_member,
)

HEARTBEAT = timedelta(seconds=30)


async def _balance(db: AsyncSession, member: NewMember) -> int:
    balance = await db.scalar(select(Member.balance_cents).where(Member.id == member.member_id))
    assert balance is not None
    return balance


async def _entries(db: AsyncSession, member: NewMember) -> list[tuple[str, int]]:
    rows = await db.execute(
        select(LedgerEntry.kind, LedgerEntry.amount_cents)
        .where(LedgerEntry.member_id == member.member_id)
        .order_by(LedgerEntry.id)
    )
    return [(kind, amount) for kind, amount in rows.all()]


async def _start(
    db: AsyncSession, machine: DeviceRef, member: NewMember, clock: FrozenClock
) -> sessions.Running:
    assert member.card_uid is not None
    return await sessions.start(
        db,
        device_id=machine.id,
        card_uid=member.card_uid,
        now=clock.now(),
        heartbeat_period=HEARTBEAT,
        request_id="r",
    )


async def _beat(
    db: AsyncSession, machine: DeviceRef, session_id: int, clock: FrozenClock
) -> sessions.Running | sessions.Unfunded:
    return await sessions.heartbeat(
        db,
        device_id=machine.id,
        session_id=session_id,
        now=clock.now(),
        heartbeat_period=HEARTBEAT,
        request_id="h",
    )


async def _run(
    db: AsyncSession, machine: DeviceRef, session_id: int, clock: FrozenClock, minutes: float
) -> None:
    """Heartbeat every 30 s for `minutes`."""
    for _ in range(int(minutes * 2)):
        clock.advance(HEARTBEAT)
        await _beat(db, machine, session_id, clock)


async def test_start_charges_login_fee_and_first_interval(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)

    started = await _start(db, machine, member, clock)

    assert started.paid_until == T0 + timedelta(minutes=15)
    assert (started.charged_cents, started.balance_cents, started.remaining_s) == (400, 600, 900)
    assert started.max_s == 900 + 2 * 900  # 600 cents buy two more intervals of 300
    assert await _entries(db, member) == [
        ("opening", 1000),
        ("session_login_fee", -100),
        ("session_interval", -300),
    ]
    await assert_ledger_matches_balances(db)


async def test_start_with_too_little_money_charges_nothing(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))
    member = await make_member(db, balance_cents=399)
    await grant(db, machine, member)

    with pytest.raises(InsufficientFunds):
        async with db.begin_nested():  # the runtime's transaction: a refusal rolls it back
            await _start(db, machine, member, clock)

    assert await _balance(db, member) == 399
    open_sessions = await db.scalar(
        select(MachineSession.id).where(MachineSession.device_id == machine.id)
    )
    assert open_sessions is None


async def test_credit_limit_lets_a_member_start_below_zero(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))
    member = await make_member(db, balance_cents=100)
    await db.execute(
        update(Member).where(Member.id == member.member_id).values(credit_limit_cents=300)
    )
    await grant(db, machine, member)

    started = await _start(db, machine, member, clock)

    assert started.balance_cents == -300


async def test_members_without_authorization_cannot_start(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db)
    member = await make_member(db, balance_cents=5000)

    with pytest.raises(NotAuthorized):
        await _start(db, machine, member, clock)


async def test_same_member_again_gets_the_open_session_and_others_are_busy(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db)
    first, second = (
        await make_member(db, balance_cents=5000),
        await make_member(db, balance_cents=5000),
    )
    await grant(db, machine, first)
    await grant(db, machine, second)
    opened = await _start(db, machine, first, clock)
    clock.advance(timedelta(minutes=1))

    again = await _start(db, machine, first, clock)

    assert (again.session_id, again.charged_cents) == (opened.session_id, 0)
    assert again.remaining_s == opened.remaining_s - 60
    with pytest.raises(MachineBusy):
        await _start(db, machine, second, clock)
    await assert_ledger_matches_balances(db)


async def test_heartbeat_charges_the_next_interval_contiguously(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(0, 10, 2))
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)

    clock.advance(timedelta(seconds=20))
    quiet = await _beat(db, machine, opened.session_id, clock)  # 100 s paid: nothing due
    clock.advance(timedelta(seconds=45))
    paying = await _beat(db, machine, opened.session_id, clock)  # 55 s left: prepay

    assert isinstance(quiet, sessions.Running)
    assert quiet.charged_cents == 0
    assert isinstance(paying, sessions.Running)
    assert paying.charged_cents == 20
    assert paying.paid_until == T0 + timedelta(minutes=4)
    await assert_ledger_matches_balances(db)


async def test_unpaid_heartbeat_reports_paid_until_and_charges_nothing(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(0, 10, 1))
    member = await make_member(db, balance_cents=20)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)  # two 1-minute intervals: 120 s paid

    clock.advance(timedelta(seconds=70))
    outcome = await _beat(db, machine, opened.session_id, clock)

    assert outcome == sessions.Unfunded(opened.session_id, T0 + timedelta(minutes=2), 50, 0)
    assert await _balance(db, member) == 0
    last = await db.scalar(
        select(MachineSession.last_heartbeat_at).where(MachineSession.id == opened.session_id)
    )
    assert last == clock.now()


async def test_a_start_prepays_beyond_two_heartbeats_so_one_lost_heartbeat_is_harmless(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(0, 10, 1))
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)

    clock.advance(2 * HEARTBEAT)  # the heartbeat at +30 s was lost
    late = await _beat(db, machine, opened.session_id, clock)

    assert (opened.charged_cents, opened.paid_until) == (20, T0 + timedelta(minutes=2))
    assert isinstance(late, sessions.Running)
    assert late.paid_until == T0 + timedelta(minutes=3)


@pytest.mark.parametrize(
    ("tariff", "override", "minutes", "expected_total", "expected_balance"),
    [
        pytest.param(Tariff(100, 20, 15), None, 4.5, 100 + 5 * 20, 10_000 - 200, id="laser"),
        pytest.param(Tariff(0, 20, 15), None, 20, 21 * 20, 10_000 - 420, id="zero-login-fee"),
        pytest.param(Tariff(0, 0, 60), None, 90, 0, 10_000, id="free-machine"),
        pytest.param(
            Tariff(100, 20, 15),
            TariffOverride(login_fee_cents=0, price_per_minute_cents=5),
            10,
            11 * 5,
            10_000 - 55,
            id="member-override",
        ),
        pytest.param(Tariff(50, 7, 1), None, 3.5, 50 + 4 * 7, 10_000 - 78, id="1-minute"),
        pytest.param(Tariff(0, 3, 60), None, 61, 62 * 3, 10_000 - 186, id="60-minute"),
    ],
)
async def test_a_whole_session_bills_to_the_cent(
    db: AsyncSession,
    clock: FrozenClock,
    tariff: Tariff,
    override: TariffOverride | None,
    minutes: float,
    expected_total: int,
    expected_balance: int,
) -> None:
    machine = await make_machine(db, tariff)
    member = await make_member(db, balance_cents=10_000)
    await grant(db, machine, member, override)
    opened = await _start(db, machine, member, clock)
    await _run(db, machine, opened.session_id, clock, minutes)
    clock.advance(timedelta(seconds=1))  # one second more starts one more billed minute

    ended = await sessions.end(
        db, device_id=machine.id, session_id=opened.session_id, now=clock.now(), request_id="e"
    )

    assert ended.total_cents == expected_total
    assert ended.balance_cents == expected_balance == await _balance(db, member)
    charged = -sum(amount for kind, amount in await _entries(db, member) if kind != "opening")
    assert charged == expected_total
    assert ended.refund_cents >= 0
    await assert_ledger_matches_balances(db)


async def test_end_refunds_the_unused_prepaid_time_as_its_own_entry(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)
    clock.advance(timedelta(minutes=2, seconds=10))

    ended = await sessions.end(
        db, device_id=machine.id, session_id=opened.session_id, now=clock.now(), request_id="e"
    )

    assert (ended.duration_s, ended.total_cents, ended.refund_cents) == (130, 160, 240)
    assert (await _entries(db, member))[-1] == ("session_refund", 240)


async def test_heartbeat_after_the_end_gets_session_closed(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db)
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)
    await sessions.end(
        db, device_id=machine.id, session_id=opened.session_id, now=clock.now(), request_id="e"
    )

    with pytest.raises(SessionClosed):
        await _beat(db, machine, opened.session_id, clock)


async def test_another_machines_session_is_unknown(db: AsyncSession, clock: FrozenClock) -> None:
    machine, other = await make_machine(db), await make_machine(db)
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)

    with pytest.raises(UnknownSession):
        await _beat(db, other, opened.session_id, clock)


async def _reaped_on(
    db: AsyncSession, machine: DeviceRef, clock: FrozenClock
) -> list[sessions.Ended]:
    """What a reaper run closes on this test's machine (the shared test database may hold
    open sessions that other tests committed)."""
    reaped = await sessions.reap(db, now=clock.now(), heartbeat_period=HEARTBEAT)
    return [ended for ended in reaped if ended.device_slug == machine.slug]


async def test_reaper_closes_silent_sessions_billed_to_the_last_heartbeat(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(0, 10, 15))
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)
    await _run(db, machine, opened.session_id, clock, 2)  # last heartbeat at T0 + 2 min
    clock.advance(3 * HEARTBEAT)

    reaped = await _reaped_on(db, machine, clock)

    assert [(r.session_id, r.reason, r.duration_s, r.total_cents) for r in reaped] == [
        (opened.session_id, "no_heartbeat", 120, 20)
    ]
    assert reaped[0].device_slug == machine.slug
    assert await _balance(db, member) == 1000 - 20
    await assert_ledger_matches_balances(db)


async def test_reaper_leaves_live_sessions_alone(db: AsyncSession, clock: FrozenClock) -> None:
    machine = await make_machine(db)
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    await _start(db, machine, member, clock)
    clock.advance(2 * HEARTBEAT)

    assert await _reaped_on(db, machine, clock) == []


async def test_reaper_closes_sessions_past_their_paid_time(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(0, 10, 1))
    member = await make_member(db, balance_cents=20)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)
    clock.advance(timedelta(seconds=70))
    await _beat(db, machine, opened.session_id, clock)  # unfunded
    clock.advance(timedelta(seconds=50))  # the paid time (120 s) is over

    reaped = await _reaped_on(db, machine, clock)

    assert [(r.reason, r.duration_s, r.total_cents) for r in reaped] == [("expired", 70, 20)]
    with pytest.raises(SessionClosed):
        await _beat(db, machine, opened.session_id, clock)


async def test_admin_end_closes_and_bills(db: AsyncSession, clock: FrozenClock) -> None:
    machine = await make_machine(db, Tariff(0, 10, 15))
    member = await make_member(db, balance_cents=1000)
    await grant(db, machine, member)
    opened = await _start(db, machine, member, clock)
    clock.advance(timedelta(minutes=3))

    ended = await sessions.admin_end(
        db, session_id=opened.session_id, now=clock.now(), actor=Actor.person("admin")
    )

    assert (ended.reason, ended.total_cents, ended.refund_cents) == ("admin", 30, 120)
    await assert_ledger_matches_balances(db)


async def test_sessions_closed_without_the_device_wait_to_be_told(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db)
    by_device, by_admin = (
        await make_member(db, balance_cents=1000),
        await make_member(db, balance_cents=1000),
    )
    other = await make_machine(db)
    await grant(db, machine, by_device)
    await grant(db, other, by_admin)
    own = await _start(db, machine, by_device, clock)
    admins = await _start(db, other, by_admin, clock)
    await sessions.end(
        db, device_id=machine.id, session_id=own.session_id, now=clock.now(), request_id="e"
    )
    await sessions.admin_end(
        db, session_id=admins.session_id, now=clock.now(), actor=Actor.person("admin")
    )

    notices = await sessions.untold(db)
    await sessions.mark_told(db, [n.session_id for n in notices], now=clock.now())

    assert [(n.session_id, n.device_slug, n.reason) for n in notices] == [
        (admins.session_id, other.slug, "admin")
    ]
    assert await sessions.untold(db) == []


async def test_open_counts_count_only_open_sessions_per_machine(
    db: AsyncSession, clock: FrozenClock
) -> None:
    busy, ended, idle = [await make_machine(db) for _ in range(3)]
    member = await make_member(db, balance_cents=1000)
    for machine in (busy, ended):
        await grant(db, machine, member)
    await _start(db, busy, member, clock)
    finished = await _start(db, ended, member, clock)
    await sessions.admin_end(
        db, session_id=finished.session_id, now=clock.now(), actor=Actor.person("admin")
    )

    counts = await sessions.open_counts(db, [busy.id, ended.id, idle.id])

    assert counts == {busy.id: 1, ended.id: 0, idle.id: 0}
