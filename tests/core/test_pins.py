"""Treasurer PINs on a real database: bcrypt hashes, the failure count and the 15-minute lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import bcrypt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import pins
from core.clock import FrozenClock, SystemClock
from core.db import async_session_factory, make_async_engine
from core.errors import NotFound, PinRequired
from core.models import Member
from tests.factories import T0, TESTER, make_member

PIN = "4711"
WRONG = "0000"
FAST = 4  # bcrypt rounds: the lowest cost keeps the tests quick; the rules are the same


async def make_treasurer(db: AsyncSession, pin: str = PIN) -> int:
    member = await make_member(db, name="Treasurer")
    await pins.set_pin(db, member.member_id, pin, rounds=FAST, actor=TESTER, now=T0)
    return member.member_id


async def _stored(db: AsyncSession, member_id: int) -> tuple[str | None, int, object]:
    row = (
        await db.execute(
            select(Member.pin_hash, Member.pin_failures, Member.pin_locked_until).where(
                Member.id == member_id
            )
        )
    ).one()
    return row.pin_hash, row.pin_failures, row.pin_locked_until


async def _fail(db: AsyncSession, member_id: int, clock: FrozenClock, times: int) -> pins.Verdict:
    verdict: pins.Verdict = pins.Accepted()
    for _ in range(times):
        verdict = await pins.verify(db, member_id, WRONG, now=clock.now())
    return verdict


async def test_set_pin_stores_a_bcrypt_hash_not_the_pin(db: AsyncSession) -> None:
    member = await make_member(db)

    await pins.set_pin(db, member.member_id, "12345678", rounds=FAST, actor=TESTER, now=T0)

    pin_hash, failures, locked = await _stored(db, member.member_id)
    assert pin_hash is not None
    assert "12345678" not in pin_hash
    assert bcrypt.checkpw(b"12345678", pin_hash.encode())
    assert (failures, locked) == (0, None)


def test_default_cost_is_bcrypts_usual_twelve_rounds() -> None:
    assert pins.BCRYPT_ROUNDS >= 12


@pytest.mark.parametrize(
    "pin", ["123", "123456789", "12a4", "", " 1234", "1234\n", "\uff11\uff12\uff13\uff14"]
)
async def test_set_pin_with_a_bad_format_raises_value_error(db: AsyncSession, pin: str) -> None:
    member = await make_member(db)

    with pytest.raises(ValueError, match="4 to 8 digits") as raised:
        await pins.set_pin(db, member.member_id, pin, rounds=FAST, actor=TESTER, now=T0)

    assert pin.strip() == "" or pin not in str(raised.value)


async def test_set_pin_for_an_unknown_member_raises_not_found(db: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await pins.set_pin(db, 10**9, PIN, rounds=FAST, actor=TESTER, now=T0)


async def test_verify_right_pin_is_accepted(db: AsyncSession, clock: FrozenClock) -> None:
    member_id = await make_treasurer(db)

    verdict = await pins.verify(db, member_id, PIN, now=clock.now())

    assert verdict == pins.Accepted()


async def test_verify_without_a_pin_raises_pin_required(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)

    with pytest.raises(PinRequired):
        await pins.verify(db, member.member_id, PIN, now=clock.now())


async def test_verify_wrong_pin_counts_and_tells_attempts_left(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member_id = await make_treasurer(db)

    first = await _fail(db, member_id, clock, 1)
    second = await _fail(db, member_id, clock, 1)

    assert (first, second) == (pins.Rejected(1, 2), pins.Rejected(2, 1))
    assert (await _stored(db, member_id))[1:] == (2, None)


async def test_verify_third_wrong_pin_locks_for_fifteen_minutes(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member_id = await make_treasurer(db)

    verdict = await _fail(db, member_id, clock, 3)

    until = clock.now() + timedelta(minutes=15)
    assert verdict == pins.Locked(until, failures=3, just_locked=True)
    assert (await _stored(db, member_id))[1:] == (3, until)


async def test_verify_fourth_attempt_within_fifteen_minutes_is_locked_even_with_the_right_pin(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member_id = await make_treasurer(db)
    await _fail(db, member_id, clock, 3)
    clock.advance(timedelta(minutes=14, seconds=59))

    verdict = await pins.verify(db, member_id, PIN, now=clock.now())

    assert isinstance(verdict, pins.Locked)
    assert not verdict.just_locked


async def test_verify_right_pin_after_the_lock_expires_is_accepted_and_resets(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member_id = await make_treasurer(db)
    await _fail(db, member_id, clock, 3)
    clock.advance(timedelta(minutes=15))

    verdict = await pins.verify(db, member_id, PIN, now=clock.now())

    assert verdict == pins.Accepted()
    assert (await _stored(db, member_id))[1:] == (0, None)


async def test_verify_wrong_pin_after_the_lock_expires_starts_a_fresh_count(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member_id = await make_treasurer(db)
    await _fail(db, member_id, clock, 3)
    clock.advance(timedelta(minutes=15))

    verdict = await _fail(db, member_id, clock, 1)

    assert verdict == pins.Rejected(1, 2)
    assert (await _stored(db, member_id))[1:] == (1, None)


async def test_verify_right_pin_resets_the_failure_count(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member_id = await make_treasurer(db)
    await _fail(db, member_id, clock, 2)

    await pins.verify(db, member_id, PIN, now=clock.now())
    verdict = await _fail(db, member_id, clock, 2)

    assert verdict == pins.Rejected(2, 1)


async def test_set_pin_lifts_a_lock(db: AsyncSession, clock: FrozenClock) -> None:
    member_id = await make_treasurer(db)
    await _fail(db, member_id, clock, 3)

    await pins.set_pin(db, member_id, "2468", rounds=FAST, actor=TESTER, now=T0)

    assert await pins.verify(db, member_id, "2468", now=clock.now()) == pins.Accepted()


async def test_clear_pin_makes_verify_require_a_pin(db: AsyncSession, clock: FrozenClock) -> None:
    member_id = await make_treasurer(db)

    await pins.clear_pin(db, member_id, actor=TESTER, now=T0)

    assert (await _stored(db, member_id))[0] is None
    with pytest.raises(PinRequired):
        await pins.verify(db, member_id, PIN, now=clock.now())


@pytest.fixture
async def committed_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real, separately committing connections (no rollback wrapper): for races."""
    engine = make_async_engine(database_url, pool_size=8)
    yield async_session_factory(engine)
    await engine.dispose()


async def test_parallel_wrong_guesses_are_checked_one_at_a_time_until_the_lock(
    committed_sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = SystemClock().now()
    async with committed_sessions() as db, db.begin():
        member_id = await make_treasurer(db)

    async def guess() -> pins.Verdict:
        async with committed_sessions() as db, db.begin():
            return await pins.verify(db, member_id, WRONG, now=now)

    verdicts = await asyncio.gather(*(guess() for _ in range(8)))

    rejected = [v for v in verdicts if isinstance(v, pins.Rejected)]
    locked = [v for v in verdicts if isinstance(v, pins.Locked)]
    assert sorted(v.attempts_left for v in rejected) == [1, 2]
    assert sorted(v.just_locked for v in locked) == [False] * 5 + [True]
