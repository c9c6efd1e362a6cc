"""Admin pages: devices. The list with a form to provision one, a device's page with rotate,
disable, enable and remove (after a confirmation page).

The changes are `api.device_admin`'s, as for the JSON routes. A new password is rendered at
once, never redirected to or stored: it exists only in that one answer. When the broker cannot
make a change, a page says that nothing was changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api import device_admin
from api.admin.devices import NewDevice
from api.auth import ClockDep
from api.deps import DbDep, SettingsDep
from api.device_admin import BrokerFailure
from api.device_status import StatusBoardDep
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, PageNotFound, Viewer
from broker.provisioning import Credentials
from core import devices
from core.devices import DeviceRecord
from core.errors import Conflict, NotFound
from core.formats import DeviceKind
from core.models import Device

router = APIRouter(include_in_schema=False)

LIST = "/admin/devices"
SECTION = {"admin_section": LIST}


def _page_of(slug: str) -> str:
    return f"{LIST}/{slug}"


def _not_changed(
    request: Request,
    viewer: Viewer,
    *,
    back: str,
    failure: BrokerFailure | None = None,
    reason: str | None = None,
) -> HTMLResponse:
    """Nothing was changed: the broker's `failure`, or a rule's `reason` (a Conflict)."""
    context = SECTION | {
        "back": back,
        "trouble": failure.trouble.value if failure else None,
        "reason": reason,
    }
    status = failure.status_code if failure else 409
    return render(request, viewer, "admin/devices/not_changed.html", context, status=status)


async def _device(db: AsyncSession, viewer: Viewer, slug: str) -> Device:
    try:
        return await devices.get_row(db, slug)
    except NotFound:
        raise PageNotFound(viewer) from None


def _list_page(
    request: Request,
    viewer: Viewer,
    records: list[DeviceRecord],
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = SECTION | {
        "devices": records,
        "kinds": [kind.value for kind in DeviceKind],
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, viewer, "admin/devices/list.html", context, status=status)


def _credentials_page(
    request: Request, viewer: Viewer, device: Device, credentials: Credentials, *, new: bool
) -> HTMLResponse:
    context = SECTION | {"device": device, "credentials": credentials, "new": new}
    return render(request, viewer, "admin/devices/credentials.html", context)


@router.get(LIST)
async def devices_page(
    request: Request, viewer: AdminViewerDep, db: DbDep, board: StatusBoardDep
) -> HTMLResponse:
    """Every device with its state, and the form to provision a new one."""
    return _list_page(request, viewer, await device_admin.records(db, board))


@router.post(LIST)
async def provision_device(
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    board: StatusBoardDep,
) -> HTMLResponse:
    """Provision from the form: its password is on the answer page, and only there."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    new, errors = validated(NewDevice, values, viewer.formats)
    _ = gettext_for(viewer.language)
    if "slug" in errors:
        errors["slug"] = _("2 to 40 of a-z, 0-9 and -, not starting with makerbus-.")
    status = 422
    if new is not None:
        try:
            async with db.begin_nested():
                device, credentials = await device_admin.provision(
                    db,
                    settings,
                    board,
                    slug=new.slug,
                    kind=new.kind,
                    name=new.name,
                    now=clock.now(),
                )
            return _credentials_page(request, viewer, device, credentials, new=True)
        except BrokerFailure as failure:
            return _not_changed(request, viewer, back=LIST, failure=failure)
        except Conflict:
            errors, status = {"slug": _("A device or broker account has this slug already.")}, 409
    records = await device_admin.records(db, board)
    return _list_page(request, viewer, records, errors=errors, values=values, status=status)


@router.get(LIST + "/{slug}")
async def device_page(
    slug: str, request: Request, viewer: AdminViewerDep, db: DbDep, board: StatusBoardDep
) -> HTMLResponse:
    """One device, with what an admin can do to it."""
    record = device_admin.record_of(await _device(db, viewer, slug), board)
    return render(request, viewer, "admin/devices/detail.html", SECTION | {"device": record})


@router.post(LIST + "/{slug}/rotate")
async def rotate_password(
    slug: str,
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    board: StatusBoardDep,
) -> HTMLResponse:
    """A new password, on the answer page only; the device's connection is dropped."""
    await _device(db, viewer, slug)
    try:
        async with db.begin_nested():
            device, credentials = await device_admin.rotate(
                db, settings, board, slug, now=clock.now()
            )
    except BrokerFailure as failure:
        return _not_changed(request, viewer, back=_page_of(slug), failure=failure)
    return _credentials_page(request, viewer, device, credentials, new=False)


async def _switch(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    slug: str,
    change: Callable[[], Awaitable[object]],
    *,
    done: str,
    after: str,
    conflict: str | None = None,
) -> Response:
    """Make `change`, then on to `after` with the notice `done`. A Conflict, which only a
    change that names its `conflict` expects, is a page saying why nothing changed."""
    await _device(db, viewer, slug)
    try:
        async with db.begin_nested():
            await change()
    except BrokerFailure as failure:
        return _not_changed(request, viewer, back=_page_of(slug), failure=failure)
    except Conflict:
        if conflict is None:
            raise
        return _not_changed(request, viewer, back=_page_of(slug), reason=conflict)
    notify(request, done)
    return RedirectResponse(after, status_code=303)


@router.post(LIST + "/{slug}/disable")
async def disable_device(
    slug: str,
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    settings: SettingsDep,
    board: StatusBoardDep,
) -> Response:
    """Drop the device's connection and refuse it until enabled."""
    _ = gettext_for(viewer.language)
    return await _switch(
        request,
        viewer,
        db,
        slug,
        lambda: device_admin.set_enabled(db, settings, board, slug, enabled=False),
        done=_("Device %(slug)s disabled.") % {"slug": slug},
        after=_page_of(slug),
    )


@router.post(LIST + "/{slug}/enable")
async def enable_device(
    slug: str,
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    settings: SettingsDep,
    board: StatusBoardDep,
) -> Response:
    """Let the device connect again with its current password."""
    _ = gettext_for(viewer.language)
    return await _switch(
        request,
        viewer,
        db,
        slug,
        lambda: device_admin.set_enabled(db, settings, board, slug, enabled=True),
        done=_("Device %(slug)s enabled.") % {"slug": slug},
        conflict=_(
            "The broker has no account for this device: rotate its password to give it one."
        ),
        after=_page_of(slug),
    )


@router.get(LIST + "/{slug}/remove")
async def confirm_removal(
    slug: str, request: Request, viewer: AdminViewerDep, db: DbDep, board: StatusBoardDep
) -> HTMLResponse:
    """Ask before removing: it cannot be undone."""
    record = device_admin.record_of(await _device(db, viewer, slug), board)
    return render(request, viewer, "admin/devices/remove.html", SECTION | {"device": record})


@router.post(LIST + "/{slug}/remove")
async def remove_device(
    slug: str,
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    settings: SettingsDep,
    board: StatusBoardDep,
) -> Response:
    """Remove the device and its broker account."""
    _ = gettext_for(viewer.language)
    return await _switch(
        request,
        viewer,
        db,
        slug,
        lambda: device_admin.remove(db, settings, board, slug),
        done=_("Device %(slug)s removed.") % {"slug": slug},
        conflict=_("This device has sessions on record, which keep it: disable it instead."),
        after=LIST,
    )
