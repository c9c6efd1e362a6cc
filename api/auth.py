"""Who is asking: a web session (cookie or Bearer) or an API token, and what they may do.

Cross-site requests: a browser sends the session cookie along with requests other sites make
it send. SameSite=Lax already keeps it off cross-site POSTs in current browsers; on top of
that an unsafe request authenticated by the cookie must show it comes from our own origin
(`Origin`, else `Sec-Fetch-Site: same-origin`), or it is refused. Bearer headers are never
sent by a browser on its own, so they need no such check.

`Origin: null` says nothing about where a request comes from: a browser sends it from a page
with `Referrer-Policy: no-referrer` (ours too), after a redirect from another origin, from a
sandboxed frame or a `file:` page. It is then judged like a missing Origin, by
`Sec-Fetch-Site`: browsers set that header themselves (no page can), and say `same-origin`
only when the request was made by a page of our origin and every redirect on the way stayed
on it; all those other cases are `cross-site` or `same-site` to them, and refused here. A
browser too old to send `Sec-Fetch-Site` is refused along with `Origin: null`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, SettingsDep
from api.session_tokens import (
    SESSION_COOKIE,
    InvalidSession,
    Role,
    SessionSigner,
    WebSession,
    cookie_name,
)
from core import api_tokens, logins, web_sessions
from core.audit import Actor
from core.clock import Clock
from core.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_SUBJECT_PREFIX = "token:"  # noqa: S105 - a label, not a secret

bearer_credentials = HTTPBearer(
    auto_error=False, description="A session token or an API token (mbt_…)."
)


def session_cookie(request: Request, settings: SettingsDep) -> str | None:
    """The session cookie's value (`__Host-makerbus_session` outside dev)."""
    return request.cookies.get(cookie_name(SESSION_COOKIE, secure=not settings.is_dev))


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `subject` is the OIDC subject, or `token:<name>`."""

    subject: str
    name: str
    roles: frozenset[Role]
    session: WebSession | None = None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_product_manager(self) -> bool:
        return self.is_admin or Role.PRODUCT_MANAGER in self.roles

    @property
    def is_technician(self) -> bool:
        """A lab technician: approves projects and equipment requests (admins are ones)."""
        return self.is_admin or Role.TECHNICIAN in self.roles

    @property
    def is_token(self) -> bool:
        """An API token rather than a person's login."""
        return self.session is None

    @property
    def actor(self) -> Actor:
        """Who the audit trail names for this caller's changes."""
        return Actor.person(self.subject, self.name)


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_signer(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.signer
    return signer


ClockDep = Annotated[Clock, Depends(get_clock)]
SignerDep = Annotated[SessionSigner, Depends(get_signer)]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refuse_cross_site(request: Request, settings: Settings) -> None:
    """403 for an unsafe cookie-authenticated request that does not come from our origin."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        if origin.lower() == _origin(settings.public_url):
            return
    elif request.headers.get("sec-fetch-site") == "same-origin":
        return
    raise HTTPException(403, "cross-site request refused: it must come from this site's pages")


def _unauthenticated(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def _from_api_token(db: AsyncSession, token: str, now: datetime) -> Principal:
    info = await api_tokens.authenticate(db, token, now=now)
    if info is None:
        raise _unauthenticated("unknown or revoked API token")
    return Principal(f"{TOKEN_SUBJECT_PREFIX}{info.name}", info.name, frozenset({Role(info.role)}))


async def _from_session(
    db: AsyncSession, signer: SessionSigner, token: str, now: datetime
) -> Principal:
    try:
        session = signer.verify(token, now=now)
    except InvalidSession as error:
        raise _unauthenticated(f"invalid session: {error}") from None
    if await web_sessions.is_revoked(db, session.session_id):
        raise _unauthenticated("this session has been logged out")
    return Principal(session.subject, session.name, session.roles, session)


async def optional_principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    signer: SignerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_credentials)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Principal | None:
    """The caller, or None when the request carries no credentials at all."""
    now = clock.now()
    if bearer is not None:
        if bearer.credentials.startswith(api_tokens.PREFIX):
            return await _from_api_token(db, bearer.credentials, now)
        return await _from_session(db, signer, bearer.credentials, now)
    if cookie is None:
        return None
    refuse_cross_site(request, settings)
    return await _from_session(db, signer, cookie, now)


async def lenient_principal(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    signer: SignerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_credentials)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Principal | None:
    """For pages: None also when the session expired or was logged out, so a phone with
    yesterday's cookie is sent to log in again rather than shown a 401."""
    try:
        return await optional_principal(request, db, settings, clock, signer, bearer, cookie)
    except HTTPException as refused:
        if refused.status_code == 401:
            return None
        raise


LenientPrincipalDep = Annotated[Principal | None, Depends(lenient_principal)]


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise _unauthenticated("log in first")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise HTTPException(403, "this needs the admin role")
    return principal


async def require_product_manager(principal: PrincipalDep) -> Principal:
    if not principal.is_product_manager:
        raise HTTPException(403, "this needs the product-manager or admin role")
    return principal


async def require_technician(principal: PrincipalDep) -> Principal:
    if not principal.is_technician:
        raise HTTPException(403, "this needs a lab technician (the admin role or technician group)")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
ProductManagerDep = Annotated[Principal, Depends(require_product_manager)]
TechnicianDep = Annotated[Principal, Depends(require_technician)]


async def require_member(principal: PrincipalDep, db: DbDep) -> int:
    """The member id behind the login; 403 while the login is linked to no member."""
    if principal.is_token:
        raise HTTPException(403, "an API token has no member account")
    member_id = await logins.member_id(db, principal.subject)
    if member_id is None:
        raise HTTPException(
            403, "no member account is linked to this login: link a card from a checkout terminal"
        )
    return member_id


MemberDep = Annotated[int, Depends(require_member)]
