"""Admin pages: the machines, and on each its tariff, who may use it, its sub-admins and the
sessions running on it.

Admins see and manage every machine. A machine's sub-admins see only theirs, and on it grant
and revoke at the machine's tariff and end sessions; the tariff and the sub-admins are the
admins' alone (the 403 page, whether the machine exists or not). What a sub-admin may change
is core's rule (`core.sub_admins`); a refusal comes back as a message on the machine's page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from api.admin.machines import NewSubAdmin, OwnPrices, Prices, restricted
from api.auth import ClockDep
from api.deps import DbDep
from api.web.admin.machine_page import AdminOnMachineDep, OnMachineDep, page_of
from api.web.forms import validated
from api.web.render import notify, render
from api.web.viewer import MachineStaffDep, PageNotFound
from core import machines, sessions
from core.billing import TariffOverride

router = APIRouter(include_in_schema=False)

PRICE_FIELDS = ("login_fee_cents", "price_per_minute_cents")


class GrantForm(OwnPrices):
    """The grant form: whom, and (admins only) their own prices."""

    member_id: int = Field(ge=1)


@router.get("/admin/machines")
async def machine_list(request: Request, viewer: MachineStaffDep, db: DbDep) -> HTMLResponse:
    """All machines for an admin, a sub-admin's own otherwise."""
    assert viewer.principal is not None
    found = await machines.list_machines(db, managed_by=restricted(viewer.principal))
    running = await sessions.open_counts(db, [machine.device_id for machine in found])
    context = {"admin_section": "/admin/machines", "machines": found, "running": running}
    return render(request, viewer, "admin/machines/list.html", context)


@router.get("/admin/machines/{slug}")
async def machine_page(
    here: OnMachineDep,
    q: Annotated[str | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """One machine; `q` looks up members to grant it to."""
    return await here.page(query=q, before=before)


@router.post("/admin/machines/{slug}/tariff")
async def set_tariff(here: AdminOnMachineDep, clock: ClockDep) -> Response:
    """The machine's prices (admins only); money typed in euros."""
    form = await here.request.form()
    prices, errors = validated(Prices, form, here.viewer.formats, money=PRICE_FIELDS)
    if prices is None:
        return await here.page(errors={"tariff": errors}, typed=form, status=422)
    await machines.set_tariff(
        here.db, here.device_id, prices.tariff(), now=clock.now(), actor=here.principal.actor
    )
    _ = here.gettext
    notify(here.request, _("Tariff saved."))
    return RedirectResponse(page_of(here.slug), status_code=303)


@router.post("/admin/machines/{slug}/authorizations")
async def grant(here: OnMachineDep, clock: ClockDep) -> Response:
    """Let the chosen member use the machine; own prices from admins only (core refuses
    them from a sub-admin)."""
    form = await here.request.form()
    fields = {name: value for name, value in form.items() if name != "q"}
    wanted, errors = validated(GrantForm, fields, here.viewer.formats, money=PRICE_FIELDS)
    _ = here.gettext
    return await here.apply(
        form="grant",
        errors=errors,
        query=str(form.get("q", "")) or None,
        change=None
        if wanted is None
        else (
            lambda: machines.authorize(
                here.db,
                device_id=here.device_id,
                member_id=wanted.member_id,
                override=TariffOverride(
                    wanted.login_fee_cents, wanted.price_per_minute_cents, wanted.interval_min
                ),
                now=clock.now(),
                actor=here.principal.actor,
                sub_admin=restricted(here.principal),
            )
        ),
        specific={"not_found": _("There is no such member.")},
        done=_("Authorization granted."),
    )


@router.post("/admin/machines/{slug}/authorizations/{member_id}/revoke")
async def revoke(member_id: int, here: OnMachineDep, clock: ClockDep) -> Response:
    """Take the member's authorization away; a running session goes on until ended."""
    _ = here.gettext
    return await here.apply(
        form="grant",
        change=lambda: machines.revoke(
            here.db,
            device_id=here.device_id,
            member_id=member_id,
            actor=here.principal.actor,
            now=clock.now(),
            sub_admin=restricted(here.principal),
        ),
        specific={"not_found": _("This member is not authorized for this machine.")},
        done=_("Authorization revoked."),
    )


@router.post("/admin/machines/{slug}/sub-admins")
async def add_sub_admin(here: AdminOnMachineDep, clock: ClockDep) -> Response:
    """Make an OIDC subject a sub-admin of the machine (admins only)."""
    new, errors = validated(NewSubAdmin, await here.request.form(), here.viewer.formats)
    _ = here.gettext
    return await here.apply(
        form="sub_admins",
        errors=errors,
        change=None
        if new is None
        else (
            lambda: machines.add_sub_admin(
                here.db, here.device_id, new.subject, now=clock.now(), actor=here.principal.actor
            )
        ),
        specific={"conflict": _("This login is a sub-admin of this machine already.")},
        done=_("Sub-admin added."),
    )


@router.post("/admin/machines/{slug}/sub-admins/remove")
async def remove_sub_admin(here: AdminOnMachineDep, clock: ClockDep) -> Response:
    """Remove a sub-admin from the machine (admins only)."""
    gone, errors = validated(NewSubAdmin, await here.request.form(), here.viewer.formats)
    _ = here.gettext
    return await here.apply(
        form="sub_admins",
        errors=errors,
        change=None
        if gone is None
        else (
            lambda: machines.remove_sub_admin(
                here.db, here.device_id, gone.subject, actor=here.principal.actor, now=clock.now()
            )
        ),
        specific={"not_found": _("This login is no sub-admin of this machine.")},
        done=_("Sub-admin removed."),
    )


@router.post("/admin/machines/{slug}/sessions/{session_id}/end")
async def end_session(session_id: int, here: OnMachineDep, clock: ClockDep) -> Response:
    """End a session running on this machine now, as POST /api/v1/admin/sessions/{id}/end
    does: the member pays the minutes used, and the handler service tells the machine."""
    if await sessions.device_of(here.db, session_id) != here.device_id:
        raise PageNotFound(here.viewer)
    _ = here.gettext
    return await here.apply(
        form="sessions",
        change=lambda: sessions.admin_end(
            here.db, session_id=session_id, now=clock.now(), actor=here.principal.actor
        ),
        done=_("Session ended."),
    )
