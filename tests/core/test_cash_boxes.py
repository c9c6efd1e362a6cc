"""Cash boxes and their ledger on a real database: a box balance is the sum of its entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import cash_boxes
from core.cash_boxes import BoxEntryKind
from core.errors import Conflict, UnknownTarget
from core.models import CashBox
from core.origin import Origin
from tests.factories import T0, make_member, unique_slug

ORIGIN = Origin(now=T0, request_id="r-1", actor="test")


async def make_box(db: AsyncSession, *, balance_cents: int = 0) -> cash_boxes.Box:
    """A new box, funded by a donation entry when `balance_cents` is given."""
    box = await cash_boxes.create(db, slug=unique_slug("box"), name="Test box", now=T0)
    if balance_cents:
        await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, balance_cents, ORIGIN)
    return await cash_boxes.find(db, box.slug)


async def test_create_box_starts_empty(db: AsyncSession) -> None:
    slug = unique_slug("box")

    created = await cash_boxes.create(db, slug=slug, name=" Drinks fund ", now=T0)

    assert await cash_boxes.find(db, slug) == created
    assert (created.slug, created.name, created.balance_cents) == (slug, "Drinks fund", 0)


async def test_create_with_a_taken_slug_raises_conflict(db: AsyncSession) -> None:
    box = await make_box(db)

    with pytest.raises(Conflict):
        await cash_boxes.create(db, slug=box.slug, name="Again", now=T0)


@pytest.mark.parametrize("slug", ["A-box", "x", "with space", "a" * 41, "ümlaut", "box\n"])
async def test_create_with_a_bad_slug_raises_value_error(db: AsyncSession, slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        await cash_boxes.create(db, slug=slug, name="Bad", now=T0)


async def test_create_without_a_name_raises_value_error(db: AsyncSession) -> None:
    with pytest.raises(ValueError, match="name"):
        await cash_boxes.create(db, slug=unique_slug("box"), name="  ", now=T0)


async def test_find_unknown_slug_raises_unknown_target_naming_it(db: AsyncSession) -> None:
    with pytest.raises(UnknownTarget) as raised:
        await cash_boxes.find(db, "no-such-box")

    assert raised.value.fields == {"target": "no-such-box"}


async def test_all_boxes_are_sorted_by_slug(db: AsyncSession) -> None:
    for slug in ("zz-last-box", "aa-first-box", "mm-middle-box"):
        await cash_boxes.create(db, slug=slug, name=slug, now=T0)

    slugs = [box.slug for box in await cash_boxes.all_boxes(db)]

    assert slugs == sorted(slugs)
    assert {"zz-last-box", "aa-first-box", "mm-middle-box"} <= set(slugs)


async def test_post_credit_records_an_entry_with_the_balance_after(db: AsyncSession) -> None:
    box = await make_box(db)

    first = await cash_boxes.post(db, box.id, BoxEntryKind.TOPUP, 500, ORIGIN)
    second = await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, 250, ORIGIN)

    assert (first, second) == (500, 750)
    entries = await cash_boxes.statement(db, box.id)
    assert [(e.kind, e.amount_cents, e.balance_after_cents) for e in entries] == [
        ("donation", 250, 750),
        ("topup", 500, 500),
    ]
    assert (entries[0].request_id, entries[0].actor, entries[0].created_at) == ("r-1", "test", T0)


async def test_post_debit_to_exactly_zero_succeeds(db: AsyncSession) -> None:
    box = await make_box(db, balance_cents=300)

    balance = await cash_boxes.post(db, box.id, BoxEntryKind.PAYOUT, -300, ORIGIN)

    assert balance == 0


async def test_post_debit_below_zero_changes_nothing(db: AsyncSession) -> None:
    box = await make_box(db, balance_cents=300)

    balance = await cash_boxes.post(db, box.id, BoxEntryKind.PAYOUT, -301, ORIGIN)

    assert balance is None
    assert (await cash_boxes.find(db, box.slug)).balance_cents == 300
    assert [e.kind for e in await cash_boxes.statement(db, box.id)] == ["donation"]


async def test_statement_limit_keeps_the_newest(db: AsyncSession) -> None:
    box = await make_box(db)
    for amount in (1, 2, 3):
        await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, amount, ORIGIN)

    entries = await cash_boxes.statement(db, box.id, limit=2)

    assert [e.amount_cents for e in entries] == [3, 2]


async def test_postings_keep_balances_equal_to_their_entries(db: AsyncSession) -> None:
    box = await make_box(db, balance_cents=1000)

    await cash_boxes.post(db, box.id, BoxEntryKind.PAYOUT, -400, ORIGIN)
    await cash_boxes.post(db, box.id, BoxEntryKind.PAYOUT, -700, ORIGIN)  # refused

    assert await cash_boxes.mismatched(db) == []


async def test_mismatched_reports_a_balance_changed_without_an_entry(db: AsyncSession) -> None:
    box = await make_box(db, balance_cents=1000)

    await db.execute(update(CashBox).where(CashBox.id == box.id).values(balance_cents=999))

    assert (box.slug, 999, 1000) in await cash_boxes.mismatched(db)


async def test_database_refuses_a_negative_box_balance(db: AsyncSession) -> None:
    box = await make_box(db)

    with pytest.raises(IntegrityError):
        async with db.begin_nested():
            await db.execute(update(CashBox).where(CashBox.id == box.id).values(balance_cents=-1))


async def test_period_statement_adds_up_from_the_balance_before_it(db: AsyncSession) -> None:
    box = await make_box(db)
    member = await make_member(db, name="Grace Hopper")
    before, during, after = T0, T0 + timedelta(days=3), T0 + timedelta(days=10)
    await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, 1000, replace(ORIGIN, now=before))
    await cash_boxes.post(
        db, box.id, BoxEntryKind.TOPUP, 500, replace(ORIGIN, now=during), member_id=member.member_id
    )
    await cash_boxes.post(
        db, box.id, BoxEntryKind.PAYOUT, -300, replace(ORIGIN, now=during), note="coffee #1"
    )
    await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, 50, replace(ORIGIN, now=after))

    found = await cash_boxes.period_statement(
        db, await cash_boxes.find(db, box.slug), T0 + timedelta(days=1), after
    )

    assert (found.opening_cents, found.paid_in_cents, found.paid_out_cents) == (1000, 500, 300)
    assert found.closing_cents == 1200 == found.lines[-1].balance_after_cents
    assert [(line.kind, line.member_name, line.note) for line in found.lines] == [
        ("topup", "Grace Hopper", None),
        ("payout", None, "coffee #1"),
    ]


async def test_period_statement_without_entries_opens_and_closes_alike(db: AsyncSession) -> None:
    box = await make_box(db, balance_cents=700)

    found = await cash_boxes.period_statement(
        db, box, T0 + timedelta(days=1), T0 + timedelta(days=2)
    )

    assert (found.opening_cents, found.closing_cents, found.lines) == (700, 700, [])


async def test_statement_since_until_keeps_the_entries_of_the_period(db: AsyncSession) -> None:
    box = await make_box(db)
    for day in (0, 1, 2):
        await cash_boxes.post(
            db,
            box.id,
            BoxEntryKind.DONATION,
            day + 1,
            replace(ORIGIN, now=T0 + timedelta(days=day)),
        )

    entries = await cash_boxes.statement(
        db, box.id, since=T0 + timedelta(days=1), until=T0 + timedelta(days=2)
    )

    assert [e.amount_cents for e in entries] == [2]
