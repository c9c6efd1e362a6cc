"""`makerbus rental add|list|deactivate|permit|revoke`: rental items and who may rent, from the
shell (the admin web pages manage them too)."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, rentals
from core.cards import normalize_uid
from core.clock import SystemClock, rfc3339
from makerbus.cli_common import ACTOR, TEXT_LINE, TEXT_LINES, echo_json, in_database


@click.group()
def rental() -> None:
    """Rental items and who may rent."""


@rental.command()
@click.argument("tid")
@click.option(
    "--name", required=True, type=TEXT_LINE, help="What the item is, as stations show it."
)
@click.option("--description", type=TEXT_LINES, help="More about the item (shown by stations).")
def add(tid: str, name: str, description: str | None) -> None:
    """Register an item by its UHF tag id (hex; stored upper case)."""
    item = in_database(
        lambda db: rentals.add_item(
            db,
            tid=tid,
            name=name,
            description=description,
            actor=ACTOR,
            now=SystemClock().now(),
        )
    )
    click.echo(f"Item {item.tid} added: {item.name} (id {item.item_id}).")


def _row(item: rentals.ItemRecord) -> dict[str, object]:
    return {
        "tid": item.tid,
        "name": item.name,
        "description": item.description,
        "active": item.active,
        "out": item.out,
        "rental_id": item.rental_id,
        "member_id": item.member_id,
        "member": item.member_name,
        "since": None if item.since is None else rfc3339(item.since),
    }


@rental.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """Every item, and who has it since when."""
    rows = [_row(item) for item in in_database(rentals.listing)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = f"out to {row['member']} since {row['since']}" if row["out"] else "in"
        inactive = "" if row["active"] else " (inactive)"
        click.echo(f"{row['tid']!s:<26} {row['name']!s:<30} {state}{inactive}")


@rental.command()
@click.argument("tid")
def deactivate(tid: str) -> None:
    """Take an item out of service (an item that is out can still be returned)."""
    item = in_database(lambda db: rentals.deactivate(db, tid, actor=ACTOR, now=SystemClock().now()))
    still_out = " It is out: it can still be returned." if item.out else ""
    click.echo(f"Item {item.tid} deactivated.{still_out}")


@rental.command()
@click.option("--card", "card_uid", required=True, help="The member's card UID.")
def permit(card_uid: str) -> None:
    """Let the card's member rent items."""

    async def work(db: AsyncSession) -> int:
        member_id = await cards.member_of(db, normalize_uid(card_uid))
        await rentals.permit(db, member_id, actor=ACTOR, now=SystemClock().now())
        return member_id

    click.echo(f"Member {in_database(work)} may rent items.")


@rental.command()
@click.option("--card", "card_uid", required=True, help="The member's card UID.")
def revoke(card_uid: str) -> None:
    """Stop the card's member renting (items they have stay out until returned)."""

    async def work(db: AsyncSession) -> tuple[int, bool]:
        member_id = await cards.member_of(db, normalize_uid(card_uid))
        return member_id, await rentals.revoke(db, member_id, actor=ACTOR, now=SystemClock().now())

    member_id, had = in_database(work)
    if had:
        click.echo(f"Member {member_id} may no longer rent items.")
    else:
        click.echo(f"Member {member_id} had no rental permission.")
