"""`makerbus cashbox add|list|statement`: the Bankomat's cash boxes from the shell (the admin
web pages manage them too)."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core import cash_boxes
from core.clock import SystemClock, rfc3339
from makerbus.cli_common import TEXT_LINE, echo_json, in_database


@click.group()
def cashbox() -> None:
    """Cash boxes of the Bankomat."""


def _box_json(box: cash_boxes.Box) -> dict[str, object]:
    return {"slug": box.slug, "name": box.name, "balance_cents": box.balance_cents}


@cashbox.command()
@click.argument("slug")
@click.option(
    "--name", required=True, type=TEXT_LINE, help="What the Bankomat shows, e.g. 'Drinks fund'."
)
@click.option("--json", "as_json", is_flag=True)
def add(slug: str, name: str, as_json: bool) -> None:
    """Create an empty cash box that Bankomats can book to."""
    box = in_database(
        lambda db: cash_boxes.create(db, slug=slug, name=name, now=SystemClock().now())
    )
    if as_json:
        echo_json(_box_json(box))
        return
    click.echo(f"Cash box {box.slug} {box.name!r} created.")


@cashbox.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """Every cash box with its balance."""
    boxes = in_database(cash_boxes.all_boxes)
    if as_json:
        echo_json([_box_json(box) for box in boxes])
        return
    for box in boxes:
        click.echo(f"{box.slug:<40} {box.balance_cents:>12}  {box.name}")


@cashbox.command()
@click.argument("slug")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def statement(slug: str, limit: int, as_json: bool) -> None:
    """A cash box's entries, newest first."""

    async def work(db: AsyncSession) -> tuple[cash_boxes.Box, list[cash_boxes.Entry]]:
        box = await cash_boxes.find(db, slug)
        return box, await cash_boxes.statement(db, box.id, limit=limit)

    box, entries = in_database(work)
    if as_json:
        echo_json(
            {
                **_box_json(box),
                "entries": [
                    {
                        "id": entry.id,
                        "at": rfc3339(entry.created_at),
                        "kind": entry.kind,
                        "amount_cents": entry.amount_cents,
                        "balance_after_cents": entry.balance_after_cents,
                        "member_id": entry.member_id,
                        "device_id": entry.device_id,
                        "request_id": entry.request_id,
                        "actor": entry.actor,
                        "note": entry.note,
                    }
                    for entry in entries
                ],
            }
        )
        return
    click.echo(f"{box.slug} {box.name!r}: balance {box.balance_cents} cents")
    for entry in entries:
        who = f"member {entry.member_id}" if entry.member_id is not None else ""
        click.echo(
            f"{rfc3339(entry.created_at)}  {entry.kind:<10} {entry.amount_cents:>10} "
            f"{entry.balance_after_cents:>12}  {who}".rstrip()
        )
