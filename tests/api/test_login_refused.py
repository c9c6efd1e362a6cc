"""A login that does not work out is a page in the person's language with a way to start
again (towards where they were going) and to the start page; an API client that asks for
JSON gets JSON with the same status."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from broker.launcher import free_port
from core.settings import Settings
from makerbus.login_provider import LocalLoginProvider
from tests.api.cards import card_with_token
from tests.api.conftest import ORIGIN
from tests.chromium import PHONE, Chromium, accessibility_problems, fits_the_width
from tests.live_server import LiveApp

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
JSON = {"Accept": "application/json"}


async def _denied_at_provider(client: httpx.AsyncClient, next_path: str) -> str:
    """Start a login towards `next_path` and press Deny at the provider: the callback address
    the provider sends the browser back to."""
    to_provider = await client.get("/auth/login", params={"next": next_path})
    async with httpx.AsyncClient() as provider:
        denied = await provider.post(to_provider.headers["location"], data={"action": "deny"})
    back = httpx.URL(denied.headers["location"])
    return f"{back.path}?{back.query.decode()}"


async def _login_page_of(settings: Settings, headers: dict[str, str]) -> httpx.Response:
    app: FastAPI = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        response = await http.get("/auth/login", params={"next": "/api/v1/me"}, headers=headers)
    await app.state.engine.dispose()
    return response


async def test_a_denied_login_is_a_german_page_with_a_way_to_start_again(
    client: httpx.AsyncClient,
) -> None:
    callback = await _denied_at_provider(client, "/link/abc")

    page = await client.get(callback, headers=GERMAN)

    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert '<html lang="de">' in page.text
    assert "Nicht angemeldet" in page.text
    assert '<a href="/auth/login?next=%2Flink%2Fabc" role="button">Neu anmelden</a>' in page.text
    assert '<a href="/" role="button" class="secondary">Zur Startseite</a>' in page.text


async def test_an_api_client_asking_for_json_is_told_in_json(client: httpx.AsyncClient) -> None:
    callback = await _denied_at_provider(client, "/")

    answer = await client.get(callback, headers=JSON)

    assert answer.status_code == 400
    assert answer.json()["error"] == "login_denied"


async def test_a_callback_without_its_login_state_is_a_failed_login_page(
    client: httpx.AsyncClient,
) -> None:
    # What a browser sends when the login began in another browser or over ten minutes ago.
    page = await client.get("/auth/callback", params={"code": "c0de", "state": "st4te"})

    assert page.status_code == 400
    assert "Login failed" in page.text
    assert 'href="/auth/login"' in page.text


async def test_a_provider_error_description_is_not_shown_on_our_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/auth/callback", params={"error": "x", "error_description": "Call +1 555 to unlock"}
    )

    assert response.status_code == 400
    assert "555" not in response.text


async def test_an_unreachable_provider_is_a_502_page_to_try_again_from(
    api_settings: Settings,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"

    page = await _login_page_of(api_settings.model_copy(update={"oidc_discovery_url": nowhere}), {})

    assert page.status_code == 502
    assert "Login unavailable" in page.text
    assert 'href="/auth/login?next=%2Fapi%2Fv1%2Fme"' in page.text


async def test_without_a_provider_the_login_is_a_503_page_or_json(api_settings: Settings) -> None:
    unconfigured = api_settings.model_copy(update={"oidc_discovery_url": None})

    page = await _login_page_of(unconfigured, GERMAN)
    answer = await _login_page_of(unconfigured, JSON)

    assert page.status_code == 503
    assert "Anmeldung nicht eingerichtet" in page.text
    assert answer.status_code == 503
    assert answer.json()["error"] == "login_not_configured"


async def test_a_login_denied_in_a_german_browser_says_so_in_german_and_leads_back(
    live_app: LiveApp,
    chromium: Chromium,
    committed_db: AsyncSession,
    login_provider: LocalLoginProvider,
) -> None:
    _, token = await card_with_token(committed_db, live_app.app)

    def deny_then_start_again(page: Page) -> dict[str, object]:
        page.goto(f"{live_app.url}/link/{token}")
        with page.expect_response(lambda answer: "/auth/callback" in answer.url) as called:
            page.get_by_role("button", name="Deny").click()
        page.wait_for_load_state()
        seen = {
            "status": called.value.status,
            "heading": page.inner_text("h1"),
            "fits": fits_the_width(page),
            "problems": accessibility_problems(page),
        }
        page.get_by_role("button", name="Neu anmelden").click()
        page.wait_for_load_state()
        return {**seen, "then": page.url}

    seen = await chromium.run(deny_then_start_again, locale="de-DE", viewport=PHONE)

    assert {k: seen[k] for k in ("status", "heading", "fits", "problems")} == {
        "status": 400,
        "heading": "Nicht angemeldet",
        "fits": True,
        "problems": [],
    }
    assert str(seen["then"]).startswith(f"{login_provider.issuer}/oauth2/authorize?")
