"""Admin pages: the live view. Traffic (each request beside its answer), presence (who is
online, who is on which machine) and health (rates, errors, latency over 15 minutes).

The pages are shells that `static/live.js` fills from one Server-Sent Events stream
(`/admin/live/events?view=…`), which starts with a snapshot and then carries what the process's
monitor pushes (`api.live`). Everything in it was redacted by the monitor before it was kept.
Admins see every device; a machine's sub-admins see their machines only, and not the health
figures, which are the whole space's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api import device_admin
from api.deps import DbDep
from api.live.hub import Subscription, TooManyViewers
from api.live.monitor import Live, server_sent
from api.web.render import PAGE_HEADERS, gettext_for, render
from api.web.viewer import AdminViewerDep, MachineStaffDep, Viewer
from broker.contract import COMMANDS, OPS
from core import machines, sessions
from core.devices import DeviceRecord

router = APIRouter(include_in_schema=False)

LIVE = "/admin/live"
View = Literal["traffic", "presence", "health"]
KEEP_ALIVE_S = 15.0
# Events already waiting go out in one write, this many at most.
BATCH_MAX = 200
# A stream ends after this long and the browser reconnects: the login is checked again.
STREAM_MAX_S = 900.0
RUNNING_SHOWN = 500
# The presence page hears only these answers and commands (they change who is on a machine).
SESSION_OP_PREFIX = "session/"


@dataclass(frozen=True)
class Scope:
    """The devices a viewer may watch: all (None) or a sub-admin's machines."""

    devices: frozenset[str] | None

    def allows(self, slug: str) -> bool:
        return self.devices is None or slug in self.devices


async def _scope(db: AsyncSession, viewer: Viewer) -> Scope:
    if viewer.is_admin or viewer.principal is None:
        return Scope(None)
    return Scope(await machines.managed_slugs(db, viewer.principal.subject))


def _live(request: Request) -> Live:
    live: Live = request.app.state.live
    return live


def _page_context(request: Request, viewer: Viewer, view: View, **more: Any) -> dict[str, Any]:
    live = _live(request)
    _ = gettext_for(viewer.language)
    return {
        "admin_section": LIVE,
        "live_view": view,
        "live": live,
        "island": {
            "view": view,
            "stream": f"{LIVE}/events?view={view}",
            "locale": viewer.formats.locale.replace("_", "-"),
            "currency": viewer.formats.currency,
            "zone": str(viewer.formats.zone),
            "words": _words(_),
        },
        **more,
    }


def _words(_: Any) -> dict[str, str]:
    """The texts live.js shows, in the viewer's language."""
    return {
        "request": _("request"),
        "answer": _("answer"),
        "command": _("command"),
        "status": _("status"),
        "waiting": _("waiting"),
        "no_answer": _("no answer"),
        "ok": _("ok"),
        "online": _("online"),
        "offline": _("offline"),
        "unknown": _("unknown"),
        "connected": _("Watching the broker live."),
        "broker_lost": _("The connection to the broker is lost; reconnecting…"),
        "stream_lost": _("This page lost its connection to the server; reconnecting…"),
        "paused": _("Paused: %(count)s new messages wait."),
        "pause": _("Pause"),
        "resume": _("Resume"),
        "shown": _("%(shown)s of %(count)s messages shown."),
        "requests_per_s": _("Requests per second"),
        "errors_per_s": _("Errors per second"),
        "p50": _("Median latency (ms)"),
        "p99": _("99th percentile latency (ms)"),
    }


@router.get(LIVE)
async def traffic_page(request: Request, viewer: MachineStaffDep, db: DbDep) -> HTMLResponse:
    """Every request beside its answer, as it happens."""
    scope = await _scope(db, viewer)
    records = await _records(db, request, scope)
    context = _page_context(
        request,
        viewer,
        "traffic",
        devices=[record.slug for record in records],
        ops=sorted(OPS),
        commands=sorted(COMMANDS),
    )
    return render(request, viewer, "admin/live/traffic.html", context)


async def _records(db: AsyncSession, request: Request, scope: Scope) -> list[DeviceRecord]:
    every = await device_admin.records(db, _live(request).board)
    return [record for record in every if scope.allows(record.slug)]


