"""The admins' dashboard and device pages in Chromium: both languages, provisioning through
the form (its password shown once), rotate, disable, enable and remove through the pages, a
broker that is down, and a member who is no admin."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from broker.launcher import free_port
from core import cash_boxes
from core.cash_boxes import BoxEntryKind
from core.clock import FrozenClock
from core.members import link_login
from core.origin import Origin
from core.settings import Settings
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.core.test_sessions import _start as start_session
from tests.factories import T0, TESTER, grant, make_machine, make_member, unique_slug
from tests.live_server import LiveApp, serving
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

NOT_FOR_YOU = "This page is not for you"


def _heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def _submit(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


async def test_ada_sees_the_dashboard_and_the_devices_in_english_and_german(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    ada = person("Ada Lovelace", "admin")
    slug = unique_slug("box")
    name = f"Drinks {slug}"  # the shared test database holds other tests' boxes too
    box = await cash_boxes.create(committed_db, slug=slug, name=name, now=T0)
    await cash_boxes.post(
        committed_db, box.id, BoxEntryKind.DONATION, 1250, Origin(T0, actor="test")
    )
    await committed_db.commit()
    for language, locale in LANGUAGE_LOCALES.items():

        def look(page: Page, language: str = language) -> dict[str, object]:
            log_in(page, live_app.url, ada, "/admin")
            watch = watched(page)
            page.goto(live_app.url + "/admin")
            dashboard: dict[str, object] = {
                "heading": _heading(page),
                "box": page.get_by_role("row", name=re.compile(name)).inner_text(),
                "problems": page_problems(page, watch, f"admin-dashboard-{language}"),
            }
            page.goto(live_app.url + "/admin/devices")
            return dashboard | {
                "devices": _heading(page),
                "devices_problems": page_problems(page, watch, f"admin-devices-{language}"),
            }

        seen = await chromium.run(look, locale=locale)

        assert seen["heading"] == {"en": "Dashboard", "de": "Übersicht"}[language]
        assert seen["box"] == {"en": f"{name}\t€12.50", "de": f"{name}\t12,50\xa0€"}[language]
        assert seen["devices"] == {"en": "Devices", "de": "Geräte"}[language]
        assert seen["problems"] == []
        assert seen["devices_problems"] == []


async def test_a_device_is_provisioned_rotated_switched_and_removed_through_the_pages(
    live_app: LiveApp, chromium: Chromium, person: Person
) -> None:
    ada = person("Ada Lovelace", "admin")
    slug = unique_slug("lathe")

    def manage(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, ada, "/admin/devices")
        watch = watched(page)
        page.fill("#f-slug", "Lathe_1")
        _submit(page, "Anlegen")
        seen: dict[str, Any] = {
            "slug_error": page.inner_text("#e-slug"),
            "slug_invalid": page.get_attribute("#f-slug", "aria-invalid"),
        }
        page.fill("#f-slug", slug)
        page.select_option("#f-kind", "rental")
        page.fill("#f-name", "Drehbank")
        _submit(page, "Anlegen")
        password = page.inner_text("#c-password")
        seen |= {
            "provisioned": _heading(page),
            "username": page.inner_text("#c-username"),
            "password_shown": page.content().count(password),
            "provisioned_problems": page_problems(page, watch, "admin-device-provisioned-de"),
        }
        page.goto(live_app.url + "/admin/devices")
        seen |= {
            "listed": page.get_by_role("row", name=re.compile(slug)).inner_text(),
            "password_in_list": password in page.content(),
            "list_problems": page_problems(page, watch, "admin-devices-listed-de"),
        }
        page.goto(f"{live_app.url}/admin/devices/{slug}")
        seen["detail_problems"] = page_problems(page, watch, "admin-device-de")
        _submit(page, "Neues Passwort")
        seen["rotated"] = page.inner_text("#c-password") != password
        page.goto(f"{live_app.url}/admin/devices/{slug}")
        _submit(page, "Deaktivieren")
        seen["disabled"] = (page.inner_text(".notice"), page.inner_text("main dl"))
        _submit(page, "Aktivieren")
        seen["enabled"] = page.inner_text(".notice")
        page.get_by_role("button", name="Entfernen").click()
        seen |= {
            "confirm": _heading(page),
            "confirm_problems": page_problems(page, watch, "admin-device-remove-de"),
        }
        _submit(page, "Gerät entfernen")
        seen |= {
            "removed": page.inner_text(".notice"),
            "still_listed": page.locator("td", has_text=slug).count() > 0,
        }
        return seen

    seen = await chromium.run(manage, locale="de-DE")

    assert seen["slug_error"].startswith("2 bis 40")
    assert seen["slug_invalid"] == "true"
    assert seen["provisioned"] == "Gerät Drehbank angelegt"
    assert seen["username"] == slug
    assert seen["password_shown"] == 1
    assert seen["listed"].split("\t")[:6] == [
        "Drehbank",
        "unbekannt",  # it never reported
        "aktiviert",
        "nie",
        "Verleihstation",
        slug,
    ]
    assert seen["password_in_list"] is False
    assert seen["rotated"] is True
    assert seen["disabled"][0] == f"Gerät {slug} deaktiviert."
    assert "deaktiviert" in seen["disabled"][1]
    assert seen["enabled"] == f"Gerät {slug} aktiviert."
    assert seen["confirm"] == "Drehbank entfernen?"
    assert seen["removed"] == f"Gerät {slug} entfernt."
    assert seen["still_listed"] is False
    for problems in (
        "provisioned_problems",
        "list_problems",
        "detail_problems",
        "confirm_problems",
    ):
        assert seen[problems] == [], problems


async def test_with_the_broker_down_a_page_says_nothing_was_changed(
    api_settings: Settings, chromium: Chromium, person: Person
) -> None:
    ada = person("Ada Lovelace", "admin")
    slug = unique_slug("lathe")

    async with serving(api_settings.model_copy(update={"mqtt_port": free_port()})) as down:

        def provision(page: Page) -> dict[str, object]:
            log_in(page, down.url, ada, "/admin/devices")
            watch = watched(page)
            page.fill("#f-slug", slug)
            with page.expect_response(down.url + "/admin/devices") as answer:
                _submit(page, "Provision")
            seen = {
                "status": answer.value.status,
                "heading": _heading(page),
                "why": page.inner_text("main p"),
                "problems": page_problems(page, watch, "admin-device-broker-down-en"),
            }
            page.get_by_role("button", name="Back").click()
            return seen | {"listed": slug in page.content()}

        seen = await chromium.run(provision)

    assert (seen["status"], seen["heading"]) == (503, "Nothing was changed")
    assert "cannot be reached" in str(seen["why"])
    assert seen["listed"] is False
    assert seen["problems"] == []


async def test_a_device_kept_by_its_sessions_and_an_unknown_one_are_pages(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    ada = person("Ada Lovelace", "admin")
    machine = await make_machine(committed_db)
    member = await make_member(committed_db, balance_cents=10_000)
    await grant(committed_db, machine, member)
    await start_session(committed_db, machine, member, FrozenClock(T0))
    await committed_db.commit()

    def remove(page: Page) -> dict[str, object]:
        log_in(page, live_app.url, ada, f"/admin/devices/{machine.slug}/remove")
        watch = watched(page)
        with page.expect_response(f"{live_app.url}/admin/devices/{machine.slug}/remove") as answer:
            _submit(page, "Remove the device")
        seen = {
            "status": answer.value.status,
            "why": page.inner_text("main p"),
            "problems": page_problems(page, watch, "admin-device-kept-en"),
        }
        page.get_by_role("button", name="Back").click()
        seen["kept"] = _heading(page)
        unknown = page.goto(f"{live_app.url}/admin/devices/{unique_slug('nothing')}")
        assert unknown is not None
        return seen | {"unknown": (unknown.status, _heading(page))}

    seen = await chromium.run(remove)

    assert seen == {
        "status": 409,
        "why": "This device has sessions on record, which keep it: disable it instead.",
        "problems": [],
        "kept": machine.name,
        "unknown": (404, "Page not found"),
    }


async def test_a_member_who_is_no_admin_gets_the_not_for_you_page(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    grace = person("Grace Hopper")
    member = await make_member(committed_db, name="Grace Hopper")
    await link_login(committed_db, member.member_id, grace, actor=TESTER, now=T0)
    await committed_db.commit()

    def open_admin_pages(page: Page) -> list[tuple[int, str, str]]:
        log_in(page, live_app.url, grace, "/me")
        opened = []
        for path in ("/admin", "/admin/devices"):
            response = page.goto(live_app.url + path)
            assert response is not None
            opened.append((response.status, response.headers["content-type"], _heading(page)))
        return opened

    opened = await chromium.run(open_admin_pages)

    assert opened == [(403, "text/html; charset=utf-8", NOT_FOR_YOU)] * 2
