"""A member's own ledger, as the self-service pages and the JSON API read it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core import members, self_service
from core.ledger import EntryKind
from tests.factories import T0, TESTER, make_member


async def test_the_ledger_filtered_by_kind_keeps_only_that_kind_and_pages_within_it(
    db: AsyncSession,
) -> None:
    ada = await make_member(db, balance_cents=1000)
    for amount in (-100, 50, -200, -300):
        await members.correct_balance(
            db, ada.member_id, amount, reason=f"fix {amount}", now=T0, actor=TESTER
        )

    corrections = await self_service.ledger(db, ada.member_id, kind=EntryKind.CORRECTION)
    first = await self_service.ledger(db, ada.member_id, kind=EntryKind.CORRECTION, limit=3)
    rest = await self_service.ledger(
        db, ada.member_id, kind=EntryKind.CORRECTION, before_id=first.next_before_id
    )
    openings = await self_service.ledger(db, ada.member_id, kind=EntryKind.OPENING)
    purchases = await self_service.ledger(db, ada.member_id, kind=EntryKind.PURCHASE)

    assert [line.amount_cents for line in corrections.items] == [-300, -200, 50, -100]
    assert [line.amount_cents for line in first.items + rest.items] == [-300, -200, 50, -100]
    assert rest.next_before_id is None
    assert [(line.kind, line.amount_cents) for line in openings.items] == [("opening", 1000)]
    assert purchases.items == []
