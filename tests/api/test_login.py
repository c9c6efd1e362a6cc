"""Logging in through the OIDC provider, the session it gives, and what a session is refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from api.session_tokens import Role
from tests.api.browser import Browser
from tests.api.conftest import ORIGIN, SESSION_COOKIE, SessionFor
from tests.factories import unique_slug

ADMINS = "makerbus-admins"


async def test_a_browser_login_sets_a_session_cookie_with_roles_from_the_groups_claim(
    browser: Browser, client: httpx.AsyncClient
) -> None:
    subject = unique_slug("ada")

    landed = await browser.login(subject, groups=[ADMINS, "other"], name="Ada")

    assert landed.status_code == 302
    assert landed.headers["location"] == "/"
    cookie = landed.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Max-Age=28800"):
        assert attribute.lower() in cookie.lower()
    me = (await client.get("/auth/me")).json()
    assert me["subject"] == subject
    assert me["name"] == "Ada"
    assert me["is_admin"] is True
    assert me["is_product_manager"] is True


async def test_the_login_uses_pkce_and_a_nonce(browser: Browser, client: httpx.AsyncClient) -> None:
    to_provider = await client.get("/auth/login")

    query = httpx.URL(to_provider.headers["location"]).params
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert query["nonce"]
    assert query["redirect_uri"] == f"{ORIGIN}/auth/callback"


async def test_a_login_returns_to_the_page_asked_for_but_never_off_site(
    browser: Browser,
) -> None:
    back_home = await browser.login(unique_slug("m"), start="/auth/login?next=/link/abc")
    off_site = await browser.login(unique_slug("m"), start="/auth/login?next=//evil.example/x")

    assert back_home.headers["location"] == "/link/abc"
    assert off_site.headers["location"] == "/"


async def test_a_member_without_the_admin_group_is_refused_admin_routes(
    browser: Browser, client: httpx.AsyncClient
) -> None:
    await browser.login(unique_slug("grace"), groups=["makerbus-shop"])

    me = (await client.get("/auth/me")).json()
    devices = await client.get("/api/v1/admin/devices")

    assert (me["is_admin"], me["is_product_manager"]) == (False, True)
    assert devices.status_code == 403


@pytest.mark.parametrize(
    "groups", [{ADMINS: False}, True, 7, [ADMINS, 7]], ids=["object", "bool", "int", "mixed"]
)
async def test_a_groups_claim_that_is_not_a_list_of_names_gives_no_role(
    browser: Browser, client: httpx.AsyncClient, groups: object
) -> None:
    landed = await browser.login(unique_slug("odd"), claims={"groups": groups})

    me = (await client.get("/auth/me")).json()

    assert landed.status_code == 302
    assert (me["is_admin"], me["is_product_manager"]) == (False, False)


async def test_a_provider_without_a_groups_claim_in_the_id_token_is_asked_for_userinfo(
    browser: Browser, client: httpx.AsyncClient
) -> None:
    subject = unique_slug("plain")

    landed = await browser.login(subject, claims={"name": "Plain"})

    me = (await client.get("/auth/me")).json()
    assert landed.status_code == 302
    assert (me["subject"], me["name"], me["is_admin"]) == (subject, "Plain", False)


async def test_the_session_also_works_as_a_bearer_header(
    browser: Browser, client: httpx.AsyncClient
) -> None:
    landed = await browser.login(unique_slug("m"), groups=[ADMINS])
    token = landed.cookies[SESSION_COOKIE]
    client.cookies.clear()

    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert me.status_code == 200
    assert me.json()["is_admin"] is True


async def test_no_login_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{token.split('.')[1]}."


def _signed_with_another_algorithm(app: FastAPI, token: str) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"HS512","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{token.split('.')[1]}.{token.split('.')[2]}"


@pytest.mark.parametrize("forge", ["tampered", "unsigned", "other-algorithm", "garbage"])
async def test_forged_session_tokens_are_401(
    client: httpx.AsyncClient, app: FastAPI, session_for: SessionFor, forge: str
) -> None:
    token = session_for(unique_slug("m"))["Authorization"].removeprefix("Bearer ")
    forged = {
        "tampered": _tampered(token),
        "unsigned": _unsigned(token),
        "other-algorithm": _signed_with_another_algorithm(app, token),
        "garbage": "not.a.token",
    }[forge]

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401


async def test_an_expired_session_is_401(client: httpx.AsyncClient, app: FastAPI) -> None:
    issued_long_ago = app.state.clock.now() - timedelta(hours=8, seconds=1)
    token = app.state.signer.issue(
        subject="late", name="Late", roles=frozenset({Role.ADMIN}), now=issued_long_ago
    )

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_logout_clears_the_cookie_and_the_token_stops_working(
    browser: Browser, client: httpx.AsyncClient
) -> None:
    landed = await browser.login(unique_slug("m"))
    token = landed.cookies[SESSION_COOKIE]

    logout = await client.post("/auth/logout", headers={"Origin": ORIGIN})
    after = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert logout.status_code == 204
    assert f'{SESSION_COOKIE}=""' in logout.headers["set-cookie"]
    assert after.status_code == 401
