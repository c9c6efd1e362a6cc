"""`makerbus member add` (until the web side manages members)."""

from __future__ import annotations

import click

from core import members
from core.cards import normalize_uid
from core.clock import SystemClock
from core.members import NewMember
from core.settings import get_settings
from makerbus.cli_common import echo_json, run
from makerbus.context import database


@click.group()
def member() -> None:
    """Manage members."""


@member.command()
@click.option("--name", required=True)
@click.option("--card", "card_uid", help="Card UID in hex, e.g. 04A1B2C3D4E5F6.")
@click.option(
    "--balance-cents",
    type=int,
    default=0,
    show_default=True,
    help="Opening balance, booked as a ledger entry.",
)
@click.option("--json", "as_json", is_flag=True)
def add(name: str, card_uid: str | None, balance_cents: int, as_json: bool) -> None:
    """Create a member, optionally with a card and an opening balance."""
    settings = get_settings()
    uid = None
    if card_uid is not None:
        try:
            uid = normalize_uid(card_uid)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--card") from None

    async def go() -> NewMember:
        async with database(settings) as db:
            return await members.add_member(
                db,
                name=name,
                card_uid=uid,
                opening_balance_cents=balance_cents,
                now=SystemClock().now(),
                actor="cli",
            )

    created = run(go())
    if as_json:
        echo_json(
            {
                "member_id": created.member_id,
                "name": created.name,
                "card": created.card_uid,
                "balance_cents": created.balance_cents,
            }
        )
        return
    click.echo(
        f"Member {created.member_id} {created.name!r} created"
        f"{f' with card {uid}' if uid else ''}, balance {created.balance_cents} cents."
    )
