"""Admin pages: the machines, and on each its tariff, who may use it, its sub-admins and the
sessions running on it.

Admins see and manage every machine. A machine's sub-admins see only theirs, and on it grant
and revoke at the machine's tariff and end sessions; the tariff and the sub-admins are the
admins' alone (the 403 page, whether the machine exists or not). Who manages which machine
and what a sub-admin may change are the JSON API's rules (`api.admin.machines`,
`core.sub_admins`), applied here through the same functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.machines import NewSubAdmin, OwnPrices, Prices, machine_managed_by, restricted
from api.auth import ClockDep, Principal
from api.deps import DbDep
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, MachineStaffDep, NotForYou, PageNotFound, Viewer
from core import machines, members, sessions, sub_admins
from core.billing import TariffOverride
from core.errors import DomainError, NotFound

router = APIRouter(include_in_schema=False)

PRICE_FIELDS = ("login_fee_cents", "price_per_minute_cents")
GRANTS_PER_PAGE = 50
MATCHES_SHOWN = 20
RUNNING_SHOWN = 50


class GrantForm(OwnPrices):
    """The grant form: whom, and (admins only) their own prices."""

    member_id: int = Field(ge=1)


@dataclass(frozen=True)
class Match:
    """A member found to grant the machine to; `authorized` is None where the search does
    not say."""

    id: int
    name: str
    detail: str
    authorized: bool | None


def _principal(viewer: Viewer) -> Principal:
    assert viewer.principal is not None  # the staff guards let no anonymous viewer in
    return viewer.principal


async def _machine(db: AsyncSession, viewer: Viewer, slug: str) -> int:
    """The machine's device id for a viewer who manages it; the 403 page otherwise (the 404
    page for an admin naming no machine)."""
    try:
        found = await machine_managed_by(db, _principal(viewer), slug)
    except NotFound:
        raise PageNotFound(viewer) from None
    if found is None:
        raise NotForYou(viewer)
    return found


def _page_of(slug: str) -> str:
    return f"/admin/machines/{quote(slug)}"


async def _matches(db: AsyncSession, viewer: Viewer, device_id: int, query: str) -> list[Match]:
    """Admins search all members (name, e-mail, card); a sub-admin sees only what granting
    needs (`core.sub_admins`)."""
    if viewer.is_admin:
        found = await members.search(db, query=query, limit=MATCHES_SHOWN)
        return [Match(member.id, member.name, member.email or "", None) for member in found]
    candidates = await sub_admins.find_members(
        db, device_id=device_id, query=query, limit=MATCHES_SHOWN
    )
    return [
        Match(
            found.id,
            found.name,
            " ".join(f"…{end}" for end in found.card_endings),
            found.authorized,
        )
        for found in candidates
    ]


async def _machine_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    device_id: int,
    *,
    query: str | None = None,
    before: int | None = None,
    errors: Mapping[str, FieldErrors] | None = None,
    typed: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The machine's page; `errors` by form (`tariff`, `lookup`, `grant`, `sub_admins`,
    `sessions`), `typed` what the tariff form held when it was refused."""
    errors = dict(errors or {})
    (machine,) = await machines.list_machines(db, device_id=device_id)
    grants = await machines.authorizations(
        db, device_id, limit=GRANTS_PER_PAGE + 1, before_id=before
    )
    more = len(grants) > GRANTS_PER_PAGE
    grants = grants[:GRANTS_PER_PAGE]
    matches: list[Match] = []
    if query is not None:
        try:
            matches = await _matches(db, viewer, device_id, sub_admins.lookup_query(query))
        except ValueError:
            _ = gettext_for(viewer.language)
            text = _("Please type at least {count} characters.")
            errors["lookup"] = {"q": text.format(count=sub_admins.LOOKUP_MIN_CHARS)}
    if typed is None and machine.tariff is not None:
        typed = {
            "login_fee_cents": viewer.formats.amount(machine.tariff.login_fee_cents),
            "price_per_minute_cents": viewer.formats.amount(machine.tariff.price_per_minute_cents),
            "interval_min": machine.tariff.interval_min,
        }
    context = {
        "admin_section": "/admin/machines",
        "machine": machine,
        "page_url": _page_of(machine.slug),
        "running": await sessions.records(
            db, is_open=True, device_id=device_id, limit=RUNNING_SHOWN
        ),
        "grants": grants,
        "next_url": f"{_page_of(machine.slug)}?before={grants[-1].id}" if more else None,
        "query": query,
        "matches": matches,
        "sub_admins": await machines.sub_admins(db, device_id) if viewer.is_admin else [],
        "typed": typed or {},
        "errors": errors,
    }
    return render(request, viewer, "admin/machines/machine.html", context, status=status)


