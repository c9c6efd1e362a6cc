"""`makerbus machine tariff|authorize` and `makerbus session list|end` (until the web side)."""

from __future__ import annotations

import click
from sqlalchemy import select

from core import machines, sessions
from core.billing import Tariff, TariffOverride
from core.clock import SystemClock, rfc3339
from core.models import Device, MachineSession, Member
from core.settings import get_settings
from makerbus.cli_common import chosen_member, echo_json, member_choice, one_member, run
from makerbus.context import database

CENTS = click.IntRange(min=0)
INTERVAL = click.IntRange(1, 1440)


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
    settings = get_settings()

    async def go() -> None:
        async with database(settings) as db:
            device_id = await machines.machine_id(db, slug)
            await machines.set_tariff(
                db,
                device_id,
                Tariff(login_fee_cents, price_per_minute_cents, interval_min),
                now=SystemClock().now(),
                actor="cli",
            )

    run(go())
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
    settings = get_settings()

    async def go() -> int:
        async with database(settings) as db:
            device_id = await machines.machine_id(db, slug)
            who = await chosen_member(db, card_uid, member_id)
            await machines.authorize(
                db,
                device_id=device_id,
                member_id=who,
                override=TariffOverride(login_fee_cents, price_per_minute_cents, interval_min),
                now=SystemClock().now(),
                actor="cli",
            )
            return who

    who = run(go())
    click.echo(f"Member {who} may use {slug}.")


@click.group()
def session() -> None:
    """See and end machine sessions."""


@session.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Also ended sessions (newest 50).")
@click.option("--json", "as_json", is_flag=True)
def list_(show_all: bool, as_json: bool) -> None:
    """Open sessions (with --all, recent ones too)."""
    settings = get_settings()

    async def go() -> list[dict[str, object]]:
        async with database(settings) as db:
            statement = (
                select(MachineSession, Device.slug, Member.name)
                .join(Device, Device.id == MachineSession.device_id)
                .join(Member, Member.id == MachineSession.member_id)
                .order_by(MachineSession.started_at.desc())
                .limit(50)
            )
            if not show_all:
                statement = statement.where(MachineSession.ended_at.is_(None))
            return [
                {
                    "session_id": s.id,
                    "machine": slug,
                    "member": name,
                    "started_at": rfc3339(s.started_at),
                    "paid_until": rfc3339(s.paid_until),
                    "ended_at": rfc3339(s.ended_at) if s.ended_at else None,
                    "end_reason": s.end_reason,
                    "total_cents": s.total_cents,
                }
                for s, slug, name in (await db.execute(statement)).all()
            ]

    rows = run(go())
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = (
            f"ended {row['ended_at']} ({row['end_reason']})"
            if row["ended_at"]
            else (f"paid until {row['paid_until']}")
        )
        click.echo(f"{row['session_id']:>6}  {row['machine']!s:<20} {row['member']!s:<24} {state}")


@session.command()
@click.argument("session_id", type=int)
def end(session_id: int) -> None:
    """End a session as an admin; the machine is told on cmd/session/terminate."""
    settings = get_settings()

    async def go() -> sessions.Ended:
        async with database(settings) as db:
            return await sessions.admin_end(
                db, session_id=session_id, now=SystemClock().now(), actor="cli"
            )

    ended = run(go())
    click.echo(
        f"Session {session_id} ended: {ended.duration_s} s, {ended.total_cents} cents, "
        f"{ended.refund_cents} refunded. The handler service tells {ended.device_slug}."
    )
