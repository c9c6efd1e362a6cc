"""The API over ASGI in-process (httpx), on the real test databases, with a real mosquitto and
a real OIDC provider process (`oidc-provider-mock`) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.session_tokens import SESSION_COOKIE as SESSION_COOKIE_BASE
from api.session_tokens import Role, cookie_name
from broker.launcher import LocalBroker, free_port, init_local
from core.db import async_session_factory, make_async_engine
from core.models import Member
from core.settings import Settings
from makerbus.context import accounts_from
from makerbus.login_provider import LocalLoginProvider
from tests.api.browser import Browser
from tests.factories import make_member, unique_slug
from tests.live_server import LiveApp, serving
from tests.secrets_for_tests import production_settings

ORIGIN = "https://testserver"
# The tests run in production mode, where the session cookie is a __Host- cookie.
SESSION_COOKIE = cookie_name(SESSION_COOKIE_BASE, secure=True)
Headers = dict[str, str]


@pytest.fixture(scope="session")
def broker_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real mosquitto for /health and device provisioning."""
    directory: Path = tmp_path_factory.mktemp("api-broker")
    port = free_port()
    init_local(directory, port, accounts_from(production_settings(mqtt_port=port)))
    with LocalBroker(directory, port):
        yield port


@pytest.fixture
def api_settings(
    settings: Settings, broker_port: int, login_provider: LocalLoginProvider
) -> Settings:
    """Production mode (Secure cookies, no default secrets) on the test broker and provider."""
    return settings.model_copy(
        update={"mqtt_port": broker_port, "oidc_discovery_url": login_provider.discovery_url}
    )


@pytest.fixture
def app(api_settings: Settings) -> FastAPI:
    return create_app(api_settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http
    await app.state.engine.dispose()


@pytest.fixture
def browser(client: httpx.AsyncClient, login_provider: LocalLoginProvider) -> Browser:
    """A browser-like client: follows the login through the provider, keeps cookies."""
    return Browser(client, login_provider)


@pytest.fixture
async def committed_db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session whose commits are real: the app under test reads through its own engine."""
    engine = make_async_engine(settings.database_url, pool_size=1)
    async with async_session_factory(engine)() as db:
        yield db
    await engine.dispose()


@pytest.fixture
async def live_app(api_settings: Settings) -> AsyncIterator[LiveApp]:
    """The app on a loopback port (served by this test's event loop), in production mode."""
    async with serving(api_settings) as live:
        yield live


SessionFor = Callable[..., Headers]


@pytest.fixture
def session_for(app: FastAPI) -> SessionFor:
    """Bearer headers of a session signed by the app, as after a login (see test_login for
    the login itself): `session_for("sub", Role.ADMIN)`."""

    def headers(subject: str, *roles: Role) -> Headers:
        token = app.state.signer.issue(
            subject=subject, name=subject, roles=frozenset(roles), now=app.state.clock.now()
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def admin(session_for: SessionFor) -> Headers:
    return session_for(unique_slug("admin"), Role.ADMIN)


@pytest.fixture
def product_manager(session_for: SessionFor) -> Headers:
    return session_for(unique_slug("shop"), Role.PRODUCT_MANAGER)


LinkedMember = Callable[..., Awaitable[tuple[int, Headers]]]


@pytest.fixture
def linked_member(committed_db: AsyncSession, session_for: SessionFor) -> LinkedMember:
    """A committed member whose login is linked, and that login's headers."""

    async def create(name: str = "Grace Hopper", balance_cents: int = 0) -> tuple[int, Headers]:
        subject = unique_slug("member")
        member = await make_member(committed_db, name=name, balance_cents=balance_cents)
        await committed_db.execute(
            update(Member).where(Member.id == member.member_id).values(oidc_subject=subject)
        )
        await committed_db.commit()
        return member.member_id, session_for(subject)

    return create
