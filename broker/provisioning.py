"""Provisioning devices: the database row and the broker account change together.

The database is the list of record. Each function changes the row inside the caller's
transaction and then the broker; if the broker refuses, the exception rolls the row back.
`reconcile` makes the broker match the database (at start-up and on demand).
`open_device_broker` opens the admin connection they need (the CLI and the web API use it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broker import accounts
from broker.acl import DEVICE_GROUP, device_acls, device_role
from broker.dynsec import DynsecAdmin, DynsecError
from broker.dynsec_file import Account
from broker.mqtt import BrokerAddress
from broker.topics import Topics
from core import devices
from core.devices import DeviceRef
from core.errors import Conflict
from core.models import DeviceKind
from core.settings import Settings


@dataclass(frozen=True)
class Credentials:
    """Shown once: makerbus keeps no copy of the password."""

    username: str
    password: str
    host: str
    port: int

    def as_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "password": self.password,
            "host": self.host,
            "port": self.port,
        }


@dataclass(frozen=True)
class DeviceBroker:
    """The broker side of provisioning: admin connection, topics, and the address devices use."""

    admin: DynsecAdmin
    topics: Topics
    device_host: str
    device_port: int
    admin_username: str = "makerbus-admin"

    def credentials(self, slug: str, password: str) -> Credentials:
        return Credentials(slug, password, self.device_host, self.device_port)


@asynccontextmanager
async def open_device_broker(
    settings: Settings, *, timeout_s: float = 10.0
) -> AsyncIterator[DeviceBroker]:
    """One admin connection to the broker, closed when the block ends.

    Refuses (UnsafeSettingsError) outside dev mode while the admin password is the default;
    an unreachable broker raises aiomqtt.MqttError, a command left unanswered TimeoutError.
    `timeout_s` bounds the connect and each command.
    """
    settings.require_secrets("broker_admin_password")
    address = BrokerAddress(settings.mqtt_host, settings.mqtt_port, settings.mqtt_ca_file)
    async with DynsecAdmin(
        address, settings.broker_admin_username, settings.broker_admin_password, timeout=timeout_s
    ) as admin:
        yield DeviceBroker(
            admin=admin,
            topics=Topics(settings.topic_prefix),
            device_host=settings.device_host,
            device_port=settings.device_port,
            admin_username=settings.broker_admin_username,
        )


async def add(
    db: AsyncSession,
    broker: DeviceBroker,
    *,
    slug: str,
    kind: DeviceKind,
    name: str,
    now: datetime,
) -> tuple[DeviceRef, Credentials]:
    await devices.lock_registry(db)
    device = await devices.create(db, slug=slug, kind=kind, name=name, now=now)
    password = accounts.new_password()
    try:
        await accounts.create_device(broker.admin, broker.topics, slug, password)
    except DynsecError as error:
        if error.error != "Client already exists":
            raise
        # The database had no such device. A device account is then a leftover of an attempt
        # that failed after the broker step, and is replaced; any other account (a service,
        # something the operator made by hand) is not ours to take over.
        existing = await accounts.get_client(broker.admin, slug)
        if DEVICE_GROUP not in existing.groups:
            raise Conflict(f"the broker has an account {slug!r} that is not a device") from None
        await accounts.delete_device(broker.admin, slug)
        await accounts.create_device(broker.admin, broker.topics, slug, password)
    return device, broker.credentials(slug, password)


async def rotate(
    db: AsyncSession, broker: DeviceBroker, slug: str, *, now: datetime
) -> Credentials:
    """A new password; the broker drops the device's connection at once.

    A device whose broker account is missing (a broker restored from an old backup) gets a
    new account with the new password, so rotating also repairs it.
    """
    await devices.lock_registry(db)
    device = await devices.get(db, slug)
    await devices.mark_rotated(db, slug, now=now)
    password = accounts.new_password()
    try:
        await accounts.set_password(broker.admin, slug, password)
    except DynsecError as error:
        if error.error not in accounts.MISSING:
            raise
        await accounts.create_device(broker.admin, broker.topics, slug, password)
        if not device.enabled:
            await accounts.set_enabled(broker.admin, slug, enabled=False)
    return broker.credentials(slug, password)


async def set_enabled(
    db: AsyncSession, broker: DeviceBroker, slug: str, *, enabled: bool
) -> DeviceRef:
    """Disabling drops the device's connection and refuses it until enabled.

    A device without a broker account is disabled already in effect; enabling it is refused
    (Conflict) until `rotate` gives it an account.
    """
    await devices.lock_registry(db)
    device = await devices.set_enabled(db, slug, enabled=enabled)
    try:
        await accounts.set_enabled(broker.admin, slug, enabled=enabled)
    except DynsecError as error:
        if error.error not in accounts.MISSING:
            raise
        if enabled:
            raise Conflict(
                f"device {slug} has no broker account: rotate its password to create one"
            ) from None
    return device


async def remove(db: AsyncSession, broker: DeviceBroker, slug: str) -> None:
    await devices.lock_registry(db)
    await devices.remove(db, slug)
    await accounts.delete_device(broker.admin, slug)


@dataclass
class ReconcileReport:
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)

    @property
    def needs_rotation(self) -> list[str]:
        """Devices whose broker account was recreated with a password nobody knows."""
        return self.created

    @property
    def changed(self) -> bool:
        return any(
            (self.created, self.removed, self.enabled, self.disabled, self.repaired, self.services)
        )


async def reconcile(
    db: AsyncSession, broker: DeviceBroker, service_accounts: tuple[Account, ...]
) -> ReconcileReport:
    """Make the broker's accounts match the database's devices and the service accounts."""
    report = ReconcileReport()
    admin = broker.admin
    await devices.lock_registry(db)
    clients = await accounts.list_clients(admin)
    roles = await accounts.role_acls(admin)
    own = [a for a in service_accounts if a.username == broker.admin_username]
    for account in service_accounts:
        if account not in own and await accounts.ensure_service_account(
            admin, account, clients, roles
        ):
            report.services.append(account.username)

    wanted = {device.slug: device for device in await devices.list_all(db)}
    for slug, device in wanted.items():
        current = clients.get(slug)
        if current is None:
            await accounts.create_device(admin, broker.topics, slug, accounts.new_password())
            if not device.enabled:
                await accounts.set_enabled(admin, slug, enabled=False)
            report.created.append(slug)
            continue
        role_fixed = await accounts.ensure_role(
            admin, device_role(slug), device_acls(broker.topics, slug), roles
        )
        if await accounts.repair_device(admin, slug, current) or role_fixed:
            report.repaired.append(slug)
        if device.enabled and current.disabled:
            await accounts.set_enabled(admin, slug, enabled=True)
            report.enabled.append(slug)
        elif not device.enabled and not current.disabled:
            await accounts.set_enabled(admin, slug, enabled=False)
            report.disabled.append(slug)

    for username, current in clients.items():
        if DEVICE_GROUP in current.groups and username not in wanted:
            await accounts.delete_device(admin, username)
            report.removed.append(username)
    # Last: changing the admin's own role ends this connection.
    for account in own:
        if await accounts.repair_own_role(admin, account, roles):
            report.services.append(account.username)
    return report
