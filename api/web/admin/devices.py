"""Admin pages: devices. The list with a form to provision one, a device's page with rotate,
disable, enable and remove (after a confirmation page).

The changes are `api.device_admin`'s, as for the JSON routes. A new password is rendered at
once, never redirected to or stored: it exists only in that one answer. When the broker cannot
make a change, a page says that nothing was changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api import device_admin
from api.admin.devices import NewDevice
from api.auth import ClockDep
from api.deps import DbDep, SettingsDep
from api.device_admin import BrokerFailure
from api.device_status import StatusBoard, StatusBoardDep
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, PageNotFound, Viewer
from broker.provisioning import Credentials
from core import devices
from core.clock import Clock
from core.errors import Conflict, NotFound
from core.formats import DeviceKind
from core.models import Device
from core.settings import Settings

router = APIRouter(include_in_schema=False)

LIST = "/admin/devices"


def _page_of(slug: str) -> str:
    return f"{LIST}/{slug}"


@dataclass(frozen=True)
class Desk:
    """An admin at the device pages: the request, the viewer and what a change needs."""

    request: Request
    viewer: Viewer
    db: AsyncSession
    settings: Settings
    clock: Clock
    board: StatusBoard

    def _(self, text: str, **values: str) -> str:
        translated: str = gettext_for(self.viewer.language)(text)
        return translated % values if values else translated

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context["admin_section"] = LIST
        return render(
            self.request, self.viewer, f"admin/devices/{template}", context, status=status
        )

    async def device(self, slug: str) -> Device:
        try:
            return await devices.get_row(self.db, slug)
        except NotFound:
            raise PageNotFound(self.viewer) from None

    async def record(self, slug: str) -> devices.DeviceRecord:
        return device_admin.record_of(await self.device(slug), self.board)

    async def list_page(
        self,
        *,
        errors: FieldErrors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        return self.page(
            "list.html",
            status,
            devices=await device_admin.records(self.db, self.board),
            kinds=[kind.value for kind in DeviceKind],
            errors=errors or {},
            values=values or {},
        )

    def credentials_page(
        self, device: Device, credentials: Credentials, *, new: bool
    ) -> HTMLResponse:
        """The password once, in this answer only (pages are no-store)."""
        return self.page("credentials.html", device=device, credentials=credentials, new=new)

    def not_changed(
        self, back: str, *, failure: BrokerFailure | None = None, reason: str | None = None
    ) -> HTMLResponse:
        """Nothing was changed: the broker's `failure`, or a rule's `reason` (a Conflict)."""
        return self.page(
            "not_changed.html",
            failure.status_code if failure else 409,
            back=back,
            trouble=failure.trouble.value if failure else None,
            reason=reason,
        )

    async def change(
        self,
        slug: str,
        change: Callable[[], Awaitable[object]],
        *,
        done: str,
        after: str,
        conflict: str | None = None,
    ) -> Response:
        """Make `change`, then on to `after` with the notice `done`. A Conflict, which only a
        change that names its `conflict` expects, is a page saying why nothing changed."""
        await self.device(slug)
        try:
            async with self.db.begin_nested():
                await change()
        except BrokerFailure as failure:
            return self.not_changed(_page_of(slug), failure=failure)
        except Conflict:
            if conflict is None:
                raise
            return self.not_changed(_page_of(slug), reason=conflict)
        notify(self.request, done)
        return RedirectResponse(after, status_code=303)


async def _desk(
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    board: StatusBoardDep,
) -> Desk:
    return Desk(request, viewer, db, settings, clock, board)


DeskDep = Annotated[Desk, Depends(_desk)]


@router.get(LIST)
async def devices_page(desk: DeskDep) -> HTMLResponse:
    """Every device with its state, and the form to provision a new one."""
    return await desk.list_page()


@router.post(LIST)
async def provision_device(desk: DeskDep) -> HTMLResponse:
    """Provision from the form: its password is on the answer page, and only there."""
    form = await desk.request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    new, errors = validated(NewDevice, values, desk.viewer.formats)
    if "slug" in errors:
        errors["slug"] = desk._("2 to 40 of a-z, 0-9 and -, not starting with makerbus-.")
    if new is None:
        return await desk.list_page(errors=errors, values=values, status=422)
    try:
        async with desk.db.begin_nested():
            device, credentials = await device_admin.provision(
                desk.db,
                desk.settings,
                desk.board,
                slug=new.slug,
                kind=new.kind,
                name=new.name,
                now=desk.clock.now(),
                actor=desk.viewer.actor,
            )
    except BrokerFailure as failure:
        return desk.not_changed(LIST, failure=failure)
    except Conflict:
        taken = {"slug": desk._("A device or broker account has this slug already.")}
        return await desk.list_page(errors=taken, values=values, status=409)
    return desk.credentials_page(device, credentials, new=True)


@router.get(LIST + "/{slug}")
async def device_page(slug: str, desk: DeskDep) -> HTMLResponse:
    """One device, with what an admin can do to it."""
    return desk.page("detail.html", device=await desk.record(slug))


@router.post(LIST + "/{slug}/rotate")
async def rotate_password(slug: str, desk: DeskDep) -> HTMLResponse:
    """A new password, on the answer page only; the device's connection is dropped."""
    await desk.device(slug)
    try:
        async with desk.db.begin_nested():
            device, credentials = await device_admin.rotate(
                desk.db,
                desk.settings,
                desk.board,
                slug,
                now=desk.clock.now(),
                actor=desk.viewer.actor,
            )
    except BrokerFailure as failure:
        return desk.not_changed(_page_of(slug), failure=failure)
    return desk.credentials_page(device, credentials, new=False)


async def _set_enabled(slug: str, desk: Desk, *, enabled: bool) -> Response:
    if enabled:
        done = desk._("Device %(slug)s enabled.", slug=slug)
        conflict = desk._(
            "The broker has no account for this device: rotate its password to give it one."
        )
    else:
        done, conflict = desk._("Device %(slug)s disabled.", slug=slug), None
    return await desk.change(
        slug,
        lambda: device_admin.set_enabled(
            desk.db,
            desk.settings,
            desk.board,
            slug,
            enabled=enabled,
            actor=desk.viewer.actor,
            now=desk.clock.now(),
        ),
        done=done,
        after=_page_of(slug),
        conflict=conflict,
    )


@router.post(LIST + "/{slug}/disable")
async def disable_device(slug: str, desk: DeskDep) -> Response:
    """Drop the device's connection and refuse it until enabled."""
    return await _set_enabled(slug, desk, enabled=False)


@router.post(LIST + "/{slug}/enable")
async def enable_device(slug: str, desk: DeskDep) -> Response:
    """Let the device connect again with its current password."""
    return await _set_enabled(slug, desk, enabled=True)


@router.get(LIST + "/{slug}/remove")
async def confirm_removal(slug: str, desk: DeskDep) -> HTMLResponse:
    """Ask before removing: it cannot be undone."""
    return desk.page("remove.html", device=await desk.record(slug))


@router.post(LIST + "/{slug}/remove")
async def remove_device(slug: str, desk: DeskDep) -> Response:
    """Remove the device and its broker account."""
    return await desk.change(
        slug,
        lambda: device_admin.remove(
            desk.db, desk.settings, desk.board, slug, actor=desk.viewer.actor, now=desk.clock.now()
        ),
        done=desk._("Device %(slug)s removed.", slug=slug),
        after=LIST,
        conflict=desk._("This device has sessions on record, which keep it: disable it instead."),
    )
