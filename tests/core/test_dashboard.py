"""The dashboard's figures on a real database: a local day's sales, the sessions open now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from core import checkout, dashboard, sessions
from core.checkout import BasketItem
from core.clock import FrozenClock
from core.dashboard import Sales
from core.origin import Origin
from tests.core.test_products import make_product
from tests.core.test_sessions import _start as start_session
from tests.factories import TESTER, grant, make_machine, make_member

BERLIN = ZoneInfo("Europe/Berlin")
# The clocks go forward that night: the local day is 23 hours long. No other test uses 2031.
SPRING_DAY_START = datetime(2031, 3, 29, 23, 0, tzinfo=UTC)
SPRING_DAY_END = datetime(2031, 3, 30, 22, 0, tzinfo=UTC)


async def _buy(db: AsyncSession, at: datetime, *lines: tuple[str, int]) -> None:
    member = await make_member(db, balance_cents=10_000)
    assert member.card_uid is not None
    await checkout.purchase(
        db,
        card_uid=member.card_uid,
        items=[BasketItem(ean, qty) for ean, qty in lines],
        origin=Origin(at, request_id="dash"),
    )


def test_a_local_day_runs_from_midnight_to_midnight_across_a_clock_change() -> None:
    noon = datetime(2031, 3, 30, 10, 0, tzinfo=UTC)

    assert dashboard.day_around(noon, BERLIN) == (SPRING_DAY_START, SPRING_DAY_END)


async def test_sales_of_a_day_count_each_basket_once_and_only_that_days(
    db: AsyncSession,
) -> None:
    mate = await make_product(db, price_cents=150, stock_units=50)
    bar = await make_product(db, price_cents=200, stock_units=50, name="Bar")
    await _buy(db, SPRING_DAY_START - timedelta(minutes=1), (mate.ean, 1))
    await _buy(db, SPRING_DAY_START, (mate.ean, 2), (bar.ean, 1))
    await _buy(db, SPRING_DAY_END - timedelta(minutes=1), (bar.ean, 1))
    await _buy(db, SPRING_DAY_END, (mate.ean, 1))

    sales = await dashboard.sales_between(db, SPRING_DAY_START, SPRING_DAY_END)

    assert sales == Sales(total_cents=2 * 150 + 200 + 200, count=2)


async def test_a_day_without_purchases_sold_nothing(db: AsyncSession) -> None:
    start = datetime(2031, 1, 1, tzinfo=UTC)

    sales = await dashboard.sales_between(db, start, start + timedelta(days=1))

    assert sales == Sales(total_cents=0, count=0)


async def test_an_open_session_is_running_and_an_ended_one_is_not(
    db: AsyncSession, clock: FrozenClock
) -> None:
    before = await dashboard.running_sessions(db)
    machine = await make_machine(db)
    member = await make_member(db, balance_cents=10_000)
    await grant(db, machine, member)
    started = await start_session(db, machine, member, clock)
    during = await dashboard.running_sessions(db)

    await sessions.admin_end(db, session_id=started.session_id, now=clock.now(), actor=TESTER)

    assert during == before + 1
    assert await dashboard.running_sessions(db) == before
