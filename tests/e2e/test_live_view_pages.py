"""The live view in Chromium on the real stack: devices publish through the broker, the API's
monitor sees it, the page shows it. Run on SQLite only: the live view keeps its traffic in
memory, and the device and session reads it shares with the other pages run on both databases
in their own tests."""

from __future__ import annotations

import asyncio

import pytest
from playwright.sync_api import Page

from core.formats import DeviceKind
from makerbus.login_provider import LocalLoginProvider
from tests.api.web.conftest import log_in
from tests.chromium import Chromium
from tests.e2e.stack import Stack
from tests.e2e.test_bankomat import make_box, treasurer
from tests.factories import unique_slug
from tests.live_server import LiveApp
from tests.page_checks import page_problems, watched

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WAIT_MS = 10_000
PIN = "73915286"  # eight digits: no date, id or amount on the page contains them by chance
CONNECTED = "#live-connection[data-connected=true]"

# Every message the page's stream carries, as the browser receives it.
RECORD_STREAM = """(url) => {
  window.streamed = [];
  const source = new EventSource(url);
  source.onmessage = (message) => window.streamed.push(message.data);
}"""
STREAMED_RESULT = """(slug) => window.streamed.some(
  (data) => data.includes(slug) && data.includes('"type":"result"'))"""


def _admin(stack: Stack, login_provider: LocalLoginProvider) -> str:
    ada = unique_slug("ada")
    login_provider.set_user(ada, {"name": "Ada Lovelace", "groups": [stack.settings.admin_group]})
    return ada


def _row(page: Page, slug: str, op: str) -> str:
    return f'#live-traffic tr[data-device="{slug}"]:has(td:text-is("{op}"))'


def _result(page: Page, slug: str, op: str) -> str:
    selector = f'{_row(page, slug, op)} td[data-field="result"]:not(:text-is("waiting"))'
    page.wait_for_selector(selector, timeout=WAIT_MS)
    return page.inner_text(selector)


async def test_ada_sees_a_new_devices_first_request_within_a_second(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    ada = _admin(stack, login_provider)
    credentials = await asyncio.to_thread(stack.provision, DeviceKind.CHECKOUT)
    slug = credentials.username

    def watch_a_new_device(page: Page) -> dict[str, object]:
        log_in(page, stack_app.url, ada, "/admin/live")
        page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
        device = stack.device(credentials)
        published_at = page.evaluate("Date.now()")
        device.request("device/config")
        row = page.wait_for_selector(_row(page, slug, "device/config"), timeout=WAIT_MS)
        assert row is not None
        arrived_at = int(row.get_attribute("data-arrived") or 0)
        return {"result": _result(page, slug, "device/config"), "ms": arrived_at - published_at}

    seen = await chromium.run(watch_a_new_device)

    assert seen["result"] == "ok"
    # From the device's publish to the row on the page: the bound, measured here.
    assert 0 <= int(str(seen["ms"])) <= 1000, seen


async def test_a_payout_with_a_pin_leaves_no_pin_in_the_page_or_its_stream(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    ada = _admin(stack, login_provider)
    person = await asyncio.to_thread(treasurer, stack, pin=PIN)
    assert person.card_uid is not None
    box = await asyncio.to_thread(make_box, stack, balance_cents=500)
    bankomat_login = await asyncio.to_thread(stack.provision, DeviceKind.BANKOMAT)
    bankomat = await asyncio.to_thread(stack.device, bankomat_login)

    def pay_out_while_watching(page: Page) -> dict[str, object]:
        log_in(page, stack_app.url, ada, "/admin/live")
        page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
        page.evaluate(RECORD_STREAM, "/admin/live/events?view=traffic")
        page.wait_for_function("() => window.streamed.length > 0")  # its snapshot: it is listening
        answer = bankomat.request(
            "bank/payout", card=person.card_uid, pin=PIN, target=box, amount_cents=100
        )
        result = _result(page, bankomat_login.username, "bank/payout")
        page.wait_for_function(STREAMED_RESULT, arg=bankomat_login.username, timeout=WAIT_MS)
        streamed = "\n".join(page.evaluate("window.streamed"))
        return {
            "error": answer.error,
            "shown": result,
            "pin_in_page": PIN in page.content(),
            "pin_in_stream": PIN in streamed,
            "card_in_page": str(person.card_uid) in page.content(),
            "card_in_stream": str(person.card_uid) in streamed,
            "details": page.inner_text(
                f"{_row(page, bankomat_login.username, 'bank/payout')} .asked"
            ),
        }

    seen = await chromium.run(pay_out_while_watching)

    assert seen == {
        "error": None,
        "shown": "ok",
        "pin_in_page": False,
        "pin_in_stream": False,
        "card_in_page": False,
        "card_in_stream": False,
        "details": f"card …{person.card_uid[-4:]} · target {box} · amount €1.00",
    }


async def test_disabling_a_device_turns_it_offline_on_the_presence_page(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    ada = _admin(stack, login_provider)
    credentials = await asyncio.to_thread(stack.provision, DeviceKind.RENTAL)
    await asyncio.to_thread(stack.device, credentials)
    slug = credentials.username
    connection = f'#live-presence-rows tr[data-device="{slug}"] [data-field="connection"]'

    def disable_in_another_tab(page: Page) -> list[str]:
        log_in(page, stack_app.url, ada, "/admin/live/presence")
        page.wait_for_selector(f"{connection}:has-text('online')", timeout=WAIT_MS)
        shown = [page.inner_text(connection)]
        other = page.context.new_page()
        other.goto(f"{stack_app.url}/admin/devices/{slug}")
        other.get_by_role("button", name="Disable", exact=True).click()
        other.wait_for_load_state()
        page.wait_for_selector(f"{connection}:has-text('offline')", timeout=WAIT_MS)
        return [*shown, page.inner_text(connection).split()[0]]

    shown = await chromium.run(disable_in_another_tab)

    assert shown == ["online", "offline"]


async def test_grace_cannot_open_the_live_view_nor_its_stream(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    grace = unique_slug("grace")
    login_provider.set_user(grace, {"name": "Grace Hopper", "groups": []})

    def try_to_look(page: Page) -> list[object]:
        log_in(page, stack_app.url, grace, "/admin/live")
        heading = page.inner_text("h1")
        stream = page.request.get(f"{stack_app.url}/admin/live/events?view=traffic")
        health = page.request.get(f"{stack_app.url}/admin/live/health")
        return [heading, stream.status, health.status]

    assert await chromium.run(try_to_look) == ["This page is not for you", 403, 403]


@pytest.mark.parametrize("path", ["/admin/live", "/admin/live/presence", "/admin/live/health"])
@pytest.mark.parametrize("locale", ["en-GB", "de-DE"])
async def test_the_live_pages_pass_the_page_checks(
    stack: Stack,
    stack_app: LiveApp,
    chromium: Chromium,
    login_provider: LocalLoginProvider,
    path: str,
    locale: str,
) -> None:
    ada = _admin(stack, login_provider)
    credentials = await asyncio.to_thread(stack.provision, DeviceKind.MACHINE)
    machine = await asyncio.to_thread(stack.device, credentials)
    await asyncio.to_thread(machine.request, "device/config")

    def open_page(page: Page) -> list[str]:
        log_in(page, stack_app.url, ada, path)
        watch = watched(page)  # from here: the provider's own login page is not ours to check
        page.reload()
        page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
        return page_problems(page, watch, f"live {path} {locale}")

    assert await chromium.run(open_page, locale=locale) == []
