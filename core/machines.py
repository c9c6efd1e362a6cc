"""Machine tariffs, who may use a machine at what price, and who manages which machine.

A machine's sub-admins (`MachineAdmin`, by OIDC subject) manage its authorizations; the admin
role manages everything. Whether a caller is an admin or which machines they keep is the API's
to check; what a sub-admin may do to an authorization is the rule of `core.sub_admins`, which
`authorize` and `revoke` apply when they are told a sub-admin makes the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, Select, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.billing import Tariff, TariffOverride, effective_tariff
from core.db import run
from core.errors import Conflict, NotAuthorized, NotFound
from core.formats import PRICE_MAX_CENTS, DeviceKind
from core.machine_prices import OWN_PRICE_COLUMNS, TARIFF_COLUMNS, member_tariff_in, tariff_in
from core.models import Authorization, Device, MachineAdmin, MachineTariff, Member
from core.paging import newest_first
from core.sub_admins import check_change as check_sub_admin_change


@dataclass(frozen=True)
class TariffRecord(Tariff):
    """A machine's own prices, with when and by whom they were last set."""

    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class MachineSummary:
    device_id: int
    slug: str
    name: str
    enabled: bool
    tariff: Tariff | None


@dataclass(frozen=True)
class Grant:
    """A member's authorization for one machine: their own prices (None: the machine's value)
    and what they pay with them (`effective`, None while the machine has no tariff)."""

    id: int
    member_id: int
    member_name: str
    login_fee_cents: int | None
    price_per_minute_cents: int | None
    interval_min: int | None
    effective: Tariff | None
    granted_by: str
    granted_at: datetime

    @property
    def override(self) -> TariffOverride:
        return TariffOverride(self.login_fee_cents, self.price_per_minute_cents, self.interval_min)

    @property
    def has_own_prices(self) -> bool:
        return self.override != TariffOverride()


@dataclass(frozen=True)
class SubAdmin:
    subject: str
    granted_by: str
    granted_at: datetime


def _checked(tariff: Tariff) -> Tariff:
    """`Tariff` refuses negative prices and intervals outside 1-1440; this adds the ceiling."""
    if max(tariff.login_fee_cents, tariff.price_per_minute_cents) > PRICE_MAX_CENTS:
        raise ValueError(f"prices cannot exceed {PRICE_MAX_CENTS} cents")
    return tariff


def check_override(override: TariffOverride) -> TariffOverride:
    """Each value an override sets must be valid in a tariff; ValueError otherwise."""
    _checked(
        effective_tariff(
            Tariff(login_fee_cents=0, price_per_minute_cents=0, interval_min=1), override
        )
    )
    return override


async def machine_id(db: AsyncSession, slug: str) -> int:
    """The device id of a machine, or NotFound (also for devices of another kind)."""
    found = await db.scalar(
        select(Device.id).where(Device.slug == slug, Device.kind == DeviceKind.MACHINE.value)
    )
    if found is None:
        raise NotFound(f"no machine {slug}")
    return found


def managed_devices(subject: str) -> Select[int]:
    """The device ids of the machines `subject` is a sub-admin of, to use in a query."""
    return select(MachineAdmin.device_id).where(MachineAdmin.oidc_subject == subject)


async def managed_machine_id(db: AsyncSession, slug: str, subject: str) -> int | None:
    """The device id of machine `slug` if `subject` is one of its sub-admins, else None."""
    return await db.scalar(
        select(Device.id)
        .join(MachineAdmin, MachineAdmin.device_id == Device.id)
        .where(
            Device.slug == slug,
            Device.kind == DeviceKind.MACHINE.value,
            MachineAdmin.oidc_subject == subject,
        )
    )


async def manages_any(db: AsyncSession, subject: str) -> bool:
    """Whether `subject` is a sub-admin of at least one machine."""
    return bool(await db.scalar(select(exists().where(MachineAdmin.oidc_subject == subject))))


async def manages(db: AsyncSession, device_id: int, subject: str) -> bool:
    """Whether `subject` is a sub-admin of the machine."""
    found = await db.scalar(
        select(MachineAdmin.id).where(
            MachineAdmin.device_id == device_id, MachineAdmin.oidc_subject == subject
        )
    )
    return found is not None


async def list_machines(
    db: AsyncSession, *, managed_by: str | None = None, device_id: int | None = None
) -> list[MachineSummary]:
    """Machines by slug with their tariffs (None before one is set); only a sub-admin's own
    machines with `managed_by`, only one with `device_id`."""
    statement = (
        select(Device.id, Device.slug, Device.name, Device.enabled, *TARIFF_COLUMNS)
        .outerjoin(MachineTariff, MachineTariff.device_id == Device.id)
        .where(Device.kind == DeviceKind.MACHINE.value)
        .order_by(Device.slug)
    )
    if managed_by is not None:
        statement = statement.where(Device.id.in_(managed_devices(managed_by)))
    if device_id is not None:
        statement = statement.where(Device.id == device_id)
    return [
        MachineSummary(
            device_id=row.id,
            slug=row.slug,
            name=row.name,
            enabled=row.enabled,
            tariff=tariff_in(row),
        )
        for row in (await db.execute(statement)).all()
    ]


