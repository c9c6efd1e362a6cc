"""OIDC login (authorization code with PKCE), `/auth/me` and logout.

The provider proves who someone is once; from then on the app's own session token says so
for `session_hours`. Roles come from the provider's groups claim at login. The login state
(state, nonce, PKCE verifier, where to go next) lives for ten minutes in a signed cookie of
its own (signed, `__Host-` outside dev). A login that fails is a page for the person
(`api.login_pages`), not an error body.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from httpx2 import HTTPError
from joserfc.errors import JoseError
from pydantic import BaseModel

from api.auth import ClockDep, PrincipalDep, SignerDep
from api.deps import DbDep, SettingsDep
from api.login_pages import (
    LOGIN_DENIED,
    LOGIN_FAILED,
    NOT_CONFIGURED,
    PROVIDER_UNREACHABLE,
    refused,
)
from api.pages import Message, prefers_html
from api.session_tokens import SESSION_COOKIE, Role, cookie_name
from core import logins, machines, web_sessions
from core.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])
PROVIDER = "oidc"
LOGIN_STATE_MAX_AGE_S = 600


def make_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    if settings.oidc_discovery_url:
        oauth.register(
            PROVIDER,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=settings.oidc_discovery_url,
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
        )
    return oauth


def _client(request: Request) -> Any | None:
    """The provider's client; None when no provider is configured."""
    return request.app.state.oauth.create_client(PROVIDER)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//host` or a full URL someone slipped in."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def roles_from(claims: dict[str, Any], settings: Settings) -> frozenset[Role]:
    """Roles from the groups claim: a list of names (or one name); anything else gives none."""
    groups = claims.get(settings.oidc_groups_claim)
    if isinstance(groups, str):
        groups = [groups]
    if groups is None:
        return frozenset()
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        log.warning("the groups claim is not a list of names: no roles given")
        return frozenset()
    roles = set()
    if settings.admin_group in groups:
        roles.add(Role.ADMIN)
    if settings.product_manager_group in groups:
        roles.add(Role.PRODUCT_MANAGER)
    if settings.technician_group in groups:
        roles.add(Role.TECHNICIAN)
    return frozenset(roles)


def display_name(claims: dict[str, Any]) -> str:
    for claim in ("name", "preferred_username", "email", "sub"):
        if isinstance(claims.get(claim), str) and claims[claim]:
            return str(claims[claim])[:200]
    return ""


_REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description + ": a page with a way to start again (JSON if asked for)",
        "content": {"text/html": {}, "application/json": {}},
    }
    for status, description in (
        (400, "The login failed, or the provider refused it"),
        (502, "The login provider cannot be reached"),
        (503, "No login provider is configured"),
    )
}


