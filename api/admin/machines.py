"""Admin: machines' tariffs, authorizations, sub-admins, and the sessions running on them.

Admins manage every machine. A machine's sub-admins (OIDC subjects listed for it) grant and
revoke that machine's authorizations at its tariff, read the tariff, and see and end its
sessions; everything else about a machine, and any machine that is not theirs, is 403 to them,
whether it exists or not. Members' own prices are the admins' alone, and a sub-admin never
touches their own authorization (`core.sub_admins`): both are 403 naming the reason.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import AdminDep, ClockDep, Principal, PrincipalDep
from api.deps import DbDep
from api.fields import REQUEST, Id, Page, PagingDep, Subject, SubjectPath, refusals
from core import machines, sessions
from core.billing import Tariff, TariffOverride
from core.errors import NotFound
from core.formats import MAX_INTERVAL_MIN, PRICE_MAX_CENTS, SLUG_PATTERN
from core.paging import by_id

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin: machines"],
    responses=refusals(
        {
            401: "Not logged in.",
            403: "Neither an admin nor a sub-admin of this machine; or, for a sub-admin, "
            "own prices (`prices_admin_only`) or their own authorization (`own_authorization`).",
            404: "No such machine, member, authorization or session.",
        }
    ),
)

Slug = Annotated[str, Path(pattern=SLUG_PATTERN, description="The machine's device slug.")]
FeeCents = Annotated[int, Field(ge=0, le=PRICE_MAX_CENTS)]
IntervalMin = Annotated[
    int, Field(ge=1, le=MAX_INTERVAL_MIN, description="Billing interval, prepaid in advance.")
]


class Prices(BaseModel):
    """A tariff: login fee, price per minute, and the interval billed in advance."""

    model_config = REQUEST | ConfigDict(from_attributes=True)

    login_fee_cents: FeeCents
    price_per_minute_cents: FeeCents
    interval_min: IntervalMin

    def tariff(self) -> Tariff:
        return Tariff(self.login_fee_cents, self.price_per_minute_cents, self.interval_min)


class MachineTariff(Prices):
    updated_at: datetime
    updated_by: str | None


class Machine(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    enabled: bool
    tariff: Prices | None = Field(description="None until an admin sets one.")


class OwnPrices(BaseModel):
    """A member's own prices on one machine; a value left out (or null) is the machine's."""

    model_config = REQUEST

    login_fee_cents: FeeCents | None = None
    price_per_minute_cents: FeeCents | None = None
    interval_min: IntervalMin | None = None


class AuthorizationOut(OwnPrices):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    member_name: str
    effective: Prices | None = Field(
        description="What the member pays: the machine's tariff with their own prices applied "
        "(None while the machine has no tariff)."
    )
    granted_by: str
    granted_at: datetime


class AuthorizationPage(Page[AuthorizationOut]):
    """A machine's authorizations, newest grant first."""


class NewSubAdmin(BaseModel):
    model_config = REQUEST

    subject: Subject