async def tariff_of(db: AsyncSession, device_id: int) -> TariffRecord | None:
    """The machine's own prices, or None before any are set."""
    row = await db.get(MachineTariff, device_id)
    if row is None:
        return None
    return TariffRecord(
        row.login_fee_cents,
        row.price_per_minute_cents,
        row.interval_min,
        row.updated_at,
        row.updated_by,
    )


def _prices(prices: Tariff | TariffOverride | MachineTariff | Authorization, **also: object) -> str:
    """The prices for the trail (None in a member's own prices: the machine's)."""
    return audit.values(
        **also,
        login_fee_cents=prices.login_fee_cents,
        price_per_minute_cents=prices.price_per_minute_cents,
        interval_min=prices.interval_min,
    )


async def _slug(db: AsyncSession, device_id: int) -> str:
    """The machine's slug, which names it in the audit trail as its provisioning does."""
    return (await db.scalars(select(Device.slug).where(Device.id == device_id))).one()


async def set_tariff(
    db: AsyncSession, device_id: int, tariff: Tariff, *, now: datetime, actor: Actor
) -> None:
    """Set a machine's prices; sessions already running keep the tariff they started with."""
    _checked(tariff)
    row = await db.get(MachineTariff, device_id)
    old = None if row is None else _prices(row)
    if row is None:
        row = MachineTariff(device_id=device_id)
        db.add(row)
    row.login_fee_cents = tariff.login_fee_cents
    row.price_per_minute_cents = tariff.price_per_minute_cents
    row.interval_min = tariff.interval_min
    row.updated_at = now
    row.updated_by = actor.ref
    await db.flush()
    await audit.DEVICE.record(
        db,
        await _slug(db, device_id),
        "set_tariff",
        actor=actor,
        now=now,
        old=old,
        new=_prices(tariff),
    )


async def _locked_grant(db: AsyncSession, device_id: int, member_id: int) -> Authorization | None:
    """The member's grant on the machine, locked (PostgreSQL; SQLite serialises writers) so
    that what a sub-admin's change is checked against stays so until it is made."""
    return await db.scalar(
        select(Authorization)
        .where(Authorization.device_id == device_id, Authorization.member_id == member_id)
        .with_for_update()
    )


def _own(grant: Authorization | None) -> TariffOverride | None:
    if grant is None:
        return None
    return TariffOverride(grant.login_fee_cents, grant.price_per_minute_cents, grant.interval_min)


async def authorize(
    db: AsyncSession,
    *,
    device_id: int,
    member_id: int,
    override: TariffOverride,
    now: datetime,
    actor: Actor,
    sub_admin: str | None = None,
) -> bool:
    """Let a member use a machine, optionally at their own prices; True if newly granted.

    Granting again replaces the member's own prices (and records who granted it, when).
    NotFound for an unknown member. `sub_admin`: the OIDC subject of the sub-admin (not an
    admin) making the change, whom `core.sub_admins` restricts.
    """
    check_override(override)
    if await db.scalar(select(Member.id).where(Member.id == member_id)) is None:
        raise NotFound(f"no member {member_id}")
    row = await _locked_grant(db, device_id, member_id)
    if sub_admin is not None:
        await check_sub_admin_change(
            db, member_id=member_id, sub_admin=sub_admin, override=override, current=_own(row)
        )
    created = row is None
    old = None if row is None else _prices(row, member=member_id)
    if row is None:
        row = Authorization(device_id=device_id, member_id=member_id)
    row.login_fee_cents = override.login_fee_cents
    row.price_per_minute_cents = override.price_per_minute_cents
    row.interval_min = override.interval_min
    row.granted_by = actor.ref
    row.granted_at = now
    if created:
        try:
            async with db.begin_nested():
                db.add(row)
        except IntegrityError:
            # Another grant of the same member and machine committed first.
            raise Conflict(f"member {member_id} was just authorized by someone else") from None
    else:
        await db.flush()
    await audit.DEVICE.record(
        db,
        await _slug(db, device_id),
        "authorize" if created else "change_authorization",
        actor=actor,
        now=now,
        old=old,
        new=_prices(override, member=member_id),
    )
    return created


async def _delete_one(db: AsyncSession, statement: Delete, missing: str) -> None:
    if (await run(db, statement)).rowcount == 0:
        raise NotFound(missing)


async def revoke(
    db: AsyncSession,
    *,
    device_id: int,
    member_id: int,
    actor: Actor,
    now: datetime,
    sub_admin: str | None = None,
) -> None:
    """Take a member's authorization away; a session already running goes on (NotFound if the
    member had none). `sub_admin` as for `authorize`."""
    grant = await _locked_grant(db, device_id, member_id)
    if sub_admin is not None:
        await check_sub_admin_change(
            db,
            member_id=member_id,
            sub_admin=sub_admin,
            override=TariffOverride(),
            current=_own(grant),
        )
    await _delete_one(
        db,
        delete(Authorization).where(
            Authorization.device_id == device_id, Authorization.member_id == member_id
        ),
        f"member {member_id} is not authorized for this machine",
    )
    old = _prices(grant, member=member_id) if grant is not None else None
    await audit.DEVICE.record(
        db, await _slug(db, device_id), "revoke_authorization", actor=actor, now=now, old=old
    )


