"""Opening the database for one CLI command; the service accounts from the settings.

Commands run their work through `makerbus.cli_common.in_database` / `with_broker`; the broker
admin connection is `broker.provisioning.open_device_broker` (the web side uses it too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from broker.dynsec_file import Account, service_accounts
from broker.identities import admin_login, handler_logins, monitor_logins
from broker.topics import Topics
from core.db import async_session_factory, make_async_engine
from core.settings import BROKER_SECRET_FIELDS, Settings


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One session in one transaction, committed when the block ends without an error."""
    engine = make_async_engine(settings.database_url, pool_size=1)
    try:
        async with async_session_factory(engine)() as db, db.begin():
            yield db
    finally:
        await engine.dispose()


def accounts_from(settings: Settings) -> tuple[Account, ...]:
    """The service accounts (broker init, and reconcile, which may recreate them)."""
    settings.require_secrets(*BROKER_SECRET_FIELDS)
    return service_accounts(
        Topics(settings.topic_prefix),
        settings.share_group,
        admin=admin_login(settings),
        handlers=handler_logins(settings),
        monitors=monitor_logins(settings),
    )
