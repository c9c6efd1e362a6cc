"""Treasurer PINs: bcrypt hashes, a failure count and a 15-minute lock after 3 wrong PINs.

A PIN is never logged, stored in clear or returned. Checking one locks the member's row first
(`FOR UPDATE`; SQLite serialises writers anyway), so parallel guesses queue behind each other
instead of all being tried before the count catches up.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import bcrypt
from sqlalchemy import and_, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.db import run
from core.errors import NotFound, PinRequired
from core.formats import PIN_PATTERN
from core.members import update_or_fail
from core.models import Member

_PIN = re.compile(PIN_PATTERN)
MAX_FAILURES = 3
LOCK_DURATION = timedelta(minutes=15)
# bcrypt's usual cost (~0.2 s a check): slow by design; tests may pass fewer rounds.
BCRYPT_ROUNDS = 12


@dataclass(frozen=True)
class Accepted:
    """The PIN was right; the failure count is back at zero."""


@dataclass(frozen=True)
class Rejected:
    """A wrong PIN, counted; `attempts_left` more before the lock."""

    failures: int
    attempts_left: int


@dataclass(frozen=True)
class Locked:
    """Locked until `until`; `just_locked` when this attempt's failure set the lock."""

    until: datetime
    failures: int
    just_locked: bool


Verdict = Accepted | Rejected | Locked


def check_format(pin: str) -> str:
    """A PIN is 4-8 decimal digits; ValueError otherwise (the message never echoes it)."""
    if not _PIN.fullmatch(pin):
        raise ValueError("a PIN is 4 to 8 digits")
    return pin


def _hash(pin: str, rounds: int) -> str:
    return bcrypt.hashpw(pin.encode(), bcrypt.gensalt(rounds)).decode()


async def set_pin(
    db: AsyncSession,
    member_id: int,
    pin: str,
    *,
    actor: Actor,
    now: datetime,
    rounds: int = BCRYPT_ROUNDS,
) -> None:
    """Give the member a PIN (making them a treasurer); clears failures and any lock."""
    check_format(pin)
    # bcrypt releases the GIL: hashing in a thread keeps the event loop serving others.
    pin_hash = await asyncio.to_thread(_hash, pin, rounds)
    await _store(db, member_id, pin_hash, actor=actor, now=now)


async def clear_pin(db: AsyncSession, member_id: int, *, actor: Actor, now: datetime) -> None:
    """Remove the member's PIN: they are no longer a treasurer."""
    await _store(db, member_id, None, actor=actor, now=now)


async def _store(
    db: AsyncSession, member_id: int, pin_hash: str | None, *, actor: Actor, now: datetime
) -> None:
    """The new hash (None: no PIN) with no failures and no lock, and its audit row, which
    says whether there is a PIN: never the PIN nor its hash."""
    had_pin = bool(
        await db.scalar(select(Member.pin_hash.is_not(None)).where(Member.id == member_id))
    )
    await update_or_fail(db, member_id, pin_hash=pin_hash, pin_failures=0, pin_locked_until=None)
    has_pin = pin_hash is not None
    action = ("reset_pin" if had_pin else "set_pin") if has_pin else "clear_pin"
    old, new = audit.values(has_pin=had_pin), audit.values(has_pin=has_pin)
    await audit.MEMBER.record(db, member_id, action, actor=actor, now=now, old=old, new=new)


async def verify(db: AsyncSession, member_id: int, pin: str, *, now: datetime) -> Verdict:
    """Check a PIN and keep count; the caller must keep the changes even when it says no.

    Raises PinRequired when the member has no PIN. While locked, even the right PIN is
    `Locked`; the third wrong PIN in a row locks for 15 minutes; a right PIN resets the count.
    """
    row = (
        await run(
            db,
            select(Member.pin_hash, Member.pin_failures, Member.pin_locked_until)
            .where(Member.id == member_id)
            .with_for_update(),
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no member {member_id}")
    if row.pin_hash is None:
        raise PinRequired("this card has no PIN: payouts need a treasurer's card")
    if row.pin_locked_until is not None and row.pin_locked_until > now:
        return Locked(row.pin_locked_until, row.pin_failures, just_locked=False)
    right = await asyncio.to_thread(bcrypt.checkpw, pin.encode(), row.pin_hash.encode())
    if right:
        if row.pin_failures or row.pin_locked_until is not None:
            await run(
                db,
                update(Member)
                .where(Member.id == member_id)
                .values(pin_failures=0, pin_locked_until=None),
            )
        return Accepted()
    return await _count_failure(db, member_id, now)


async def _count_failure(db: AsyncSession, member_id: int, now: datetime) -> Rejected | Locked:
    # An expired lock starts a fresh count; the count stays at MAX_FAILURES while locked so
    # that an admin can see why.
    expired = and_(Member.pin_locked_until.is_not(None), Member.pin_locked_until <= now)
    failures = case((expired, 0), else_=Member.pin_failures) + 1
    until = literal(now + LOCK_DURATION, Member.pin_locked_until.type)
    row = (
        await run(
            db,
            update(Member)
            .where(Member.id == member_id)
            .values(
                pin_failures=failures,
                pin_locked_until=case((failures >= MAX_FAILURES, until), else_=None),
            )
            .returning(Member.pin_failures, Member.pin_locked_until),
        )
    ).one()
    if row.pin_locked_until is not None:
        return Locked(row.pin_locked_until, row.pin_failures, just_locked=True)
    return Rejected(row.pin_failures, MAX_FAILURES - row.pin_failures)
