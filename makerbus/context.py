"""Opening the database (and, via broker.provisioning, the broker) for one CLI command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from broker.dynsec_file import Account, service_accounts
from broker.provisioning import open_device_broker
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


# The broker admin connection moved to broker.provisioning (the web API needs it too and may
# not import makerbus); the commands that still import it from here get the same function.
device_broker = open_device_broker


def accounts_from(settings: Settings) -> tuple[Account, ...]:
    """The three service accounts (broker init, and reconcile, which may recreate them)."""
    settings.require_secrets(*BROKER_SECRET_FIELDS)
    return service_accounts(
        Topics(settings.topic_prefix),
        settings.share_group,
        admin=(settings.broker_admin_username, settings.broker_admin_password),
        handler=(settings.broker_handler_username, settings.broker_handler_password),
        monitor=(settings.broker_monitor_username, settings.broker_monitor_password),
    )
