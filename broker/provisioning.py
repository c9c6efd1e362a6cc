"""Provisioning devices: the database row and the broker account change together.

The database is the list of record. Each function changes the row inside the caller's
transaction and then the broker; if the broker refuses, the exception rolls the row back.
`reconcile` makes the broker match the database (at start-up and on demand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broker import accounts
from broker.acl import DEVICE_GROUP, device_acls, device_role
from broker.dynsec import DynsecAdmin, DynsecError
from broker.dynsec_file import Account
from broker.topics import Topics
from core import devices
from core.devices import DeviceRef
from core.models import DeviceKind


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
        # The database had no such device, so the account is a leftover of an attempt that
        # failed after the broker step: replace it.
        await accounts.delete_device(broker.admin, slug)
        await accounts.create_device(broker.admin, broker.topics, slug, password)
    return device, broker.credentials(slug, password)


async def rotate(
    db: AsyncSession, broker: DeviceBroker, slug: str, *, now: datetime
) -> Credentials:
    await devices.lock_registry(db)
    await devices.get(db, slug)
    await devices.mark_rotated(db, slug, now=now)
    password = accounts.new_password()
    await accounts.set_password(broker.admin, slug, password)
    return broker.credentials(slug, password)


async def set_enabled(
    db: AsyncSession, broker: DeviceBroker, slug: str, *, enabled: bool
) -> DeviceRef:
    await devices.lock_registry(db)
    device = await devices.set_enabled(db, slug, enabled=enabled)
    await accounts.set_enabled(broker.admin, slug, enabled=enabled)
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
