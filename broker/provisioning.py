"""Provisioning devices: the database row and the broker account change together.

The database is the list of record. Each function changes the row inside the caller's
transaction and then the broker; if the broker refuses, the exception rolls the row back.
`reconcile` makes the broker match the database (at start-up and on demand).
`open_device_broker` opens the admin connection they need (the CLI and the web API use it),
holding the device registry's lock for as long as the connection is open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broker import accounts
from broker.acl import (
    ADMIN_ROLE,
    HANDLER_ROLE,
    MONITOR_ROLE,
    Acl,
    device_acls,
    device_role,
)
from broker.address import BrokerAddress
from broker.dynsec import DynsecAdmin, DynsecError
from broker.dynsec_file import Account
from broker.identities import admin_login
from broker.topics import Topics
from core import devices
from core.audit import Actor
from core.devices import DeviceRef
from core.errors import Conflict
from core.formats import DeviceKind
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
    """The broker side of provisioning: admin connection, topics, and the address devices use.

    Made by `open_device_broker` only, so it exists only while the registry lock is held.
    """

    admin: DynsecAdmin
    topics: Topics
    device_host: str
    device_port: int
    admin_username: str = "makerbus-admin"

    def credentials(self, slug: str, password: str) -> Credentials:
        return Credentials(slug, password, self.device_host, self.device_port)


@asynccontextmanager
async def open_device_broker(
    settings: Settings, db: AsyncSession, *, timeout_s: float = 10.0
) -> AsyncIterator[DeviceBroker]:
    """One admin connection to the broker, closed when the block ends.

    The admin account is bound to one client id, so two admin sessions at once would drop each
    other. The connection is therefore opened only once `db` holds the device registry's lock,
    which is released when `db`'s transaction ends, after the block: admin sessions (CLI, web
    API, reconcile) take turns, and provisioning and reconcile never see each other half done.

    Refuses (UnsafeSettingsError) outside dev mode while the admin password is the default;
    an unreachable broker raises aiomqtt.MqttError, a command left unanswered TimeoutError.
    `timeout_s` bounds the connect and each command.
    """
    settings.require_secrets("broker_admin_password")
    await devices.lock_registry(db)
    address = BrokerAddress(settings.mqtt_host, settings.mqtt_port, settings.mqtt_ca_file)
    login = admin_login(settings)
    async with DynsecAdmin(address, login.username, login.password, timeout=timeout_s) as admin:
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
    actor: Actor,
) -> tuple[DeviceRef, Credentials]:
    device = await devices.create(db, slug=slug, kind=kind, name=name, now=now, actor=actor)
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
        if not existing.is_device:
            raise Conflict(f"the broker has an account {slug!r} that is not a device") from None
        await accounts.delete_device(broker.admin, slug)
        await accounts.create_device(broker.admin, broker.topics, slug, password)
    return device, broker.credentials(slug, password)


async def rotate(
    db: AsyncSession, broker: DeviceBroker, slug: str, *, now: datetime, actor: Actor
) -> Credentials:
    """A new password; the broker drops the device's connection at once.

    A device whose broker account is missing (a broker restored from an old backup) gets a
    new account with the new password, so rotating also repairs it.
    """
    device = await devices.get(db, slug)
    await devices.mark_rotated(db, slug, now=now, actor=actor)
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


async def ensure(
    db: AsyncSession,
    broker: DeviceBroker,
    *,
    slug: str,
    kind: DeviceKind,
    name: str,
    now: datetime,
    actor: Actor,
) -> Credentials:
    """Credentials for the device `slug`: added if it is new, else given a new password (makerbus
    keeps none to hand out again). For fleets made again and again, such as the simulator's."""
    if await devices.find(db, slug) is None:
        _, credentials = await add(
            db, broker, slug=slug, kind=kind, name=name, now=now, actor=actor
        )
        return credentials
    return await rotate(db, broker, slug, now=now, actor=actor)


async def set_enabled(
    db: AsyncSession,
    broker: DeviceBroker,
    slug: str,
    *,
    enabled: bool,
    actor: Actor,
    now: datetime,
) -> DeviceRef:
    """Disabling drops the device's connection and refuses it until enabled.

    A device without a broker account is disabled already in effect; enabling it is refused
    (Conflict) until `rotate` gives it an account.
    """
    device = await devices.set_enabled(db, slug, enabled=enabled, actor=actor, now=now)
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


async def remove(
    db: AsyncSession, broker: DeviceBroker, slug: str, *, actor: Actor, now: datetime
) -> None:
    await devices.remove(db, slug, actor=actor, now=now)
    await accounts.delete_device(broker.admin, slug)


@dataclass
class ReconcileReport:
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    # Service accounts of an earlier makerbus that the settings no longer name (the shared,
    # unbound handler and monitor accounts before slots): bound to their own name, unused.
    retired: list[str] = field(default_factory=list)
    # Accounts makerbus did not make that may still connect with any client id.
    unbound: list[str] = field(default_factory=list)

    @property
    def needs_rotation(self) -> list[str]:
        """Devices whose broker account was recreated with a password nobody knows."""
        return self.created

    @property
    def changed(self) -> bool:
        return any(
            (
                self.created,
                self.removed,
                self.enabled,
                self.disabled,
                self.repaired,
                self.services,
                self.retired,
            )
        )


SERVICE_ROLES = frozenset({ADMIN_ROLE, HANDLER_ROLE, MONITOR_ROLE})


async def _reconcile_services(
    admin: DynsecAdmin,
    service_accounts: tuple[Account, ...],
    clients: dict[str, accounts.BrokerClient],
    roles: dict[str, frozenset[Acl]],
    report: ReconcileReport,
    *,
    own: str,
) -> None:
    """Every service account present and bound; any other holder of a service role bound."""
    wanted = {account.username for account in service_accounts}
    for account in service_accounts:
        current = clients.get(account.username)
        if current is not None and current.is_device:
            raise Conflict(
                f"the broker account {account.username!r} is a device, not a makerbus service: "
                "choose other MAKERBUS_BROKER_*_USERNAME settings"
            )
        if account.username != own and await accounts.ensure_service_account(
            admin, account, clients, roles
        ):
            report.services.append(account.username)
    for username, current in clients.items():
        if current.is_device or current.bound or username in wanted:
            continue
        if current.roles & SERVICE_ROLES:
            await accounts.bind_to_own_name(admin, username)
            report.retired.append(username)
        else:
            report.unbound.append(username)


async def reconcile(
    db: AsyncSession, broker: DeviceBroker, service_accounts: tuple[Account, ...]
) -> ReconcileReport:
    """Make the broker's accounts match the database's devices and the service accounts.

    Only what differs is changed: each change to an account drops its connection once.
    """
    report = ReconcileReport()
    admin = broker.admin
    clients = await accounts.list_clients(admin)
    roles = await accounts.role_acls(admin)
    await _reconcile_services(
        admin, service_accounts, clients, roles, report, own=broker.admin_username
    )

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
        if current.is_device and username not in wanted:
            await accounts.delete_device(admin, username)
            report.removed.append(username)
    # Last: changing the admin's own account ends this connection.
    for account in service_accounts:
        if account.username == broker.admin_username and await accounts.repair_own_account(
            admin, account, clients.get(account.username), roles
        ):
            report.services.append(account.username)
    return report
