"""Who is looking at a page, and what they may open: the login (or none), the member behind
it, the roles, the language. Pages that need more raise a `PageRefusal`, which `api.web.site`
turns into a page: to the login for nobody, "not for you" for the wrong person."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import Principal, bearer_credentials, lenient_principal, session_cookie
from api.deps import DbDep, SettingsDep
from api.web.i18n import Formats, Language, language_for
from core import logins, machines, notifications
from core.audit import Actor


@dataclass(frozen=True)
class Viewer:
    principal: Principal | None
    member_id: int | None
    language: Language
    formats: Formats
    manages_machines: bool
    """A sub-admin of at least one machine (admins manage them all)."""
    unread_notices: int = 0
    """The member's unread notifications (the menu shows the count)."""
    unread_lab_notices: int = 0
    """A technician's: the unread notices of the technicians' shared inbox."""

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.is_admin

    @property
    def is_product_manager(self) -> bool:
        return self.principal is not None and self.principal.is_product_manager

    @property
    def is_technician(self) -> bool:
        """A lab technician: the admin role or the technician group."""
        return self.principal is not None and self.principal.is_technician

    @property
    def sees_machines(self) -> bool:
        return self.is_admin or self.manages_machines

    @property
    def is_staff(self) -> bool:
        """Someone with any management page."""
        return self.is_product_manager or self.sees_machines

    @property
    def actor(self) -> Actor:
        """Who the audit trail names for a change made on a page (which needs a login)."""
        if self.principal is None:
            raise LoginRequired(self)
        return self.principal.actor


class PageRefusal(Exception):
    """A page this viewer cannot see; `api.web.site` shows why (to the `Viewer` given as the
    first argument, if known)."""


class LoginRequired(PageRefusal):
    pass


class NotForYou(PageRefusal):
    """Logged in, but not someone this page is for (403)."""


class NoMemberYet(PageRefusal):
    """A login that no member account is linked to yet, on a member's page."""


class PageNotFound(PageRefusal):
    pass


async def _principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_credentials)],
) -> Principal | None:
    """The login, if any; a cross-site form post is refused as a page (403), not as JSON."""
    try:
        return await lenient_principal(
            request,
            db,
            settings,
            request.app.state.clock,
            request.app.state.signer,
            bearer,
            session_cookie(request, settings),
        )
    except HTTPException:
        raise NotForYou from None


async def viewer(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    principal: Annotated[Principal | None, Depends(_principal)],
) -> Viewer:
    member_id = None
    manages = False
    unread = unread_lab = 0
    if principal is not None and not principal.is_token:
        member_id = await logins.member_id(db, principal.subject)
        if not principal.is_admin:
            manages = await machines.manages_any(db, principal.subject)
        if member_id is not None:
            unread = await notifications.unread_count(db, member_id=member_id)
        if principal.is_technician:
            unread_lab = await notifications.unread_count(db, technicians=True)
    language = language_for(request)
    formats = Formats(language, settings.currency, settings.zone)
    return Viewer(principal, member_id, language, formats, manages, unread, unread_lab)


ViewerDep = Annotated[Viewer, Depends(viewer)]


async def logged_in(viewer: ViewerDep) -> Viewer:
    if viewer.principal is None:
        raise LoginRequired(viewer)
    return viewer


async def member(viewer: Annotated[Viewer, Depends(logged_in)]) -> Viewer:
    if viewer.member_id is None:
        raise NoMemberYet(viewer)
    return viewer


def _allowed(may_see: Callable[[Viewer], bool]) -> Callable[[Viewer], Awaitable[Viewer]]:
    async def guard(viewer: Annotated[Viewer, Depends(logged_in)]) -> Viewer:
        if not may_see(viewer):
            raise NotForYou(viewer)
        return viewer

    return guard


LoggedInDep = Annotated[Viewer, Depends(logged_in)]
MemberViewerDep = Annotated[Viewer, Depends(member)]
AdminViewerDep = Annotated[Viewer, Depends(_allowed(lambda viewer: viewer.is_admin))]
ProductManagerViewerDep = Annotated[
    Viewer, Depends(_allowed(lambda viewer: viewer.is_product_manager))
]
TechnicianViewerDep = Annotated[Viewer, Depends(_allowed(lambda viewer: viewer.is_technician))]
# Admins and sub-admins; which machine a sub-admin may open, the page checks.
MachineStaffDep = Annotated[Viewer, Depends(_allowed(lambda viewer: viewer.sees_machines))]
