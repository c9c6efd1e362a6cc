"""The live view with machines behind it: who is on which machine, the commands the server
sends, and a sub-admin who sees their own machines only. SQLite only, as the other live pages."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.sync_api import Page

from core import machines
from core.audit import Actor
from core.billing import Tariff
from core.clock import SystemClock
from makerbus.context import database
from makerbus.login_provider import LocalLoginProvider
from tests.api.web.conftest import log_in
from tests.chromium import Chromium
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_live_view_pages import RECORD_STREAM, STREAMED_RESULT
from tests.factories import unique_slug
from tests.live_server import LiveApp

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WAIT_MS = 10_000
LASER = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)
CONNECTED = "#live-connection[data-connected=true]"


def _traffic_row(slug: str, op: str) -> str:
    return f'#live-traffic tr[data-device="{slug}"]:has(td:text-is("{op}"))'


def _make_sub_admin(stack: Stack, slug: str, subject: str) -> None:
    async def go() -> None:
        async with database(stack.settings) as db:
            device_id = await machines.machine_id(db, slug)
            await machines.add_sub_admin(
                db, device_id, subject, now=SystemClock().now(), actor=Actor.person("e2e")
            )

    run_async(go())


async def test_a_session_shows_on_the_presence_page_and_its_end_as_a_command(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    machine = await asyncio.to_thread(stack.machine, LASER)
    member = await asyncio.to_thread(stack.add_member, name="Grace Hopper", balance_cents=1000)
    await asyncio.to_thread(stack.authorize, machine, member)
    device = await asyncio.to_thread(stack.device, machine)
    slug = machine.username
    ada = unique_slug("ada")
    login_provider.set_user(ada, {"name": "Ada Lovelace", "groups": [stack.settings.admin_group]})
    session_cell = f'#live-presence-rows tr[data-device="{slug}"] td:last-child'

    def start_watch_end(page: Page) -> dict[str, Any]:
        log_in(page, stack_app.url, ada, "/admin/live/presence")
        page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
        page.evaluate(RECORD_STREAM, "/admin/live/events?view=presence")
        page.wait_for_function("() => window.streamed.length > 0")  # its snapshot
        before = page.inner_text(session_cell)
        device.request("device/config")
        device.request("session/start", card=member.card_uid)
        page.wait_for_selector(f"{session_cell}:has-text('Grace Hopper')", timeout=WAIT_MS)
        page.wait_for_function(STREAMED_RESULT, arg=slug, timeout=WAIT_MS)
        streamed = "\n".join(page.evaluate("window.streamed"))
        running = page.inner_text(session_cell).replace("\u00a0", " ")
        traffic = page.context.new_page()
        traffic.goto(f"{stack_app.url}/admin/live")
        traffic.wait_for_selector(CONNECTED, timeout=WAIT_MS)
        machine_page = page.context.new_page()
        machine_page.goto(f"{stack_app.url}/admin/machines/{slug}")
        machine_page.locator("form[action$='/end'] button[type=submit]").click()
        machine_page.wait_for_load_state()
        command = _traffic_row(slug, "session/terminate")
        traffic.wait_for_selector(command, timeout=WAIT_MS)
        page.wait_for_selector(f"{session_cell}:text-is('free')", timeout=WAIT_MS)
        health = page.context.new_page()
        health.goto(f"{stack_app.url}/admin/live/health")
        return {
            "streamed": ("session/start" in streamed, "device/config" in streamed),
            "before": before,
            "running": running,
            "command kind": traffic.inner_text(f"{command} td:nth-child(3)"),
            "after": page.inner_text(session_cell),
            "health lists": health.inner_text("#live-ops tbody"),
        }

    seen = await chromium.run(start_watch_end)

    assert seen["streamed"] == (True, False)  # the page's stream carries session answers only
    assert seen["before"] == "free"
    assert seen["running"].startswith("Grace Hopper since ")
    assert seen["running"].endswith(", €4.00 so far")  # login fee and the first 15 minutes
    assert (seen["command kind"], seen["after"]) == ("command", "free")
    assert "session/start" in seen["health lists"]


async def test_a_sub_admin_watches_only_their_own_machines(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    theirs = await asyncio.to_thread(stack.machine, LASER)
    other = await asyncio.to_thread(stack.machine, LASER)
    grace = unique_slug("grace")
    login_provider.set_user(grace, {"name": "Grace Hopper", "groups": []})
    await asyncio.to_thread(_make_sub_admin, stack, theirs.username, grace)
    their_device = await asyncio.to_thread(stack.device, theirs)
    other_device = await asyncio.to_thread(stack.device, other)

    def look(page: Page) -> dict[str, object]:
        log_in(page, stack_app.url, grace, "/admin/live")
        page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
        other_device.request("device/config")
        their_device.request("device/config")
        page.wait_for_selector(_traffic_row(theirs.username, "device/config"), timeout=WAIT_MS)
        traffic_devices = page.eval_on_selector_all(
            "#live-traffic tbody tr", "rows => rows.map(row => row.dataset.device)"
        )
        page.goto(f"{stack_app.url}/admin/live/presence")
        presence_devices = page.eval_on_selector_all(
            "#live-presence-rows tr", "rows => rows.map(row => row.dataset.device)"
        )
        health = page.request.get(f"{stack_app.url}/admin/live/health")
        health_stream = page.request.get(f"{stack_app.url}/admin/live/events?view=health")
        return {
            "traffic": set(traffic_devices),
            "presence": presence_devices,
            "health": (health.status, health_stream.status),
            "menu": page.locator("nav.sections a").all_inner_texts(),
        }

    seen = await chromium.run(look)

    assert seen == {
        "traffic": {theirs.username},
        "presence": [theirs.username],
        "health": (403, 403),
        "menu": ["Traffic", "Presence"],
    }
