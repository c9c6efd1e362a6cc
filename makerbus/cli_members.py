"""`makerbus member add|credit-limit|pin-set|pin-clear` (the admin web pages do these and more:
cards, corrections, logins)."""

from __future__ import annotations

import sys

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, ledger, members, pins
from core.cards import normalize_uid
from core.clock import SystemClock
from core.formats import ADMIN_AMOUNT_MAX_CENTS
from makerbus.cli_common import (
    ACTOR,
    TEXT_LINE,
    chosen_member,
    echo_json,
    in_database,
    member_choice,
    one_member,
)


def _card_option(uid: str) -> str:
    try:
        return normalize_uid(uid)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--card") from None


@click.group()
def member() -> None:
    """Manage members."""


@member.command()
@click.option("--name", required=True, type=TEXT_LINE)
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
    uid = None if card_uid is None else _card_option(card_uid)
    created = in_database(
        lambda db: members.add_member(
            db,
            name=name,
            card_uid=uid,
            opening_balance_cents=balance_cents,
            now=SystemClock().now(),
            actor=ACTOR,
        )
    )
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


# A negative amount is read as CENTS (and refused as one), not as an unknown option.
@member.command(name="credit-limit", context_settings={"ignore_unknown_options": True})
@member_choice
@click.argument("cents", type=click.IntRange(0, ADMIN_AMOUNT_MAX_CENTS))
def credit_limit(card_uid: str | None, member_id: int | None, cents: int) -> None:
    """Let a member (by card or id) go down to -CENTS; refused below their current debt."""
    one_member(card_uid, member_id)

    async def work(db: AsyncSession) -> tuple[int, ledger.Balance]:
        who = await chosen_member(db, card_uid, member_id)
        await members.set_credit_limit(db, who, cents, actor=ACTOR, now=SystemClock().now())
        return who, await ledger.balance_of(db, who)

    who, balance = in_database(work)
    click.echo(
        f"Member {who} may now go down to -{balance.credit_limit_cents} cents "
        f"(balance {balance.balance_cents} cents)."
    )


def _read_pin(from_stdin: bool) -> str:
    """The new PIN from one line of stdin, or typed twice without echo."""
    if from_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = str(click.prompt("New PIN", hide_input=True, confirmation_prompt=True)).strip()
    try:
        return pins.check_format(pin)
    except ValueError as error:
        # The message never repeats what was typed.
        raise click.BadParameter(str(error), param_hint="PIN") from None


@member.command(name="pin-set")
@click.option("--card", "card_uid", required=True, help="A card of the member.")
@click.option(
    "--pin-stdin", is_flag=True, help="Read the PIN from the first line of stdin (scripts)."
)
def pin_set(card_uid: str, pin_stdin: bool) -> None:
    """Set a member's PIN (4-8 digits), making them a treasurer who may pay out cash."""
    uid = _card_option(card_uid)
    pin = _read_pin(pin_stdin)

    async def work(db: AsyncSession) -> int:
        member_id = await cards.member_of(db, uid)
        await pins.set_pin(db, member_id, pin, actor=ACTOR, now=SystemClock().now())
        return member_id

    member_id = in_database(work)
    click.echo(f"PIN set for member {member_id}; failures and any lock cleared.")


@member.command(name="pin-clear")
@click.option("--card", "card_uid", required=True, help="A card of the member.")
def pin_clear(card_uid: str) -> None:
    """Remove a member's PIN: they can no longer pay out cash."""
    uid = _card_option(card_uid)

    async def work(db: AsyncSession) -> int:
        member_id = await cards.member_of(db, uid)
        await pins.clear_pin(db, member_id, actor=ACTOR, now=SystemClock().now())
        return member_id

    member_id = in_database(work)
    click.echo(f"PIN cleared for member {member_id}.")