@router.get("/login", response_class=RedirectResponse, status_code=302, responses=_REFUSALS)
async def login(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """Send the browser to the provider; it comes back to `/auth/callback`."""
    target = safe_next(next)
    client = _client(request)
    if client is None:
        return refused(request, NOT_CONFIGURED, target)
    request.session.clear()
    request.session["next"] = target
    try:
        redirect: Response = await client.authorize_redirect(
            request, f"{settings.public_url.rstrip('/')}/auth/callback"
        )
    except (HTTPError, OSError) as error:
        log.warning("login provider unreachable: %s", error)
        return refused(request, PROVIDER_UNREACHABLE, target)
    return redirect


async def _checked_claims(client: Any, request: Request, settings: Settings) -> dict[str, Any]:
    """The ID token's claims (authlib checked signature, issuer, audience, expiry, nonce),
    with the groups from userinfo when the ID token has none."""
    token = await client.authorize_access_token(request)
    claims = dict(token.get("userinfo") or {})
    if not claims:
        raise LoginFailed("the provider sent no ID token")
    if settings.oidc_groups_claim not in claims:
        userinfo = await client.userinfo(token=token)
        # OIDC Core 5.3.2: userinfo must be about the same person as the ID token.
        if userinfo.get("sub") != claims.get("sub"):
            raise LoginFailed("the provider's userinfo is about someone else")
        claims[settings.oidc_groups_claim] = userinfo.get(settings.oidc_groups_claim)
    return claims


class LoginFailed(Exception):
    pass


async def _claims_or_refusal(
    client: Any, request: Request, settings: Settings
) -> dict[str, Any] | Message:
    """The checked claims with a usable subject, or what to tell the person instead."""
    try:
        claims = await _checked_claims(client, request, settings)
    except (OAuthError, LoginFailed, JoseError, ValueError, KeyError, TypeError) as error:
        log.info("login refused: %s", error)
        denied = isinstance(error, OAuthError) and error.error == "access_denied"
        return LOGIN_DENIED if denied else LOGIN_FAILED
    except (HTTPError, OSError, RuntimeError) as error:
        log.warning("login provider unreachable or misconfigured: %s", error)
        return PROVIDER_UNREACHABLE
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
        log.info("login refused: the provider named no usable subject")
        return LOGIN_FAILED
    return claims


@router.get("/callback", response_class=RedirectResponse, status_code=302, responses=_REFUSALS)
async def callback(
    request: Request, settings: SettingsDep, clock: ClockDep, signer: SignerDep
) -> Response:
    """Finish the login: check the provider's answer, set the session cookie, go on."""
    target = safe_next(request.session.get("next"))
    client = _client(request)
    if client is None:
        return refused(request, NOT_CONFIGURED, target)
    outcome = await _claims_or_refusal(client, request, settings)
    request.session.clear()  # this login's state is spent, whatever the outcome
    if isinstance(outcome, Message):
        return refused(request, outcome, target)
    claims = outcome
    subject = claims["sub"]
    session = signer.issue(
        subject=subject,
        name=display_name(claims),
        roles=roles_from(claims, settings),
        now=clock.now(),
    )
    response = RedirectResponse(target, status_code=302)
    response.set_cookie(
        cookie_name(SESSION_COOKIE, secure=not settings.is_dev),
        session,
        max_age=int(signer.lifetime.total_seconds()),
        httponly=True,
        secure=not settings.is_dev,
        samesite="lax",
        path="/",
    )
    log.info("login", extra={"subject": subject})
    return response


class Me(BaseModel):
    subject: str
    name: str
    is_admin: bool
    is_product_manager: bool
    is_token: bool
    machine_admin_of: list[str]
    member_id: int | None


@router.get("/me")
async def me(principal: PrincipalDep, db: DbDep) -> Me:
    """Who is logged in, with role flags and the machines they manage."""
    managed = (
        [] if principal.is_token else await machines.list_machines(db, managed_by=principal.subject)
    )
    return Me(
        subject=principal.subject,
        name=principal.name,
        is_admin=principal.is_admin,
        is_product_manager=principal.is_product_manager,
        is_token=principal.is_token,
        machine_admin_of=[machine.slug for machine in managed],
        member_id=None if principal.is_token else await logins.member_id(db, principal.subject),
    )


@router.post("/logout", status_code=204)
async def logout(
    request: Request, principal: PrincipalDep, db: DbDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    """End this session: the cookie is cleared and the token is refused from now on. A
    browser's logout form is sent on to the start page (303)."""
    if principal.session is None:
        raise HTTPException(
            400, "an API token is not logged out but revoked: makerbus token revoke"
        )
    await web_sessions.prune(db, now=clock.now())
    await web_sessions.revoke(
        db, principal.session.session_id, expires_at=principal.session.expires_at
    )
    response = (
        RedirectResponse("/", status_code=303)
        if prefers_html(request)
        else Response(status_code=204)
    )
    response.delete_cookie(
        cookie_name(SESSION_COOKIE, secure=not settings.is_dev),
        path="/",
        secure=not settings.is_dev,
        httponly=True,
        samesite="lax",
    )
    return response
