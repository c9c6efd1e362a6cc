"""A machine's page with a real machine behind it: a session a device started over MQTT shows
as running, an admin ends it with the page's End button, and the handler service tells the
machine on its command topic."""

from __future__ import annotations

import asyncio

import pytest
from playwright.sync_api import Page

from core.billing import Tariff
from makerbus.login_provider import LocalLoginProvider
from tests.chromium import Chromium, open_after_login
from tests.e2e.stack import Stack, wait_until
from tests.factories import unique_slug
from tests.live_server import LiveApp
from tests.page_checks import page_problems, watched

# Pages on SQLite only, as in tests/api/web (its conftest says why).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LASER = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)


async def test_an_admin_ends_a_running_session_on_the_page_and_the_machine_is_told(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    machine = await asyncio.to_thread(stack.machine, LASER)
    member = await asyncio.to_thread(stack.add_member, name="Grace Hopper", balance_cents=1000)
    await asyncio.to_thread(stack.authorize, machine, member)
    device = await asyncio.to_thread(stack.device, machine)
    commands: list[tuple[str, dict[str, object]]] = []
    device.on_command(lambda name, payload: commands.append((name, payload)))
    opened = await asyncio.to_thread(device.request, "session/start", card=member.card_uid)
    ada = unique_slug("ada")
    login_provider.set_user(ada, {"name": "Ada Lovelace", "groups": [stack.settings.admin_group]})

    def end_it(page: Page) -> dict[str, object]:
        open_after_login(page, f"{stack_app.url}/admin/machines/{machine.username}", ada)
        watch = watched(page)
        page.reload()
        running = page.locator("#running ~ .table-wrap tbody tr").inner_text()
        problems = page_problems(page, watch, "machine-running-session-en")
        page.locator("form[action$='/end'] button[type=submit]").click()
        page.wait_for_load_state()
        return {
            "running": running.replace("\u00a0", " "),
            "problems": problems,
            "notice": page.inner_text(".notice"),
            "after": page.inner_text("#running ~ p"),
        }

    seen = await chromium.run(end_it)

    assert opened.ok
    assert "Grace Hopper" in str(seen["running"])
    assert "€4.00" in str(seen["running"])  # the login fee and the first 15 minutes, prepaid
    assert seen["problems"] == []
    assert (seen["notice"], seen["after"]) == ("Session ended.", "No session is running.")
    assert await asyncio.to_thread(wait_until, lambda: commands, 10.0), "the machine was not told"
    name, payload = commands[0]
    assert (name, payload["session_id"], payload["reason"]) == (
        "session/terminate",
        opened["session_id"],
        "admin",
    )
    assert await asyncio.to_thread(stack.balance, member) == 1000 - 100 - 20  # one started minute