class SubAdmin(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    granted_by: str
    granted_at: datetime


class Session(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    session_id: int
    machine: str = Field(validation_alias="device_slug")
    member_id: int
    member_name: str
    tariff: Prices = Field(description="Fixed at the start for the whole session.")
    started_at: datetime
    paid_until: datetime
    last_heartbeat_at: datetime
    is_open: bool
    charged_cents: int = Field(
        description="Open: the login fee and the intervals prepaid so far. Ended: the total."
    )
    ended_at: datetime | None
    end_reason: str | None = Field(description="device, admin, expired or no_heartbeat.")
    duration_s: int | None
    total_cents: int | None
    refund_cents: int | None
    device_told_at: datetime | None = Field(
        description="When the device learnt the session is over. Null on an ended session: the "
        "handler service has yet to tell it on `cmd/session/terminate`."
    )


class SessionPage(Page[Session]):
    """Machine sessions, newest first."""


def _not_theirs(what: str = "this machine") -> HTTPException:
    return HTTPException(403, f"this needs the admin role or being a sub-admin of {what}")


def _sub_admin_subject(principal: Principal) -> str | None:
    """The subject that may be listed as a sub-admin; an API token never is one."""
    return None if principal.is_token else principal.subject


def restricted(principal: Principal) -> str | None:
    """Whom the sub-admin rules bind on a machine the caller manages: none for an admin."""
    return None if principal.is_admin else principal.subject


async def machine_managed_by(db: AsyncSession, principal: Principal, slug: str) -> int | None:
    """The machine's device id if `principal` manages it, else None (for a sub-admin, whether
    the machine exists or not). An admin manages every machine: NotFound if there is none."""
    if principal.is_admin:
        return await machines.machine_id(db, slug)
    subject = _sub_admin_subject(principal)
    return None if subject is None else await machines.managed_machine_id(db, slug, subject)


async def managed_machine(slug: Slug, principal: PrincipalDep, db: DbDep) -> int:
    """The machine's device id, for an admin or one of the machine's sub-admins (403 else)."""
    found = await machine_managed_by(db, principal, slug)
    if found is None:
        raise _not_theirs()
    return found


async def admin_machine(slug: Slug, _: AdminDep, db: DbDep) -> int:
    """The machine's device id, for an admin only."""
    return await machines.machine_id(db, slug)


async def managed_session(session_id: Id, principal: PrincipalDep, db: DbDep) -> int:
    """The session id, for an admin or a sub-admin of the session's machine (403 else)."""
    if principal.is_admin:
        return session_id
    subject = _sub_admin_subject(principal)
    device_id = await sessions.device_of(db, session_id)
    if subject is None or device_id is None or not await machines.manages(db, device_id, subject):
        raise _not_theirs()
    return session_id


ManagedMachineDep = Annotated[int, Depends(managed_machine)]
AdminMachineDep = Annotated[int, Depends(admin_machine)]
ManagedSessionDep = Annotated[int, Depends(managed_session)]


@router.get("/machines")
async def list_machines(principal: PrincipalDep, db: DbDep) -> list[Machine]:
    """Machines by slug with their tariffs: all for an admin, a sub-admin's own otherwise.

    403 for someone who is neither.
    """
    if principal.is_admin:
        found = await machines.list_machines(db)
    else:
        subject = _sub_admin_subject(principal)
        found = [] if subject is None else await machines.list_machines(db, managed_by=subject)
        if not found:
            raise _not_theirs("a machine")
    return [Machine.model_validate(machine) for machine in found]


async def _tariff(db: AsyncSession, device_id: int) -> MachineTariff:
    record = await machines.tariff_of(db, device_id)
    if record is None:
        raise NotFound("this machine has no tariff yet")
    return MachineTariff.model_validate(record)


@router.get("/machines/{slug}/tariff")
async def get_tariff(device_id: ManagedMachineDep, db: DbDep) -> MachineTariff:
    """The machine's own prices (404 before an admin sets them). Admins and its sub-admins."""
    return await _tariff(db, device_id)


@router.put("/machines/{slug}/tariff")
async def set_tariff(
    prices: Prices,
    device_id: AdminMachineDep,
    principal: AdminDep,
    db: DbDep,
    clock: ClockDep,
) -> MachineTariff:
    """Set the machine's prices (admin only). Running sessions keep the tariff they started
    with; members' own prices still apply on top."""
    await machines.set_tariff(
        db, device_id, prices.tariff(), now=clock.now(), actor=principal.actor
    )
    return await _tariff(db, device_id)


@router.get("/machines/{slug}/authorizations")
async def list_authorizations(
    device_id: ManagedMachineDep, db: DbDep, paging: PagingDep
) -> AuthorizationPage:
    """Who may use the machine, newest grant first, with their own and effective prices."""
    page = await paging.fetch(partial(machines.authorizations, db, device_id), by_id)
    return AuthorizationPage.model_validate(page)


@router.get("/machines/{slug}/authorizations/{member_id}")
async def get_authorization(
    device_id: ManagedMachineDep, member_id: Id, db: DbDep
) -> AuthorizationOut:
    """One member's authorization (404 if they have none)."""
    grant = await machines.authorization(db, device_id=device_id, member_id=member_id)
    return AuthorizationOut.model_validate(grant)


@router.put(
    "/machines/{slug}/authorizations/{member_id}",
    status_code=200,
    responses={201: {"model": AuthorizationOut, "description": "Newly granted."}},
)
async def grant_authorization(
    device_id: ManagedMachineDep,
    member_id: Id,
    principal: PrincipalDep,
    db: DbDep,
    clock: ClockDep,
    response: Response,
    own_prices: OwnPrices | None = None,
) -> AuthorizationOut:
    """Let a member use the machine, optionally at their own prices (201 when new, 200 when
    the grant is replaced: own prices left out fall back to the machine's).

    Own prices (admins only) may be lower or higher than the machine's, never negative or out
    of range (422). A sub-admin grants at the machine's tariff, to others only: own prices, a
    grant that has some, or their own authorization are 403. A session already running keeps
    the tariff it started with.
    """
    own = own_prices or OwnPrices()
    created = await machines.authorize(
        db,
        device_id=device_id,
        member_id=member_id,
        override=TariffOverride(own.login_fee_cents, own.price_per_minute_cents, own.interval_min),
        now=clock.now(),
        actor=principal.actor,
        sub_admin=restricted(principal),
    )
    if created:
        response.status_code = 201
    return await get_authorization(device_id, member_id, db)


@router.delete("/machines/{slug}/authorizations/{member_id}", status_code=204)
async def revoke_authorization(
    device_id: ManagedMachineDep,
    member_id: Id,
    principal: PrincipalDep,
    db: DbDep,
    clock: ClockDep,
) -> None:
    """Take the authorization away (404 if there was none). A session already running goes
    on until it ends; end it at `POST /api/v1/admin/sessions/{id}/end` to stop it now.

    A sub-admin revokes others' grants at the machine's tariff only (403 otherwise)."""
    await machines.revoke(
        db,
        device_id=device_id,
        member_id=member_id,
        actor=principal.actor,
        now=clock.now(),
        sub_admin=restricted(principal),
    )


@router.get("/machines/{slug}/admins")
async def list_sub_admins(device_id: AdminMachineDep, db: DbDep) -> list[SubAdmin]:
    """The machine's sub-admins by OIDC subject (admin only)."""
    return [SubAdmin.model_validate(found) for found in await machines.sub_admins(db, device_id)]


@router.post(
    "/machines/{slug}/admins",
    status_code=201,
    responses=refusals({409: "Already a sub-admin."}),
)
async def add_sub_admin(
    new: NewSubAdmin, device_id: AdminMachineDep, principal: AdminDep, db: DbDep, clock: ClockDep
) -> SubAdmin:
    """Make an OIDC subject a sub-admin of the machine (admin only; 409 if already one)."""
    added = await machines.add_sub_admin(
        db, device_id, new.subject, now=clock.now(), actor=principal.actor
    )
    return SubAdmin.model_validate(added)


@router.delete("/machines/{slug}/admins/{subject:path}", status_code=204)
async def remove_sub_admin(
    subject: SubjectPath,
    device_id: AdminMachineDep,
    principal: AdminDep,
    db: DbDep,
    clock: ClockDep,
) -> None:
    """Remove a sub-admin from the machine (admin only; 404 if they were none)."""
    await machines.remove_sub_admin(db, device_id, subject, actor=principal.actor, now=clock.now())


@router.get("/sessions")
async def list_sessions(
    principal: PrincipalDep,
    db: DbDep,
    paging: PagingDep,
    open_: Annotated[
        bool | None,
        Query(alias="open", description="true: open sessions only; false: ended only."),
    ] = None,
    machine: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, description="Only this machine's.")
    ] = None,
) -> SessionPage:
    """Machine sessions, newest first: all for an admin, those on their machines for a
    sub-admin (403 for anyone else, and for a sub-admin naming another machine)."""
    device_id = None if machine is None else await managed_machine(machine, principal, db)
    managed_by = None
    if device_id is None and not principal.is_admin:
        managed_by = _sub_admin_subject(principal)
        if managed_by is None or not await machines.list_machines(db, managed_by=managed_by):
            raise _not_theirs("a machine")
    page = await paging.fetch(
        partial(sessions.records, db, is_open=open_, device_id=device_id, managed_by=managed_by),
        lambda record: record.session_id,
    )
    return SessionPage.model_validate(page)


@router.get("/sessions/{session_id}")
async def get_session(session_id: ManagedSessionDep, db: DbDep) -> Session:
    """One session, open or ended."""
    return Session.model_validate(await sessions.record(db, session_id))


@router.post("/sessions/{session_id}/end", responses=refusals({409: "The session has ended."}))
async def end_session(
    session_id: ManagedSessionDep, principal: PrincipalDep, db: DbDep, clock: ClockDep
) -> Session:
    """End a running session now, for an admin or a sub-admin of its machine.

    The member pays per started minute used and gets the rest of the prepaid time back, as
    when the device ends it; the handler service then tells the device on
    `cmd/session/terminate`. 409 if the session has ended already.
    """
    await sessions.admin_end(db, session_id=session_id, now=clock.now(), actor=principal.actor)
    return Session.model_validate(await sessions.record(db, session_id))
