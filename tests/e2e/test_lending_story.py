"""Issue 14's story on the real stack, through the pages and the rental stations: Grace starts
a project, Ada (a lab technician) approves it, Grace asks for the drill for today, Ada approves,
another member is refused at a station with `item_reserved`, Grace rents the drill at one
station and brings it back to another, her request shows Returned, both read their
notifications, and the audit trail (/admin/audit, from the lab's pages) names who made each
step.

Run on SQLite only, as the other page journeys: the rules it walks through are tested on both
databases in tests/core and tests/api."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from makerbus_device import DeviceClient
from playwright.sync_api import Page

from api.web.i18n import Formats
from api.web.lending.common import local_input, parse_local
from core import members
from core.clock import SystemClock, rfc3339
from core.formats import DeviceKind
from makerbus.context import database
from makerbus.login_provider import LocalLoginProvider
from tests.api.web.conftest import log_in
from tests.api.web.test_member_pages import follow
from tests.chromium import Chromium
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_rental_program import add_item, permitted_member
from tests.factories import TESTER, unique_slug
from tests.live_server import LiveApp

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class People:
    grace: str
    grace_card: str
    ada: str


def _people(stack: Stack, login_provider: LocalLoginProvider) -> People:
    grace, ada = unique_slug("grace"), unique_slug("ada")
    login_provider.set_user(grace, {"name": "Grace Hopper", "groups": []})
    login_provider.set_user(ada, {"name": "Ada Lovelace", "groups": [stack.settings.admin_group]})
    member = stack.add_member(name="Grace Hopper")  # no rental permission of her own
    assert member.card_uid is not None

    async def link() -> None:
        async with database(stack.settings) as db:
            await members.link_login(
                db, member.member_id, grace, actor=TESTER, now=SystemClock().now()
            )

    run_async(link())
    return People(grace, member.card_uid, ada)


def _today(now: datetime, formats: Formats) -> tuple[str, str]:
    """From now until the end of today in the space's zone (an hour at least, near midnight)."""
    end_of_day = formats.local(now).replace(hour=23, minute=59, second=0, microsecond=0)
    return local_input(now, formats), local_input(
        max(end_of_day, now + timedelta(hours=1)), formats
    )


def _trail(page: Page, link: str) -> list[list[str]]:
    """Follow the lab page's link to the audit trail: (who, action, before, after) of each
    row, oldest first."""
    follow(page, page.get_by_role("link", name=link))
    rows = page.locator("main tbody tr")
    columns = (1, 3, 4, 5)  # When, Who, What, Action, Before, After, Note
    return [
        [rows.nth(i).locator("td").nth(c).inner_text() for c in columns]
        for i in reversed(range(rows.count()))
    ]


def _id_in(page: Page) -> int:
    return int(page.url.rstrip("/").rsplit("/", 1)[-1])


def _lab_unread(page: Page) -> int:
    badge = page.locator("#menu-lab .badge")
    return int(badge.inner_text().split()[0]) if badge.count() else 0


