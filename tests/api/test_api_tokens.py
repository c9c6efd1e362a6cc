"""API tokens: created by the operator's CLI, shown once, stored hashed, refused once revoked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ApiToken
from core.settings import Settings
from tests.factories import unique_slug


def makerbus(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `makerbus` command on the test database, in production mode."""
    env = {
        **os.environ,
        "MAKERBUS_ENV": "production",
        "MAKERBUS_DATABASE_URL": settings.database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "makerbus", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_created_token_works_for_scripts_and_stops_working_when_revoked(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    name = unique_slug("ci")
    created = makerbus(settings, "token", "create", "--role", "admin", "--name", name, "--json")
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)["token"]

    me = await client.get("/auth/me", headers=_bearer(token))
    revoked = makerbus(settings, "token", "revoke", name)
    after = await client.get("/auth/me", headers=_bearer(token))

    assert me.status_code == 200
    assert me.json() | {"subject": None} == {
        "subject": None,
        "name": name,
        "is_admin": True,
        "is_product_manager": True,
        "is_token": True,
        "machine_admin_of": [],
        "member_id": None,
    }
    assert revoked.returncode == 0, revoked.stderr
    assert after.status_code == 401


async def test_the_database_keeps_only_a_hash_of_the_token(
    settings: Settings, committed_db: AsyncSession
) -> None:
    name = unique_slug("ops")
    created = makerbus(settings, "token", "create", "--role", "product_manager", "--name", name)
    token = created.stdout.strip().splitlines()[-1]
    listing = makerbus(settings, "token", "list")

    stored = await committed_db.scalar(select(ApiToken).where(ApiToken.name == name))

    assert token.startswith("mbt_")
    assert stored is not None
    assert token not in stored.token_hash
    assert stored.role == "product_manager"
    assert name in listing.stdout
    assert token not in listing.stdout


async def test_a_product_manager_token_is_refused_admin_routes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    name = unique_slug("shop")
    created = makerbus(
        settings, "token", "create", "--role", "product_manager", "--name", name, "--json"
    )
    token = json.loads(created.stdout)["token"]

    response = await client.get("/api/v1/admin/devices", headers=_bearer(token))

    assert response.status_code == 403


async def test_an_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me", headers=_bearer("mbt_" + "x" * 43))

    assert response.status_code == 401


def test_token_names_are_unique_and_roles_closed(settings: Settings) -> None:
    name = unique_slug("dup")
    first = makerbus(settings, "token", "create", "--role", "admin", "--name", name)
    again = makerbus(settings, "token", "create", "--role", "admin", "--name", name)
    odd_role = makerbus(settings, "token", "create", "--role", "root", "--name", unique_slug("x"))

    assert first.returncode == 0
    assert again.returncode != 0
    assert "exists already" in again.stderr
    assert odd_role.returncode != 0
