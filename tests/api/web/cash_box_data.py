"""A committed cash box with a known month, for the statement's page and PDF tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import cash_boxes
from core.cash_boxes import BoxEntryKind
from core.origin import Origin
from tests.factories import T0, make_member, unique_slug

IN_NOVEMBER = Origin(now=T0, actor="test")  # 2026-11-21


async def box_with_a_november(db: AsyncSession, *, name: str, payout_note: str) -> str:
    """A box with 100.00 from October and, in November 2026, a top-up of 12.50 by Grace
    Hopper, a payout of 30.00 (with the note) and a donation of 0.75; its slug."""
    box = await cash_boxes.create(db, slug=unique_slug("box"), name=name, now=T0)
    member = await make_member(db, name="Grace Hopper")
    october = replace(IN_NOVEMBER, now=T0 - timedelta(days=30))
    await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, 10_000, october)
    await cash_boxes.post(
        db, box.id, BoxEntryKind.TOPUP, 1_250, IN_NOVEMBER, member_id=member.member_id
    )
    await cash_boxes.post(db, box.id, BoxEntryKind.PAYOUT, -3_000, IN_NOVEMBER, note=payout_note)
    await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, 75, IN_NOVEMBER)
    await db.commit()
    return box.slug