async def authorizations(
    db: AsyncSession,
    device_id: int,
    *,
    limit: int,
    before_id: int | None = None,
    member_id: int | None = None,
) -> list[Grant]:
    """A machine's authorizations, newest first, `limit` at most from below `before_id`."""
    statement = (
        select(
            Authorization.id,
            Authorization.member_id,
            Member.name,
            *OWN_PRICE_COLUMNS,
            *TARIFF_COLUMNS,
            Authorization.granted_by,
            Authorization.granted_at,
        )
        .join(Member, Member.id == Authorization.member_id)
        .outerjoin(MachineTariff, MachineTariff.device_id == Authorization.device_id)
        .where(Authorization.device_id == device_id)
    )
    statement = newest_first(statement, Authorization.id, before_id=before_id, limit=limit)
    if member_id is not None:
        statement = statement.where(Authorization.member_id == member_id)
    return [
        Grant(
            id=row.id,
            member_id=row.member_id,
            member_name=row.name,
            login_fee_cents=row.own_login_fee_cents,
            price_per_minute_cents=row.own_price_per_minute_cents,
            interval_min=row.own_interval_min,
            effective=member_tariff_in(row),
            granted_by=row.granted_by,
            granted_at=row.granted_at,
        )
        for row in (await db.execute(statement)).all()
    ]


async def authorization(db: AsyncSession, *, device_id: int, member_id: int) -> Grant:
    """One member's authorization for the machine, or NotFound."""
    found = await authorizations(db, device_id, limit=1, member_id=member_id)
    if not found:
        raise NotFound(f"member {member_id} is not authorized for this machine")
    return found[0]


async def sub_admins(db: AsyncSession, device_id: int) -> list[SubAdmin]:
    """Who manages the machine's authorizations, by subject."""
    rows = await db.execute(
        select(MachineAdmin.oidc_subject, MachineAdmin.granted_by, MachineAdmin.granted_at)
        .where(MachineAdmin.device_id == device_id)
        .order_by(MachineAdmin.oidc_subject)
    )
    return [SubAdmin(subject, by, at) for subject, by, at in rows.all()]


async def add_sub_admin(
    db: AsyncSession, device_id: int, subject: str, *, now: datetime, actor: Actor
) -> SubAdmin:
    """Make an OIDC subject a sub-admin of the machine; Conflict if they are one already."""
    try:
        async with db.begin_nested():
            db.add(
                MachineAdmin(
                    device_id=device_id,
                    oidc_subject=subject,
                    granted_by=actor.ref,
                    granted_at=now,
                )
            )
    except IntegrityError:
        raise Conflict(f"{subject} is already a sub-admin of this machine") from None
    new = audit.values(sub_admin=subject)
    await audit.DEVICE.record(
        db, await _slug(db, device_id), "add_sub_admin", actor=actor, now=now, new=new
    )
    return SubAdmin(subject, actor.ref, now)


async def remove_sub_admin(
    db: AsyncSession, device_id: int, subject: str, *, actor: Actor, now: datetime
) -> None:
    """NotFound if the subject was no sub-admin of the machine."""
    await _delete_one(
        db,
        delete(MachineAdmin).where(
            MachineAdmin.device_id == device_id, MachineAdmin.oidc_subject == subject
        ),
        f"{subject} is no sub-admin of this machine",
    )
    old = audit.values(sub_admin=subject)
    await audit.DEVICE.record(
        db, await _slug(db, device_id), "remove_sub_admin", actor=actor, now=now, old=old
    )


async def tariff_for(db: AsyncSession, *, device_id: int, member_id: int) -> Tariff:
    """The member's effective tariff on the machine, or NotAuthorized."""
    row = (
        await run(
            db,
            select(*TARIFF_COLUMNS, Authorization.id.label("authorization_id"), *OWN_PRICE_COLUMNS)
            .outerjoin(
                Authorization,
                (Authorization.device_id == MachineTariff.device_id)
                & (Authorization.member_id == member_id),
            )
            .where(MachineTariff.device_id == device_id),
        )
    ).one_or_none()
    if row is None or (tariff := member_tariff_in(row)) is None:
        raise NotAuthorized("this machine has no tariff yet")
    if row.authorization_id is None:
        raise NotAuthorized("the member is not authorized for this machine")
    return tariff


async def managed_slugs(db: AsyncSession, subject: str) -> frozenset[str]:
    """The slugs of the machines `subject` is a sub-admin of."""
    found = await db.scalars(select(Device.slug).where(Device.id.in_(managed_devices(subject))))
    return frozenset(found)
