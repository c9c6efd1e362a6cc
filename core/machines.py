"""Machine tariffs and who may use a machine at what price."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import Tariff, TariffOverride, effective_tariff
from core.db import run
from core.errors import NotAuthorized, NotFound
from core.models import Authorization, Device, DeviceKind, MachineTariff


async def machine_id(db: AsyncSession, slug: str) -> int:
    """The device id of a machine, or NotFound (also for devices of another kind)."""
    found = await db.scalar(
        select(Device.id).where(Device.slug == slug, Device.kind == DeviceKind.MACHINE.value)
    )
    if found is None:
        raise NotFound(f"no machine {slug}")
    return found


async def set_tariff(
    db: AsyncSession, device_id: int, tariff: Tariff, *, now: datetime, actor: str
) -> None:
    """Set a machine's prices; sessions already running keep the tariff they started with."""
    row = await db.get(MachineTariff, device_id)
    if row is None:
        row = MachineTariff(device_id=device_id)
        db.add(row)
    row.login_fee_cents = tariff.login_fee_cents
    row.price_per_minute_cents = tariff.price_per_minute_cents
    row.interval_min = tariff.interval_min
    row.updated_at = now
    row.updated_by = actor
    await db.flush()


async def authorize(
    db: AsyncSession,
    *,
    device_id: int,
    member_id: int,
    override: TariffOverride,
    now: datetime,
    actor: str,
) -> None:
    """Let a member use a machine, optionally at their own prices (granting again updates)."""
    # Validate the override's values the same way a tariff's are.
    Tariff(
        login_fee_cents=override.login_fee_cents or 0,
        price_per_minute_cents=override.price_per_minute_cents or 0,
        interval_min=override.interval_min or 1,
    )
    row = await db.scalar(
        select(Authorization).where(
            Authorization.device_id == device_id, Authorization.member_id == member_id
        )
    )
    if row is None:
        row = Authorization(device_id=device_id, member_id=member_id)
        db.add(row)
    row.login_fee_cents = override.login_fee_cents
    row.price_per_minute_cents = override.price_per_minute_cents
    row.interval_min = override.interval_min
    row.granted_by = actor
    row.granted_at = now
    await db.flush()


async def tariff_for(db: AsyncSession, *, device_id: int, member_id: int) -> Tariff:
    """The member's effective tariff on the machine, or NotAuthorized."""
    row = (
        await run(
            db,
            select(
                MachineTariff.login_fee_cents,
                MachineTariff.price_per_minute_cents,
                MachineTariff.interval_min,
                Authorization.id.label("authorization_id"),
                Authorization.login_fee_cents.label("own_login_fee_cents"),
                Authorization.price_per_minute_cents.label("own_price_per_minute_cents"),
                Authorization.interval_min.label("own_interval_min"),
            )
            .outerjoin(
                Authorization,
                (Authorization.device_id == MachineTariff.device_id)
                & (Authorization.member_id == member_id),
            )
            .where(MachineTariff.device_id == device_id),
        )
    ).one_or_none()
    if row is None:
        raise NotAuthorized("this machine has no tariff yet")
    if row.authorization_id is None:
        raise NotAuthorized("the member is not authorized for this machine")
    return effective_tariff(
        Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min),
        TariffOverride(
            row.own_login_fee_cents, row.own_price_per_minute_cents, row.own_interval_min
        ),
    )
