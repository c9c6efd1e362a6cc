"""The lending pages in Chromium: a member's projects, requests and notifications, and the lab
technicians' pages, in English and German at phone width; starting a project, adding a member,
asking for an item (its reservations shown, an overlapping period refused), cancelling, and a
technician's rejection that the member reads in her notifications."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from api.web.i18n import Formats
from api.web.lending.common import decision_note, local_input
from api.web.lending.notices import worded
from core import equipment, members, projects, rentals
from core.clock import SystemClock
from core.equipment import EXPIRED_NOTES
from core.notifications import JsonValue, Kind, NotificationView
from core.projects import Acting
from core.settings import Settings
from tests.api.conftest import LinkedMember
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import T0, TESTER, make_member
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

HOUR = timedelta(hours=1)
LAB = Acting(None, "lab-technician", "Ada Lovelace", is_technician=True)


@dataclass(frozen=True)
class Lab:
    """Grace's active project with a drill reserved and a saw asked for, and her project
    that waits for a decision; ids and names as the pages show them."""

    grace: str
    project_id: int
    project: str
    waiting_id: int
    drill_request: int
    saw_request: int
    drill_tid: str
    saw: str


async def _item(db: AsyncSession, name: str) -> rentals.ItemRecord:
    tid = "E280" + secrets.token_hex(10).upper()
    return await rentals.add_item(
        db, tid=tid, name=name, description=None, now=SystemClock().now(), actor=TESTER
    )


async def _lab(db: AsyncSession, person: Person) -> Lab:
    now = SystemClock().now()
    tag = secrets.token_hex(3)
    subject = person("Grace Hopper")
    grace = await make_member(db, name="Grace Hopper")
    await members.link_login(db, grace.member_id, subject, actor=TESTER, now=T0)
    acting = Acting(grace.member_id, subject, "Grace Hopper")
    project = await projects.create(
        db, acting, name=f"Robot arm {tag}", description="Six axes.", now=now
    )
    await projects.approve(db, LAB, project.id, now=now, note="Have fun")
    drill = await _item(db, f"Cordless drill {tag}")
    saw = await _item(db, f"Jigsaw {tag}")
    reserved = await equipment.request(
        db,
        acting,
        project_id=project.id,
        item=drill.tid,
        starts_at=now + HOUR,
        ends_at=now + 5 * HOUR,
        now=now,
    )
    await equipment.approve(db, LAB, reserved.id, now=now)
    asked = await equipment.request(
        db,
        acting,
        project_id=project.id,
        item=saw.tid,
        starts_at=now + HOUR,
        ends_at=now + 2 * HOUR,
        now=now,
        note="For the base plate",
    )
    waiting = await projects.create(
        db, acting, name=f"Weather station {tag}", description=None, now=now
    )
    await db.commit()
    return Lab(
        subject, project.id, project.name, waiting.id, reserved.id, asked.id, drill.tid, saw.name
    )


async def _open_each(
    chromium: Chromium, base_url: str, subject: str, pages: dict[str, str], language: str
) -> tuple[list[str], dict[str, str]]:
    """Each page checked (its screenshot named after it and the language), and the text of
    its main part by name; `"menu"`: the main menu on the last one."""

    def open_pages(page: Page) -> tuple[list[str], dict[str, str]]:
        log_in(page, base_url, subject, next(iter(pages.values())))
        problems: list[str] = []
        texts: dict[str, str] = {}
        for name, path in pages.items():
            page.goto(base_url + path)
            watch = watched(page)
            page.reload()
            problems += [f"{name}: {p}" for p in page_problems(page, watch, f"{name}-{language}")]
            texts[name] = page.inner_text("main")
        texts["menu"] = page.inner_text("header nav")
        return problems, texts

    return await chromium.run(open_pages, locale=LANGUAGE_LOCALES[language])


async def test_the_member_pages_pass_the_checks_in_both_languages(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    lab = await _lab(committed_db, person)
    pages = {
        "lending-projects": "/me/projects",
        "lending-new-project": "/me/projects/new",
        "lending-project": f"/me/projects/{lab.project_id}",
        "lending-requests": "/me/requests",
        "lending-new-request": f"/me/requests/new?project_id={lab.project_id}&tid={lab.drill_tid}",
        "lending-request": f"/me/requests/{lab.drill_request}",
        "lending-notifications": "/me/notifications",
    }

    for language in LANGUAGE_LOCALES:
        problems, seen = await _open_each(chromium, live_app.url, lab.grace, pages, language)

        assert problems == []
        german = language == "de"
        assert lab.project in seen["lending-projects"]
        assert ("Aktiv" if german else "Active") in seen["lending-project"]
        assert ("Reserviert:" if german else "Reserved:") in seen["lending-new-request"]
        assert ("Genehmigt" if german else "Approved") in seen["lending-request"]
        approved = (
            f"Das Projekt {lab.project} wurde genehmigt."
            if german
            else f"The project {lab.project} was approved."
        )
        assert approved in seen["lending-notifications"]
        unread = "Benachrichtigungen 2 ungelesen" if german else "Notifications 2 unread"
        assert unread in " ".join(seen["menu"].split())


async def test_the_lab_pages_pass_the_checks_in_both_languages(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    lab = await _lab(committed_db, person)
    tom = person("Tom Kilburn", "lab")
    pages = {
        "lab-queues": "/lab",
        "lab-project": f"/lab/projects/{lab.waiting_id}",
        "lab-request": f"/lab/requests/{lab.saw_request}",
        "lab-notifications": "/lab/notifications",
        "lab-audit": f"/lab/audit?entity=project&entity_id={lab.project_id}",
    }

    for language in LANGUAGE_LOCALES:
        problems, seen = await _open_each(chromium, live_app.url, tom, pages, language)

        assert problems == []
        assert "Weather station" in seen["lab-queues"]
        assert "For the base plate" in seen["lab-request"]
        submitted = (
            "Grace Hopper hat das Projekt Weather station"
            if language == "de"
            else "Grace Hopper submitted the project Weather station"
        )
        assert submitted in seen["lab-notifications"]
        project = "Projekt" if language == "de" else "Project"
        trail = seen["lab-audit"]
        assert f"{project} {lab.project_id}" in trail
        assert ("approve" in trail, "Ada Lovelace" in trail) == (True, True)


def _submit(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


async def test_a_member_starts_a_project_once_it_has_a_name(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    lab = await _lab(committed_db, person)

    def start(page: Page) -> dict[str, str]:
        log_in(page, live_app.url, lab.grace, "/me/projects/new")
        _submit(page, "Start the project")
        seen = {"error": page.inner_text("#e-name")}
        page.fill("#f-name", "Plotter")
        page.fill("#f-description", "A pen plotter from old printers.")
        _submit(page, "Start the project")
        seen |= {"notice": page.inner_text(".notice"), "main": page.inner_text("main")}
        return seen

    seen = await chromium.run(start)

    assert seen["error"] == "Please fill this in."
    assert seen["notice"] == "Project Plotter created: a lab technician will look at it."
    assert "Waiting for approval" in seen["main"]
    assert "Grace Hopper\tLeader" in seen["main"]


async def test_the_leader_adds_a_member_by_e_mail_and_an_unknown_address_is_refused(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    lab = await _lab(committed_db, person)
    alan = await make_member(committed_db, name="Alan Turing")
    email = f"alan-{secrets.token_hex(4)}@example.org"
    await members.set_contact(
        committed_db, alan.member_id, name="Alan Turing", email=email, actor=TESTER, now=T0
    )
    await committed_db.commit()

    def add(page: Page) -> dict[str, str]:
        log_in(page, live_app.url, lab.grace, f"/me/projects/{lab.project_id}")
        page.fill("#f-email", "nobody@example.org")
        _submit(page, "Add")
        seen = {"unknown": page.inner_text("#e-email")}
        page.fill("#f-email", email)
        page.select_option("#f-role", "advisor")
        _submit(page, "Add")
        seen["notice"] = page.inner_text(".notice")
        seen["members"] = page.inner_text("section[aria-labelledby=members] table")
        return seen

    seen = await chromium.run(add)

    assert seen["unknown"] == "No member has this e-mail address."
    assert seen["notice"] == "Alan Turing added."
    assert "Alan Turing\tAdvisor" in seen["members"]


async def test_the_request_form_shows_the_reservation_refuses_it_and_sends_a_free_period(
    live_app: LiveApp,
    chromium: Chromium,
    committed_db: AsyncSession,
    person: Person,
    api_settings: Settings,
) -> None:
    lab = await _lab(committed_db, person)
    zone = Formats("en", api_settings.currency, api_settings.zone)
    after_the_reservation = SystemClock().now() + 6 * HOUR

    def ask(page: Page) -> dict[str, str]:
        log_in(page, live_app.url, lab.grace, f"/me/requests/new?project_id={lab.project_id}")
        page.select_option("#f-tid", lab.drill_tid)
        _submit(page, "Check availability")
        seen = {"availability": page.inner_text("section[aria-labelledby=availability]")}
        _submit(page, "Send the request")
        seen["refused"] = page.inner_text("form .error")
        page.fill("#f-starts_at", local_input(after_the_reservation, zone))
        page.fill("#f-ends_at", local_input(after_the_reservation + HOUR, zone))
        _submit(page, "Send the request")
        seen["sent"] = page.inner_text(".notice")
        seen["status"] = page.inner_text("dl.facts")
        _submit(page, "Cancel the request")
        seen["cancelled"] = page.inner_text("dl.facts")
        return seen

    seen = await chromium.run(ask)

    assert "Not free for this whole period." in seen["availability"]
    assert seen["refused"].startswith("The item is reserved until ")
    assert seen["sent"] == "Request sent: a lab technician will decide on it."
    assert "Waiting for approval" in seen["status"]
    assert "Cancelled" in seen["cancelled"]


async def test_a_technician_rejects_with_a_reason_that_the_member_reads_in_her_notifications(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    lab = await _lab(committed_db, person)
    ada = person("Ada Lovelace", "admin")

    def reject(page: Page) -> dict[str, str]:
        log_in(page, live_app.url, ada, f"/lab/requests/{lab.saw_request}")
        _submit(page, "Reject")
        seen = {"no reason": page.inner_text("#e-reason")}
        page.fill("#f-reason", "The saw is being repaired.")
        _submit(page, "Reject")
        seen["notice"] = page.inner_text(".notice")
        return seen

    def read(page: Page) -> dict[str, str]:
        log_in(page, live_app.url, lab.grace, "/me/notifications")
        seen = {
            "menu": page.inner_text("#menu-notifications"),
            "newest": page.inner_text("ul.notices li >> nth=0"),
        }
        _submit(page, "Mark all as read")
        seen["after"] = page.inner_text("#menu-notifications")
        return seen

    rejected = await chromium.run(reject)
    seen = await chromium.run(read)

    assert rejected["no reason"] == "Please fill this in."
    assert rejected["notice"] == "Request rejected: the requester is told why."
    assert seen["menu"].split() == ["Notifications", "3", "unread"]
    assert seen["newest"].startswith(
        f"New Your request for {lab.saw} ({lab.project}) was rejected: The saw is being repaired."
    )
    assert seen["after"] == "Notifications"


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_of_notification_is_worded_in_both_languages(kind: Kind) -> None:
    data: dict[str, JsonValue] = {
        "project": "Robot arm",
        "item": "Cordless drill",
        "by": "Grace Hopper",
        "reason": "No advisor",
        "starts_at": "2026-11-21T09:00:00Z",
        "ends_at": "2026-11-21T13:00:00Z",
    }
    notice = NotificationView(1, kind.value, data, None, T0, None)
    zone = ZoneInfo("Europe/Berlin")

    english = worded(notice, Formats("en", "EUR", zone))
    german = worded(notice, Formats("de", "EUR", zone))

    assert "Robot arm" in english
    assert "Robot arm" in german
    assert english != german
    if kind in (Kind.REQUEST_DUE, Kind.REQUEST_OVERDUE, Kind.REQUEST_EXPIRED):
        assert "21/11/2026, 14:00" in english  # the end, in the space's zone


def test_an_expired_requests_note_is_said_in_the_pages_language() -> None:
    german = Formats("de", "EUR", ZoneInfo("Europe/Berlin"))

    said = [decision_note(EXPIRED_NOTES[status], german) for status in ("approved", "pending")]

    assert said == [
        "Ihr Zeitraum endete, ohne dass der Gegenstand abgeholt wurde.",
        "Ihr Zeitraum endete, bevor über sie entschieden wurde.",
    ]
    assert decision_note("Bring the case too.", german) == "Bring the case too."


async def test_another_members_project_is_not_found_and_the_lab_is_not_for_members(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    linked_member: LinkedMember,
    person: Person,
) -> None:
    lab = await _lab(committed_db, person)
    _, mallory = await linked_member("Mallory")

    seen = [
        await client.get(f"/me/projects/{lab.project_id}", headers=mallory),
        await client.get(f"/me/requests/{lab.drill_request}", headers=mallory),
        await client.post(f"/me/requests/{lab.drill_request}/cancel", headers=mallory),
        await client.get("/lab", headers=mallory),
        await client.post(f"/lab/requests/{lab.saw_request}/approve", headers=mallory),
    ]

    assert [(page.status_code, page.headers["content-type"][:9]) for page in seen] == [
        (404, "text/html")
    ] * 3 + [(403, "text/html")] * 2
