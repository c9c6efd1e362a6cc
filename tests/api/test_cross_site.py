"""An unsafe request that carries the session cookie must come from our own pages."""

from __future__ import annotations

import httpx
import pytest

from tests.api.browser import Browser
from tests.api.conftest import ORIGIN, SESSION_COOKIE
from tests.factories import unique_slug


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "cross-site"},
        {},
    ],
    ids=[
        "foreign-origin",
        "opaque-origin",
        "opaque-origin-same-site",
        "foreign-origin-despite-fetch-metadata",
        "fetch-metadata-cross-site",
        "no-origin-at-all",
    ],
)
async def test_a_cross_site_post_with_the_cookie_is_refused(
    browser: Browser, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await browser.login(unique_slug("m"))

    logout = await client.post("/auth/logout", headers=headers)
    still = await client.get("/auth/me")

    assert logout.status_code == 403
    assert "cross-site" in logout.json()["detail"]
    assert still.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": ORIGIN},
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # our page under no-referrer
    ],
    ids=["origin", "fetch", "opaque-origin-fetch"],
)
async def test_the_same_post_from_our_own_pages_is_accepted(
    browser: Browser, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await browser.login(unique_slug("m"))

    logout = await client.post("/auth/logout", headers=headers)

    assert logout.status_code == 204


async def test_a_bearer_header_needs_no_origin(browser: Browser, client: httpx.AsyncClient) -> None:
    landed = await browser.login(unique_slug("m"))
    token = landed.cookies[SESSION_COOKIE]
    client.cookies.clear()

    logout = await client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})

    assert logout.status_code == 204
