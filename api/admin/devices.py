"""Admin: devices. Provision one (its MQTT password is shown once), rotate its password,
disable, enable or remove it; see whether each is online and when it was last seen.

Every change goes to the database and to the broker's account in the same request: if the
broker cannot be reached or refuses, the answer is 503/502 and the database is not changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api import device_admin
from api.auth import AdminDep, ClockDep, require_admin
from api.deps import DbDep, SettingsDep
from api.device_status import StatusBoard, StatusBoardDep
from api.fields import ADMIN_ONLY, REQUEST, one_line, refusals
from broker.provisioning import Credentials
from core import devices
from core.audit import Actor
from core.formats import NAME_MAX, SLUG_PATTERN, DeviceKind
from core.models import Device
from core.settings import Settings

router = APIRouter(
    prefix="/api/v1/admin/devices",
    tags=["admin: devices"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)

SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, description="The device's slug.")]

_UNKNOWN = {404: "No device has this slug."}
_BROKER = {
    502: "The broker refused the change; the device was not changed.",
    503: "The broker cannot be reached or did not answer; the device was not changed. "
    "Repeating the request is safe.",
}


class DeviceInfo(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str = Field(description="Also the device's MQTT username and client id.")
    kind: DeviceKind
    name: str
    enabled: bool = Field(description="A disabled device is disconnected and refused.")
    created_at: datetime
    credentials_rotated_at: datetime | None
    online: bool | None = Field(
        description="From the device's retained status message: true once it announced "
        "itself, false after its last will or after an admin dropped it; false for a "
        "disabled device. Null when the device has never reported, or while the API is not "
        "connected to the broker."
    )
    fw: str | None = Field(description="The firmware the device reported, if any.")
    last_seen_at: datetime | None = Field(
        description="The latest of: the device's last request, and the last live "
        "`online: true` status this API process received from it."
    )


class MqttCredentials(BaseModel):
    """Shown once: makerbus keeps no copy of the password."""

    model_config = ConfigDict(from_attributes=True)

    username: str = Field(description="Also the MQTT client id the device must connect with.")
    password: str
    host: str
    port: int


class ProvisionedDevice(BaseModel):
    device: DeviceInfo
    credentials: MqttCredentials


class NewDevice(BaseModel):
    model_config = REQUEST

    slug: Annotated[
        str,
        Field(
            pattern=SLUG_PATTERN,
            description="2-40 of a-z, 0-9 and -; not starting with `makerbus-`.",
            examples=["lathe-1"],
        ),
        AfterValidator(devices.check_slug),
    ]
    kind: DeviceKind
    name: Annotated[
        str | None,
        one_line(NAME_MAX),
        Field(description="A human name; defaults to the slug."),
    ] = None


def _info(device: Device, board: StatusBoard) -> DeviceInfo:
    return DeviceInfo.model_validate(device_admin.record_of(device, board))


def _provisioned(
    device: Device, board: StatusBoard, credentials: Credentials, response: Response
) -> ProvisionedDevice:
    response.headers["Cache-Control"] = "no-store"
    return ProvisionedDevice(
        device=_info(device, board), credentials=MqttCredentials.model_validate(credentials)
    )


@router.get("")
async def list_devices(db: DbDep, board: StatusBoardDep) -> list[DeviceInfo]:
    """Every device, by slug, with whether it is online and when it was last seen."""
    return [DeviceInfo.model_validate(record) for record in await device_admin.records(db, board)]


@router.get("/{slug}", responses=refusals(_UNKNOWN))
async def get_device(slug: SlugPath, db: DbDep, board: StatusBoardDep) -> DeviceInfo:
    """One device."""
    return _info(await devices.get_row(db, slug), board)


@dataclass(frozen=True)
class Change:
    """What changing a device needs: the database and the broker, who makes it and when."""

    db: AsyncSession
    settings: Settings
    board: StatusBoard
    actor: Actor
    now: datetime


async def _change(
    db: DbDep, settings: SettingsDep, board: StatusBoardDep, clock: ClockDep, principal: AdminDep
) -> Change:
    return Change(db, settings, board, principal.actor, clock.now())


ChangeDep = Annotated[Change, Depends(_change)]


@router.post(
    "",
    status_code=201,
    responses=refusals({409: "The slug is taken."}, _BROKER),
)
async def add_device(body: NewDevice, response: Response, change: ChangeDep) -> ProvisionedDevice:
    """Register a device and create its broker account.

    The answer holds the MQTT credentials, **shown only this once**: makerbus keeps no copy of
    the password. The device connects with `username` as both username and client id.
    """
    device, credentials = await device_admin.provision(
        change.db,
        change.settings,
        change.board,
        slug=body.slug,
        kind=body.kind,
        name=body.name,
        now=change.now,
        actor=change.actor,
    )
    return _provisioned(device, change.board, credentials, response)


@router.post("/{slug}/rotate", responses=refusals(_UNKNOWN, _BROKER))
async def rotate_password(
    slug: SlugPath, response: Response, change: ChangeDep
) -> ProvisionedDevice:
    """Give the device a new password, **shown only this once**.

    The broker drops the device's connection at once; only the new password lets it back in.
    """
    device, credentials = await device_admin.rotate(
        change.db, change.settings, change.board, slug, now=change.now, actor=change.actor
    )
    return _provisioned(device, change.board, credentials, response)


async def _set_enabled(slug: str, change: Change, *, enabled: bool) -> DeviceInfo:
    device = await device_admin.set_enabled(
        change.db,
        change.settings,
        change.board,
        slug,
        enabled=enabled,
        actor=change.actor,
        now=change.now,
    )
    return _info(device, change.board)


@router.post("/{slug}/disable", responses=refusals(_UNKNOWN, _BROKER))
async def disable_device(slug: SlugPath, change: ChangeDep) -> DeviceInfo:
    """Drop the device's connection and refuse it until enabled (a stolen or broken reader)."""
    return await _set_enabled(slug, change, enabled=False)


@router.post("/{slug}/enable", responses=refusals(_UNKNOWN, _BROKER))
async def enable_device(slug: SlugPath, change: ChangeDep) -> DeviceInfo:
    """Let a disabled device connect again (with its current password)."""
    return await _set_enabled(slug, change, enabled=True)


@router.delete(
    "/{slug}",
    status_code=204,
    responses=refusals(
        _UNKNOWN, {409: "The device has sessions on record: disable it instead."}, _BROKER
    ),
)
async def remove_device(slug: SlugPath, change: ChangeDep) -> None:
    """Remove the device and its broker account; its connection is dropped.

    A device with sessions on record keeps its row for their history: disable it instead.
    """
    await device_admin.remove(
        change.db, change.settings, change.board, slug, actor=change.actor, now=change.now
    )
