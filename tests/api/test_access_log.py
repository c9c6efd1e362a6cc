"""The access log names routes, never the secrets in paths; personal answers are not cached."""

from __future__ import annotations

import logging

import httpx
import pytest

SECRET_LINK_TOKEN = "Sekr3tL1nkT0ken_abcdefghijklmnopqrstuvwxyz0"


async def test_the_access_log_names_the_route_not_the_link_token_or_login_code(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await client.get(f"/link/{SECRET_LINK_TOKEN}")
        await client.get("/auth/callback", params={"code": "SECRETCODE", "state": "SECRETSTATE"})

    # The test's own HTTP client (httpx) logs the URLs it asks for; the server's records count.
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in server)
    access = [r.getMessage() for r in caplog.records if r.name == "makerbus.api.access"]
    assert "GET /link/{token} 302" in access
    assert "GET /auth/callback 400" in access
    for secret in (SECRET_LINK_TOKEN, "SECRETCODE", "SECRETSTATE"):
        assert secret not in logged


async def test_personal_answers_say_no_store_and_the_public_catalogue_does_not(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    me = await client.get("/auth/me", headers=admin)
    members = await client.get("/api/v1/admin/members", headers=admin)
    catalogue = await client.get("/api/v1/products")

    assert me.headers["cache-control"] == "no-store"
    assert members.headers["cache-control"] == "no-store"
    assert "cache-control" not in catalogue.headers
