"""Admin page: the dashboard, today's figures at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api import device_admin
from api.auth import ClockDep
from api.deps import DbDep
from api.device_status import StatusBoardDep
from api.web.render import render
from api.web.viewer import AdminViewerDep
from core import cash_boxes, dashboard

router = APIRouter(include_in_schema=False)


@router.get("/admin")
async def dashboard_page(
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    clock: ClockDep,
    board: StatusBoardDep,
) -> HTMLResponse:
    """Today's sales, the sessions running, the devices online, the money in the cash boxes."""
    start, end = dashboard.day_around(clock.now(), viewer.formats.zone)
    devices = await device_admin.records(db, board)
    boxes = await cash_boxes.all_boxes(db)
    context = {
        "admin_section": "/admin",
        "sales": await dashboard.sales_between(db, start, end),
        "running": await dashboard.running_sessions(db),
        "devices_online": sum(1 for device in devices if device.online),
        "devices_total": len(devices),
        "watching": board.connected,
        "boxes": boxes,
        "boxes_total": sum(box.balance_cents for box in boxes),
    }
    return render(request, viewer, "admin/dashboard.html", context)