async def _presence_context(request: Request, viewer: Viewer, db: AsyncSession) -> dict[str, Any]:
    scope = await _scope(db, viewer)
    managed_by = None if viewer.is_admin or viewer.principal is None else viewer.principal.subject
    running = await sessions.records(db, limit=RUNNING_SHOWN, is_open=True, managed_by=managed_by)
    return {
        "devices": await _records(db, request, scope),
        "running": {record.device_slug: record for record in running},
        "now": request.app.state.clock.now(),
    }


@router.get(f"{LIVE}/presence")
async def presence_page(request: Request, viewer: MachineStaffDep, db: DbDep) -> HTMLResponse:
    """Every device online or not, and who is on each machine."""
    context = _page_context(
        request, viewer, "presence", **await _presence_context(request, viewer, db)
    )
    return render(request, viewer, "admin/live/presence.html", context)


@router.get(f"{LIVE}/presence/rows")
async def presence_rows(request: Request, viewer: MachineStaffDep, db: DbDep) -> HTMLResponse:
    """The presence table's body alone, which the page fetches when a session starts or ends."""
    context = await _presence_context(request, viewer, db)
    return render(request, viewer, "admin/live/presence_rows.html", context)


@router.get(f"{LIVE}/health")
async def health_page(request: Request, viewer: AdminViewerDep) -> HTMLResponse:
    """Request and error rates and latency per op over the last 15 minutes."""
    live = _live(request)
    stats = live.traffic.stats.snapshot(request.app.state.clock.now())
    context = _page_context(request, viewer, "health", stats=stats)
    return render(request, viewer, "admin/live/health.html", context)


@router.get(f"{LIVE}/events")
async def events(
    request: Request, viewer: MachineStaffDep, db: DbDep, view: View = "traffic"
) -> Response:
    """The stream behind one live page: a snapshot, then every change, as Server-Sent Events."""
    if view == "health" and not viewer.is_admin:
        return Response(status_code=403, headers=PAGE_HEADERS)
    scope = await _scope(db, viewer)
    live = _live(request)
    try:
        subscription = live.hub.subscribe(scope.devices)
    except TooManyViewers:
        return Response(status_code=503, headers={**PAGE_HEADERS, "Retry-After": "30"})
    headers = {**PAGE_HEADERS, "X-Accel-Buffering": "no"}
    stream = _stream(live, view, scope, subscription)
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


def _snapshot(live: Live, view: str, scope: Scope) -> dict[str, Any]:
    snapshot: dict[str, Any] = {"type": "snapshot", "connected": live.connected}
    if view == "traffic":
        snapshot["rows"] = live.traffic.recent(scope.devices)
    elif view == "health":
        snapshot["stats"] = live.traffic.stats.snapshot(live.clock.now())
    return snapshot


def _wanted(view: str, event: dict[str, Any]) -> bool:
    """Whether a page listens to an event: the connection's state all; the traffic its rows
    and their answers; the presence page status changes, and the session answers and commands
    (the server ending a session) after which it shows who is on which machine again; health
    the figures."""
    kind: str = event["type"]
    if kind == "connection":
        return True
    if view == "traffic":
        return kind in ("row", "result")
    if view == "presence":
        return kind == "presence" or _session_op(event)
    return kind == "stats"


def _session_op(event: dict[str, Any]) -> bool:
    """A session's answer, or a session command the server sent."""
    if event["type"] == "result":
        op = event["op"]
    elif event["type"] == "row" and event["row"]["kind"] == "command":
        op = event["row"]["op"]
    else:
        return False
    return isinstance(op, str) and op.startswith(SESSION_OP_PREFIX)


async def _stream(
    live: Live, view: str, scope: Scope, subscription: Subscription
) -> AsyncIterator[str]:
    ends = time.monotonic() + STREAM_MAX_S
    try:
        yield "retry: 2000\n\n"
        yield server_sent(_snapshot(live, view, scope))
        while time.monotonic() < ends and not subscription.closed:
            event = await subscription.next(timeout=KEEP_ALIVE_S)
            if event is None:
                yield ": keep-alive\n\n"
                continue
            parts = []
            for each in (event, *subscription.ready(BATCH_MAX)):
                if each["type"] == "reset":
                    parts.append(server_sent(_snapshot(live, view, scope)))
                elif _wanted(view, each):
                    parts.append(live.encoded(each))
            if parts:
                yield "".join(parts)
    finally:
        subscription.close()
