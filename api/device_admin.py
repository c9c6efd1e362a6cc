"""Changing devices: the database row and the broker account together, for the JSON routes
(api.admin.devices) and the admin pages (api.web.admin.devices) alike.

Each function opens the broker's admin connection for the change. If the broker cannot be
reached or refuses, it raises a `BrokerFailure` (an HTTP 503 or 502 error) and the caller's
transaction, or savepoint, rolls the row back: the device was not changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum

import aiomqtt
from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from api.device_status import StatusBoard
from broker import provisioning
from broker.dynsec import DynsecError
from broker.provisioning import Credentials, DeviceBroker
from core import devices
from core.audit import Actor
from core.errors import Conflict
from core.formats import DeviceKind
from core.models import Device
from core.settings import Settings, UnsafeSettingsError

# Connecting and each admin command: an admin waits for the answer, so fail soon.
BROKER_TIMEOUT_S = 5.0


class BrokerTrouble(StrEnum):
    UNCONFIGURED = "unconfigured"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"


class BrokerFailure(HTTPException):
    """The broker did not make the change; nothing was changed. `trouble` says why."""

    def __init__(self, trouble: BrokerTrouble, detail: str) -> None:
        super().__init__(502 if trouble is BrokerTrouble.REFUSED else 503, detail)
        self.trouble = trouble


@asynccontextmanager
async def _broker(settings: Settings, db: AsyncSession) -> AsyncIterator[DeviceBroker]:
    """The broker's admin connection for one change (it waits for the registry lock)."""
    try:
        async with provisioning.open_device_broker(
            settings, db, timeout_s=BROKER_TIMEOUT_S
        ) as broker:
            yield broker
    except UnsafeSettingsError:
        raise BrokerFailure(
            BrokerTrouble.UNCONFIGURED,
            "the API has no broker admin password (MAKERBUS_BROKER_ADMIN_PASSWORD)",
        ) from None
    except (aiomqtt.MqttError, TimeoutError) as error:
        reason = str(error) or "no answer in time"
        raise BrokerFailure(
            BrokerTrouble.UNREACHABLE,
            f"the broker cannot be reached or did not answer ({reason}); the device was not "
            "changed: repeat the request when the broker is back",
        ) from None
    except DynsecError as error:
        raise BrokerFailure(
            BrokerTrouble.REFUSED,
            f"the broker refused {error.command}: {error.error}; the device was not changed "
            "(`makerbus broker reconcile` makes the broker match the database)",
        ) from None


def record_of(device: Device, board: StatusBoard) -> devices.DeviceRecord:
    """The device as admins see it: its row and what the board knows of its connection."""
    return devices.DeviceRecord.of(device, board.status_of(device.slug))


async def records(db: AsyncSession, board: StatusBoard) -> list[devices.DeviceRecord]:
    """Every device, by slug."""
    return [record_of(device, board) for device in await devices.list_all(db)]


async def provision(
    db: AsyncSession,
    settings: Settings,
    board: StatusBoard,
    *,
    slug: str,
    kind: DeviceKind,
    name: str | None,
    now: datetime,
    actor: Actor,
) -> tuple[Device, Credentials]:
    """Register a device and create its broker account; the password is in the credentials
    only. The name defaults to the slug; a taken slug is a Conflict."""
    if await devices.find(db, slug) is not None:
        raise Conflict(f"device {slug} exists already")
    async with _broker(settings, db) as broker:
        _, credentials = await provisioning.add(
            db, broker, slug=slug, kind=kind, name=name or slug, now=now, actor=actor
        )
    board.forget(slug)
    return await devices.get_row(db, slug), credentials


async def rotate(
    db: AsyncSession,
    settings: Settings,
    board: StatusBoard,
    slug: str,
    *,
    now: datetime,
    actor: Actor,
) -> tuple[Device, Credentials]:
    """A new password; the broker drops the device's connection at once."""
    await devices.get(db, slug)
    async with _broker(settings, db) as broker:
        credentials = await provisioning.rotate(db, broker, slug, now=now, actor=actor)
    board.went_offline(slug)
    return await devices.get_row(db, slug), credentials


async def set_enabled(
    db: AsyncSession,
    settings: Settings,
    board: StatusBoard,
    slug: str,
    *,
    enabled: bool,
    actor: Actor,
    now: datetime,
) -> Device:
    """Disabling drops the device's connection and refuses it until enabled again."""
    await devices.get(db, slug)
    async with _broker(settings, db) as broker:
        await provisioning.set_enabled(db, broker, slug, enabled=enabled, actor=actor, now=now)
    if not enabled:
        board.went_offline(slug)
    return await devices.get_row(db, slug)


async def remove(
    db: AsyncSession,
    settings: Settings,
    board: StatusBoard,
    slug: str,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Remove the device and its broker account; one with sessions on record is a Conflict."""
    await devices.get(db, slug)
    async with _broker(settings, db) as broker:
        await provisioning.remove(db, broker, slug, actor=actor, now=now)
    board.forget(slug)
