"""The request's transaction commits before the answer goes out: when the commit fails, the
answer is a 500 that shows nothing as done, never a 200 or 201 for a change that was lost."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.cards import card_with_token, subject_of
from tests.api.conftest import ORIGIN, Headers, SessionFor
from tests.databases import commits_fail_after
from tests.factories import unique_slug

DEVICES = "/api/v1/admin/devices"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app as a server runs it: an error it raises is the server's to log, and the client
    sees only the answer (if any was sent)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http
    await app.state.engine.dispose()


@pytest.mark.mqtt
async def test_a_device_whose_row_fails_to_commit_is_a_500_without_its_password(
    served: httpx.AsyncClient, admin: Headers, database_url: str
) -> None:
    new = {"slug": unique_slug("lathe"), "kind": "machine"}
    with commits_fail_after(database_url, "devices"):
        failed = await served.post(DEVICES, json=new, headers=admin)
    listed = await served.get(f"{DEVICES}/{new['slug']}", headers=admin)
    retried = await served.post(DEVICES, json=new, headers=admin)

    assert failed.status_code == 500
    assert failed.json()["error"] == "internal_error"
    assert "password" not in failed.text
    assert "Traceback" not in failed.text
    assert listed.status_code == 404
    assert retried.status_code == 201  # the broker account left behind is replaced


async def test_a_card_link_that_fails_to_commit_is_a_500_page_and_links_nothing(
    served: httpx.AsyncClient,
    committed_db: AsyncSession,
    app: FastAPI,
    session_for: SessionFor,
    database_url: str,
) -> None:
    member, token = await card_with_token(committed_db, app)
    visitor = session_for(unique_slug("phone"))
    headers = {**visitor, "Accept": BROWSER_ACCEPT, "Accept-Language": "de"}

    with commits_fail_after(database_url, "members", "UPDATE"):
        failed = await served.post(f"/link/{token}", headers=headers)
    linked_to = await subject_of(committed_db, member)
    retried = await served.post(f"/link/{token}", headers=headers)

    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/html")
    assert "nichts wurde gespeichert" in failed.text
    assert "verknüpft" not in failed.text
    assert linked_to is None
    assert retried.status_code == 200  # the token was not used up
