"""One machine's page, for whoever manages the machine: how it is built from the core read
models, and how a form's change is made on it, refused, or confirmed (`api.web.admin.machines`
has the routes).

Who manages which machine is the JSON API's rule (`api.admin.machines.machine_managed_by`):
a sub-admin opening another machine gets the 403 page, whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.machines import machine_managed_by
from api.auth import Principal
from api.deps import DbDep
from api.web.forms import FieldErrors
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, MachineStaffDep, NotForYou, PageNotFound, Viewer
from core import machines, members, sessions, sub_admins
from core.errors import DomainError, NotFound

GRANTS_PER_PAGE = 50
MATCHES_SHOWN = 20
RUNNING_SHOWN = 50

Change = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Match:
    """A member found to grant the machine to; `authorized` is None where the search does
    not say."""

    id: int
    name: str
    email: str | None
    card_endings: list[str]
    authorized: bool | None


def page_of(slug: str) -> str:
    return f"/admin/machines/{quote(slug)}"


async def _matches(db: AsyncSession, viewer: Viewer, device_id: int, query: str) -> list[Match]:
    """Admins search all members (name, e-mail, card); a sub-admin sees only what granting
    needs (`core.sub_admins`)."""
    if viewer.is_admin:
        found = await members.search(db, query=query, limit=MATCHES_SHOWN)
        return [Match(member.id, member.name, member.email, [], None) for member in found]
    candidates = await sub_admins.find_members(
        db, device_id=device_id, query=query, limit=MATCHES_SHOWN
    )
    return [
        Match(found.id, found.name, None, found.card_endings, found.authorized)
        for found in candidates
    ]


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


@dataclass(frozen=True)
class OnMachine:
    """A request about one machine that its viewer manages."""

    request: Request
    viewer: Viewer
    db: AsyncSession
    slug: str
    device_id: int

    @property
    def principal(self) -> Principal:
        assert self.viewer.principal is not None  # the staff guards let nobody else in
        return self.viewer.principal

    @property
    def gettext(self) -> Callable[[str], str]:
        translate: Callable[[str], str] = gettext_for(self.viewer.language)
        return translate

    async def page(
        self,
        *,
        query: str | None = None,
        before: int | None = None,
        errors: Mapping[str, FieldErrors] | None = None,
        typed: Mapping[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        """The machine's page; `errors` by form (`tariff`, `lookup`, `grant`, `sub_admins`,
        `sessions`), `typed` what the tariff form held when it was refused."""
        db, viewer, device_id = self.db, self.viewer, self.device_id
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
                _ = self.gettext
                text = _("Please type at least {count} characters.")
                errors["lookup"] = {"q": text.format(count=sub_admins.LOOKUP_MIN_CHARS)}
        if typed is None and machine.tariff is not None:
            typed = {
                "login_fee_cents": viewer.formats.amount(machine.tariff.login_fee_cents),
                "price_per_minute_cents": viewer.formats.amount(
                    machine.tariff.price_per_minute_cents
                ),
                "interval_min": machine.tariff.interval_min,
            }
        context = {
            "admin_section": "/admin/machines",
            "machine": machine,
            "page_url": page_of(self.slug),
            "running": await sessions.records(
                db, is_open=True, device_id=device_id, limit=RUNNING_SHOWN
            ),
            "grants": grants,
            "next_url": f"{page_of(self.slug)}?before={grants[-1].id}" if more else None,
            "query": query,
            "matches": matches,
            "sub_admins": await machines.sub_admins(db, device_id) if viewer.is_admin else [],
            "typed": typed or {},
            "errors": errors,
        }
        return render(self.request, viewer, "admin/machines/machine.html", context, status=status)

    async def apply(
        self,
        *,
        form: str,
        change: Change | None,
        done: str,
        errors: FieldErrors | None = None,
        specific: Mapping[str, str] | None = None,
        query: str | None = None,
    ) -> Response:
        """Make the change a form asked for and go back to the machine's page with `done` as
        the notice; or show the page again with the errors at `form`: the form's own (422,
        when there is no `change`), or core's refusal (its status; its partial writes undone).
        """
        status = 422
        if change is not None:
            try:
                async with self.db.begin_nested():
                    await change()
            except DomainError as error:
                errors = {"": _refusal_text(self.viewer, error, specific or {})}
                status = error.status
            else:
                notify(self.request, done)
                return RedirectResponse(page_of(self.slug), status_code=303)
        return await self.page(query=query, errors={form: errors or {}}, status=status)


async def _managed(slug: str, request: Request, viewer: Viewer, db: AsyncSession) -> OnMachine:
    """The 403 page unless the viewer manages the machine (the 404 page for an admin naming
    no machine)."""
    assert viewer.principal is not None
    try:
        found = await machine_managed_by(db, viewer.principal, slug)
    except NotFound:
        raise PageNotFound(viewer) from None
    if found is None:
        raise NotForYou(viewer)
    return OnMachine(request, viewer, db, slug, found)


async def _on_machine(slug: str, request: Request, viewer: MachineStaffDep, db: DbDep) -> OnMachine:
    return await _managed(slug, request, viewer, db)


async def _on_machine_as_admin(
    slug: str, request: Request, viewer: AdminViewerDep, db: DbDep
) -> OnMachine:
    return await _managed(slug, request, viewer, db)


# A machine its viewer manages; the second for the admins' forms only (the 403 page to a
# sub-admin before the machine is even looked up).
OnMachineDep = Annotated[OnMachine, Depends(_on_machine)]
AdminOnMachineDep = Annotated[OnMachine, Depends(_on_machine_as_admin)]
