"""`makerbus simulate` drives a fleet of reference device programs through real use."""

from __future__ import annotations

from sqlalchemy import func, select

from core.models import CashBox, CashBoxEntry, Product, Rental, RentalItem, StockMovement
from core.settings import Settings
from makerbus.context import database
from tests.e2e.stack import Stack, run_async


def test_simulated_fleet_runs_sessions_and_keeps_the_ledger(stack: Stack) -> None:
    result = stack.cli(
        "simulate",
        "--machines",
        "4",
        "--members",
        "2",
        "--seconds",
        "6",
        "--work-min-s",
        "1",
        "--work-max-s",
        "2",
        "--prefix",
        "simtest",
    )

    assert "4 simulated machines, 2 members" in result.stdout
    assert "machine on" in result.stdout
    assert "machine off" in result.stdout
    stack.check_ledger()


def test_mixed_fleet_buys_tops_up_and_rents(stack: Stack) -> None:
    result = stack.cli(
        "simulate",
        "--machines",
        "2",
        "--checkouts",
        "2",
        "--bankomats",
        "1",
        "--rentals",
        "1",
        "--seconds",
        "8",
        "--work-min-s",
        "1",
        "--work-max-s",
        "2",
        "--prefix",
        "mixtest",
    )

    assert "2 simulated machines, 2 checkouts, 1 Bankomats, 1 rental stations" in result.stdout
    assert "purchases" in result.stdout
    assert "rentals out" in result.stdout
    purchases, cash, rented = run_async(fleet_activity(stack.settings, "mixtest"))
    assert purchases > 0, result.stdout
    assert cash > 0, result.stdout
    assert rented > 0, result.stdout
    stack.check_ledger()


async def fleet_activity(settings: Settings, prefix: str) -> tuple[int, int, int]:
    """Purchases of the fleet's products, entries of its cash box, rentals of its items."""
    purchases = (
        select(func.count())
        .select_from(StockMovement)
        .join(Product, Product.id == StockMovement.product_id)
        .where(StockMovement.kind == "purchase", Product.name.like(f"{prefix} product %"))
    )
    cash = (
        select(func.count())
        .select_from(CashBoxEntry)
        .join(CashBox, CashBox.id == CashBoxEntry.box_id)
        .where(CashBox.slug == f"{prefix}-box", CashBoxEntry.kind.in_(["topup", "donation"]))
    )
    rented = (
        select(func.count())
        .select_from(Rental)
        .join(RentalItem, RentalItem.id == Rental.item_id)
        .where(RentalItem.name.like(f"{prefix} item %"))
    )
    async with database(settings) as db:
        return (
            await db.scalar(purchases) or 0,
            await db.scalar(cash) or 0,
            await db.scalar(rented) or 0,
        )