def _refusal_text(viewer: Viewer, error: DomainError, specific: Mapping[str, str]) -> str:
    _ = gettext_for(viewer.language)
    general = {
        "own_authorization": _(
            "You cannot grant, change or revoke your own authorization: please ask an admin."
        ),
        "prices_admin_only": _(
            "Only an admin sets a member's own prices, or changes or revokes an authorization "
            "that has them."
        ),
        "session_closed": _("This session has ended already."),
        "conflict": _("Someone else changed this just now. Please look again."),
    }
    return str(specific.get(error.code) or general.get(error.code) or _("This was refused."))


Change = Callable[[], Awaitable[object]]


async def _apply(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    device_id: int,
    *,
    form: str,
    change: Change | None,
    done: str,
    errors: FieldErrors | None = None,
    specific: Mapping[str, str] | None = None,
    query: str | None = None,
) -> Response:
    """Make a change the form asked for and go back to the machine's page with `done` as the
    notice; or show the page again with the errors next to `form`: the form's own (422, and
    no `change`), or core's refusal (its status; its partial writes are undone)."""
    status = 422
    if change is not None:
        try:
            async with db.begin_nested():
                await change()
        except DomainError as error:
            errors, status = {"": _refusal_text(viewer, error, specific or {})}, error.status
        else:
            notify(request, done)
            machine = await machines.list_machines(db, device_id=device_id)
            return RedirectResponse(_page_of(machine[0].slug), status_code=303)
    return await _machine_page(
        request, viewer, db, device_id, query=query, errors={form: errors or {}}, status=status
    )


@router.get("/admin/machines")
async def machine_list(request: Request, viewer: MachineStaffDep, db: DbDep) -> HTMLResponse:
    """All machines for an admin, a sub-admin's own otherwise."""
    found = await machines.list_machines(db, managed_by=restricted(_principal(viewer)))
    running = await sessions.open_counts(db, [machine.device_id for machine in found])
    context = {"admin_section": "/admin/machines", "machines": found, "running": running}
    return render(request, viewer, "admin/machines/list.html", context)


