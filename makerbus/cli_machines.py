"""`makerbus machine tariff|authorize` and `makerbus session list|end`: machines from the shell
(the admin web pages, and sub-admins for their machines, do the same)."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core import machines, sessions
from core.billing import Tariff, TariffOverride
from core.clock import SystemClock, rfc3339
from makerbus.cli_common import (
    ACTOR,
    chosen_member,
    echo_json,
    in_database,
    member_choice,
    one_member,
)

CENTS = click.IntRange(min=0)
INTERVAL = click.IntRange(1, 1440)
SESSIONS_LISTED = 50


@click.group()
def machine() -> None:
    """Set machine tariffs and who may use a machine."""


@machine.command()
@click.argument("slug")
@click.option("--login-fee-cents", type=CENTS, required=True)
@click.option("--price-per-minute-cents", type=CENTS, required=True)
@click.option(
    "--interval-min",
    type=INTERVAL,
    required=True,
    help="Billing interval in minutes, prepaid in advance (1-1440).",
)
def tariff(slug: str, login_fee_cents: int, price_per_minute_cents: int, interval_min: int) -> None:
    """Set a machine's prices (running sessions keep theirs)."""

    async def work(db: AsyncSession) -> None:
        await machines.set_tariff(
            db,
            await machines.machine_id(db, slug),
            Tariff(login_fee_cents, price_per_minute_cents, interval_min),
            now=SystemClock().now(),
            actor=ACTOR,
        )

    in_database(work)
    click.echo(
        f"Machine {slug}: login fee {login_fee_cents}, {price_per_minute_cents}/min, "
        f"billed every {interval_min} min."
    )


@machine.command()
@click.argument("slug")
@member_choice
@click.option("--login-fee-cents", type=CENTS, help="This member's own login fee.")
@click.option("--price-per-minute-cents", type=CENTS, help="This member's own price.")
@click.option("--interval-min", type=INTERVAL, help="This member's own interval.")
def authorize(
    slug: str,
    card_uid: str | None,
    member_id: int | None,
    login_fee_cents: int | None,
    price_per_minute_cents: int | None,
    interval_min: int | None,
) -> None:
    """Let a member (by card or id) use a machine, optionally at their own prices."""
    one_member(card_uid, member_id)

    async def work(db: AsyncSession) -> int:
        device_id = await machines.machine_id(db, slug)
        who = await chosen_member(db, card_uid, member_id)
        await machines.authorize(
            db,
            device_id=device_id,
            member_id=who,
            override=TariffOverride(login_fee_cents, price_per_minute_cents, interval_min),
            now=SystemClock().now(),
            actor=ACTOR,
        )
        return who

    click.echo(f"Member {in_database(work)} may use {slug}.")


@click.group()
def session() -> None:
    """See and end machine sessions."""


def _row(record: sessions.Record) -> dict[str, object]:
    return {
        "session_id": record.session_id,
        "machine": record.device_slug,
        "member": record.member_name,
        "started_at": rfc3339(record.started_at),
        "paid_until": rfc3339(record.paid_until),
        "ended_at": rfc3339(record.ended_at) if record.ended_at else None,
        "end_reason": record.end_reason,
        "total_cents": record.total_cents,
    }


@session.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Also ended sessions (newest 50).")
@click.option("--json", "as_json", is_flag=True)
def list_(show_all: bool, as_json: bool) -> None:
    """Open sessions (with --all, recent ones too)."""
    records = in_database(
        lambda db: sessions.records(db, limit=SESSIONS_LISTED, is_open=None if show_all else True)
    )
    rows = [_row(record) for record in records]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = (
            f"ended {row['ended_at']} ({row['end_reason']})"
            if row["ended_at"]
            else f"paid until {row['paid_until']}"
        )
        click.echo(f"{row['session_id']:>6}  {row['machine']!s:<20} {row['member']!s:<24} {state}")


@session.command()
@click.argument("session_id", type=int)
def end(session_id: int) -> None:
    """End a session as an admin; the machine is told on cmd/session/terminate."""
    ended = in_database(
        lambda db: sessions.admin_end(
            db, session_id=session_id, now=SystemClock().now(), actor=ACTOR
        )
    )
    click.echo(
        f"Session {session_id} ended: {ended.duration_s} s, {ended.total_cents} cents, "
        f"{ended.refund_cents} refunded. The handler service tells {ended.device_slug}."
    )