async def test_grace_borrows_the_drill_for_her_project_from_approval_to_return(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    people = await asyncio.to_thread(_people, stack, login_provider)
    tid = await asyncio.to_thread(add_item, stack)
    outsider = await asyncio.to_thread(permitted_member, stack)
    front_desk_login = await asyncio.to_thread(stack.provision, DeviceKind.RENTAL)
    workshop_login = await asyncio.to_thread(stack.provision, DeviceKind.RENTAL)
    front_desk: DeviceClient = await asyncio.to_thread(stack.device, front_desk_login)
    workshop: DeviceClient = await asyncio.to_thread(stack.device, workshop_login)
    name = f"Robot arm {secrets.token_hex(3)}"
    formats = Formats("en", stack.settings.currency, stack.settings.zone)
    url = stack_app.url

    def grace_starts_the_project(page: Page) -> dict[str, object]:
        log_in(page, url, people.grace, "/me/projects")
        follow(page, page.get_by_role("button", name="Start a project"))
        page.fill("#f-name", name)
        page.fill("#f-description", "Six axes, for the open day.")
        follow(page, page.get_by_role("button", name="Start the project"))
        return {"id": _id_in(page), "status": page.inner_text("main .status")}

    def ada_approves_the_project(page: Page) -> dict[str, object]:
        log_in(page, url, people.ada, "/lab")
        unread = _lab_unread(page)
        follow(page, page.get_by_role("link", name=name))
        page.fill("#f-note", "Go ahead.")
        follow(page, page.get_by_role("button", name="Approve", exact=True))
        return {
            "unread": unread,
            "notice": page.inner_text(".notice"),
            "status": page.inner_text("main .status"),
        }

    def grace_asks_for_the_drill_for_today(page: Page) -> dict[str, object]:
        log_in(page, url, people.grace, "/me/projects")
        follow(page, page.get_by_role("link", name=name))
        follow(page, page.get_by_role("button", name="Request an item"))
        page.select_option("#f-tid", tid)
        starts, ends = _today(SystemClock().now(), formats)
        page.fill("#f-starts_at", starts)
        page.fill("#f-ends_at", ends)
        follow(page, page.get_by_role("button", name="Check availability"))
        free = page.inner_text("section[aria-labelledby=availability]")
        follow(page, page.get_by_role("button", name="Send the request"))
        return {
            "id": _id_in(page),
            "ends": ends,
            "period": page.inner_text("dl.facts dd >> nth=2"),
            "free": free,
            "status": page.inner_text("dl.facts .status"),
        }

    def ada_approves_the_request(page: Page) -> dict[str, object]:
        log_in(page, url, people.ada, "/lab")
        row = page.locator("section[aria-labelledby=waiting-requests] tr", has_text=name)
        follow(page, row.get_by_role("link", name="Cordless drill"))
        follow(page, page.get_by_role("button", name="Approve", exact=True))
        return {"notice": page.inner_text(".notice"), "status": page.inner_text("dl.facts .status")}

    def grace_reads_her_request_and_notifications(page: Page) -> dict[str, object]:
        log_in(page, url, people.grace, f"/me/requests/{request['id']}")
        status = page.locator("dl.facts .status")
        seen: dict[str, object] = {
            "status": (status.get_attribute("data-status"), status.inner_text())
        }
        seen["menu"] = page.inner_text("#menu-notifications").split()
        follow(page, page.get_by_role("link", name="Notifications").first)
        seen["notices"] = page.locator("ul.notices li a").all_inner_texts()
        return seen

    def ada_reads_the_labs_notifications_and_the_trail(page: Page) -> dict[str, object]:
        log_in(page, url, people.ada, "/lab/notifications")
        texts = page.locator("ul.notices li a").all_inner_texts()
        seen: dict[str, object] = {
            "unread": _lab_unread(page),
            "notices": [t for t in texts if name in t],
        }
        page.goto(f"{url}/lab/projects/{project['id']}")
        seen["project trail"] = _trail(page, "The project's audit trail")
        page.goto(f"{url}/lab/requests/{request['id']}")
        seen["request trail"] = _trail(page, "The request's audit trail")
        return seen

    project = await chromium.run(grace_starts_the_project)
    approved = await chromium.run(ada_approves_the_project)
    request = await chromium.run(grace_asks_for_the_drill_for_today)
    decided = await chromium.run(ada_approves_the_request)
    refused = await asyncio.to_thread(
        front_desk.request, "rental/rent", card=outsider.card_uid, tid=tid
    )
    rented = await asyncio.to_thread(
        front_desk.request, "rental/rent", card=people.grace_card, tid=tid
    )
    returned = await asyncio.to_thread(workshop.request, "rental/return", tid=tid)
    grace_sees = await chromium.run(grace_reads_her_request_and_notifications)
    ada_sees = await chromium.run(ada_reads_the_labs_notifications_and_the_trail)

    assert project["status"] == "Waiting for approval"
    assert (approved["notice"], approved["status"]) == (
        "Project approved: its members are told.",
        "Active",
    )
    assert "Free: you can request it." in str(request["free"])
    assert request["status"] == "Waiting for approval"
    assert (decided["notice"], decided["status"]) == (
        "Request approved: the item is reserved for the project.",
        "Approved",
    )
    assert (refused.ok, refused.error, refused["until"]) == (
        False,
        "item_reserved",
        rfc3339(parse_local(str(request["ends"]), formats)),
    )
    assert (rented.ok, returned.ok) == (True, True)
    assert grace_sees["status"] == ("returned", "Returned")
    assert grace_sees["menu"] == ["Notifications", "2", "unread"]
    assert grace_sees["notices"] == [
        f"Your request for Cordless drill ({name}) was approved: {request['period']}.",
        f"The project {name} was approved.",
    ]
    assert ada_sees["unread"] == int(str(approved["unread"])) + 1
    assert ada_sees["notices"] == [
        f"Grace Hopper asks for Cordless drill for the project {name}, {request['period']}.",
        f"Grace Hopper submitted the project {name} for approval.",
    ]
    assert ada_sees["project trail"] == [
        ["Grace Hopper", "create", "", "pending"],
        ["Ada Lovelace", "approve", "pending", "active"],
    ]
    assert ada_sees["request trail"] == [
        ["Grace Hopper", "request", "", "pending"],
        ["Ada Lovelace", "approve", "pending", "approved"],
        [f"{front_desk_login.username} (device)", "check_out", "approved", "checked_out"],
        [f"{workshop_login.username} (device)", "return", "checked_out", "returned"],
    ]