@router.get("/admin/machines/{slug}")
async def machine_page(
    slug: str,
    request: Request,
    viewer: MachineStaffDep,
    db: DbDep,
    q: Annotated[str | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """One machine; `q` looks up members to grant it to."""
    device_id = await _machine(db, viewer, slug)
    return await _machine_page(request, viewer, db, device_id, query=q, before=before)


@router.post("/admin/machines/{slug}/tariff")
async def set_tariff(
    slug: str, request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """The machine's prices (admins only); money typed in euros."""
    device_id = await _machine(db, viewer, slug)
    form = await request.form()
    prices, errors = validated(Prices, form, viewer.formats, money=PRICE_FIELDS)
    if prices is None:
        return await _machine_page(
            request, viewer, db, device_id, errors={"tariff": errors}, typed=form, status=422
        )
    await machines.set_tariff(
        db, device_id, prices.tariff(), now=clock.now(), actor=_principal(viewer).subject
    )
    _ = gettext_for(viewer.language)
    notify(request, _("Tariff saved."))
    return RedirectResponse(_page_of(slug), status_code=303)


@router.post("/admin/machines/{slug}/authorizations")
async def grant(
    slug: str, request: Request, viewer: MachineStaffDep, db: DbDep, clock: ClockDep
) -> Response:
    """Let the chosen member use the machine; own prices from admins only (core refuses
    them from a sub-admin)."""
    device_id = await _machine(db, viewer, slug)
    form = await request.form()
    fields = {name: value for name, value in form.items() if name != "q"}
    wanted, errors = validated(GrantForm, fields, viewer.formats, money=PRICE_FIELDS)
    principal = _principal(viewer)
    _ = gettext_for(viewer.language)
    return await _apply(
        request,
        viewer,
        db,
        device_id,
        form="grant",
        errors=errors,
        query=str(form.get("q", "")) or None,
        change=None
        if wanted is None
        else (
            lambda: machines.authorize(
                db,
                device_id=device_id,
                member_id=wanted.member_id,
                override=TariffOverride(
                    wanted.login_fee_cents, wanted.price_per_minute_cents, wanted.interval_min
                ),
                now=clock.now(),
                actor=principal.subject,
                sub_admin=restricted(principal),
            )
        ),
        specific={"not_found": _("There is no such member.")},
        done=_("Authorization granted."),
    )


@router.post("/admin/machines/{slug}/authorizations/{member_id}/revoke")
async def revoke(
    slug: str, member_id: int, request: Request, viewer: MachineStaffDep, db: DbDep
) -> Response:
    """Take the member's authorization away; a running session goes on until ended."""
    device_id = await _machine(db, viewer, slug)
    _ = gettext_for(viewer.language)
    return await _apply(
        request,
        viewer,
        db,
        device_id,
        form="grant",
        change=lambda: machines.revoke(
            db,
            device_id=device_id,
            member_id=member_id,
            sub_admin=restricted(_principal(viewer)),
        ),
        specific={"not_found": _("This member is not authorized for this machine.")},
        done=_("Authorization revoked."),
    )


@router.post("/admin/machines/{slug}/sub-admins")
async def add_sub_admin(
    slug: str, request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Make an OIDC subject a sub-admin of the machine (admins only)."""
    device_id = await _machine(db, viewer, slug)
    new, errors = validated(NewSubAdmin, await request.form(), viewer.formats)
    _ = gettext_for(viewer.language)
    return await _apply(
        request,
        viewer,
        db,
        device_id,
        form="sub_admins",
        errors=errors,
        change=None
        if new is None
        else (
            lambda: machines.add_sub_admin(
                db, device_id, new.subject, now=clock.now(), actor=_principal(viewer).subject
            )
        ),
        specific={"conflict": _("This login is a sub-admin of this machine already.")},
        done=_("Sub-admin added."),
    )


@router.post("/admin/machines/{slug}/sub-admins/remove")
async def remove_sub_admin(
    slug: str, request: Request, viewer: AdminViewerDep, db: DbDep
) -> Response:
    """Remove a sub-admin from the machine (admins only)."""
    device_id = await _machine(db, viewer, slug)
    gone, errors = validated(NewSubAdmin, await request.form(), viewer.formats)
    _ = gettext_for(viewer.language)
    return await _apply(
        request,
        viewer,
        db,
        device_id,
        form="sub_admins",
        errors=errors,
        change=None
        if gone is None
        else (lambda: machines.remove_sub_admin(db, device_id, gone.subject)),
        specific={"not_found": _("This login is no sub-admin of this machine.")},
        done=_("Sub-admin removed."),
    )


@router.post("/admin/machines/{slug}/sessions/{session_id}/end")
async def end_session(
    slug: str,
    session_id: int,
    request: Request,
    viewer: MachineStaffDep,
    db: DbDep,
    clock: ClockDep,
) -> Response:
    """End a session running on this machine now, as POST /api/v1/admin/sessions/{id}/end
    does: the member pays the minutes used, and the handler service tells the machine."""
    device_id = await _machine(db, viewer, slug)
    if await sessions.device_of(db, session_id) != device_id:
        raise PageNotFound(viewer)
    _ = gettext_for(viewer.language)
    return await _apply(
        request,
        viewer,
        db,
        device_id,
        form="sessions",
        change=lambda: sessions.admin_end(
            db, session_id=session_id, now=clock.now(), actor=_principal(viewer).subject
        ),
        done=_("Session ended."),
    )
