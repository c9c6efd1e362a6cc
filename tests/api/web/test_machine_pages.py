"""The machines pages in Chromium: an admin sets a tariff (a bad value is refused next to its
field, in the page's language), grants, revokes, adds and removes a sub-admin; a sub-admin sees and
grants on their own machine only, core's refusals come back as translated messages, and the
admins' forms and other machines are the 403 page to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from core import machines, sessions
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.clock import FrozenClock
from core.errors import NotFound
from core.members import link_login
from tests.api.conftest import Headers, SessionFor
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import T0, TESTER, grant, make_machine, make_member, unique_slug
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched


@dataclass(frozen=True)
class Words:
    """What the pages say in one language, as far as the tests read it."""

    bad_amount: str
    good_fee: str
    good_per_minute: str
    own_per_minute: str
    own_tariff: str
    tariff: str
    saved: str
    granted: str
    revoked: str
    added: str
    removed: str
    own_authorization: str
    not_for_you: str


WORDS = {
    "en": Words(
        bad_amount="Please enter an amount like 12.50.",
        good_fee="1.50",
        good_per_minute="0.25",
        own_per_minute="0.10",
        own_tariff="Login fee €1.50, €0.10 per minute, billed 10 min in advance (own prices)",
        tariff="Login fee €1.50, €0.25 per minute, billed 10 min in advance",
        saved="Tariff saved.",
        granted="Authorization granted.",
        revoked="Authorization revoked.",
        added="Sub-admin added.",
        removed="Sub-admin removed.",
        own_authorization="You cannot grant, change or revoke your own authorization",
        not_for_you="This page is not for you",
    ),
    "de": Words(
        bad_amount="Bitte einen Betrag wie 12,50 eingeben.",
        good_fee="1,50",
        good_per_minute="0,25",
        own_per_minute="0,10",
        own_tariff="Anmeldegebühr 1,50 €, 0,10 € pro Minute, 10 Min. im Voraus berechnet "
        "(eigene Preise)",
        tariff="Anmeldegebühr 1,50 €, 0,25 € pro Minute, 10 Min. im Voraus berechnet",
        saved="Tarif gespeichert.",
        granted="Berechtigung erteilt.",
        revoked="Berechtigung entzogen.",
        added="Unteradmin hinzugefügt.",
        removed="Unteradmin entfernt.",
        own_authorization="Deine eigene Berechtigung kannst du nicht",
        not_for_you="Diese Seite ist nicht für dich",
    ),
}


def _unique(name: str) -> str:
    """A name no other test's member has, so that looking it up finds this member only."""
    return f"{name} {unique_slug('x').split('-', 1)[1]}"


def _text(page: Page, selector: str) -> str:
    return page.inner_text(selector).replace("\u00a0", " ")


def _submit(page: Page, form: str) -> int:
    """Press the submit button of the form matching `form`; the answer's status."""
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.locator(f"{form} button[type=submit]").click()
    page.wait_for_load_state()
    return posted.value.status


def _look_up(page: Page, name: str) -> None:
    page.fill("#f-q", name)
    page.locator("form[method=get] button[type=submit]").click()
    page.wait_for_load_state()


def _post(page: Page, path: str, **fields: str) -> int:
    """Post a form to `path` from the page, as a form of the app would; the answer's status."""
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.evaluate(
            """([path, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = path;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [path, fields],
        )
    page.wait_for_load_state()
    return posted.value.status


@pytest.mark.parametrize("language", ["en", "de"])
async def test_an_admin_sets_the_tariff_grants_revokes_and_keeps_the_sub_admins(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person, language: str
) -> None:
    words = WORDS[language]
    machine = await make_machine(committed_db, Tariff(100, 20, 15))
    member = await make_member(committed_db, name=_unique("Grace Hopper"))
    await committed_db.commit()
    ada = person("Ada Lovelace", "admin")
    deputy = unique_slug("deputy")

    def manage(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, ada)
        watch = watched(page)  # from here: the provider's login page is not the app's
        page.goto(live_app.url + "/admin/machines")
        problems = page_problems(page, watch, f"machines-{language}")
        seen: dict[str, Any] = {"problems": problems}
        page.get_by_role("link", name=machine.name, exact=True).click()
        page.wait_for_load_state()
        problems += page_problems(page, watch, f"machine-{language}")

        page.fill("#f-login_fee_cents", "twelve")
        page.fill("#f-price_per_minute_cents", words.good_per_minute)
        page.fill("#f-interval_min", "10")
        seen["refused"] = (
            _submit(page, "form[action$='/tariff']"),
            _text(page, "#e-login_fee_cents"),
        )
        problems += page_problems(page, watch, f"machine-tariff-refused-{language}")
        page.fill("#f-login_fee_cents", words.good_fee)
        _submit(page, "form[action$='/tariff']")
        seen["saved"] = (_text(page, ".notice"), _text(page, "#tariff + p"))

        _look_up(page, member.name)
        problems += page_problems(page, watch, f"machine-grant-{language}")
        page.fill("#g-price_per_minute_cents", words.own_per_minute)
        _submit(page, "form[action$='/authorizations']")
        seen["granted"] = (_text(page, ".notice"), _text(page, "#authorizations ~ .table-wrap td"))
        page.locator(f"form[action$='/authorizations/{member.member_id}/revoke'] button").click()
        page.wait_for_load_state()
        seen["revoked"] = (
            _text(page, ".notice"),
            page.locator("#authorizations ~ .table-wrap").count(),
        )

        page.fill("#f-subject", deputy)
        _submit(page, "form[action$='/sub-admins']")
        seen["added"] = (_text(page, ".notice"), _text(page, "#sub-admins ~ ul"))
        problems += page_problems(page, watch, f"machine-sub-admins-{language}")
        _submit(page, "form[action$='/sub-admins/remove']")
        seen["removed"] = (_text(page, ".notice"), page.locator("#sub-admins ~ ul").count())
        nowhere = page.goto(live_app.url + "/admin/machines/no-such-machine")
        assert nowhere is not None
        seen["unknown machine"] = nowhere.status
        return seen

    seen = await chromium.run(manage, locale=LANGUAGE_LOCALES[language])

    assert seen["problems"] == []
    assert seen["refused"] == (422, words.bad_amount)
    assert seen["saved"] == (words.saved, words.tariff)
    assert seen["granted"] == (words.granted, words.own_tariff)
    assert seen["revoked"] == (words.revoked, 0)
    assert seen["added"][0] == words.added
    assert seen["unknown machine"] == 404
    assert deputy in seen["added"][1]
    assert seen["removed"] == (words.removed, 0)
    assert await machines.sub_admins(committed_db, machine.id) == []


async def test_a_sub_admin_grants_on_their_own_machine_and_no_other(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    words = WORDS["de"]
    theirs = await make_machine(committed_db, Tariff(100, 20, 15))
    other = await make_machine(committed_db)
    member = await make_member(committed_db, name=_unique("Grace Hopper"))
    own = await make_member(committed_db, name=_unique("Sam Sub"))
    sam = person("Sam Sub")
    await link_login(committed_db, own.member_id, sam, actor=TESTER, now=T0)
    await machines.add_sub_admin(committed_db, theirs.id, sam, now=T0, actor=TESTER)
    await committed_db.commit()

    def keep_the_machine(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, sam)
        watch = watched(page)  # from here: the provider's login page is not the app's
        page.goto(live_app.url + "/admin/machines")
        problems = page_problems(page, watch, "machines-sub-admin-de")
        seen: dict[str, Any] = {
            "listed": page.locator("tbody th").all_inner_texts(),
            "problems": problems,
        }
        page.get_by_role("link", name=theirs.name, exact=True).click()
        page.wait_for_load_state()
        seen["admin forms"] = page.locator(
            "form[action$='/tariff'], #g-login_fee_cents, #sub-admins"
        ).count()
        _look_up(page, member.name)
        seen["found"] = _text(page, "form[action$='/authorizations'] label").strip()
        _submit(page, "form[action$='/authorizations']")
        seen["granted"] = _text(page, ".notice")
        _look_up(page, own.name)
        seen["own"] = (
            _submit(page, "form[action$='/authorizations']"),
            _text(page, "[role=alert]"),
        )
        problems += page_problems(page, watch, "machine-sub-admin-refused-de")

        refusals = []
        for path in (f"/admin/machines/{other.slug}", "/admin/machines/no-such-machine"):
            response = page.goto(live_app.url + path)
            assert response is not None
            refusals.append((response.status, _text(page, "h1")))
        problems += page_problems(page, watch, "machine-not-yours-de")
        for path in (f"/admin/machines/{theirs.slug}/tariff", "/admin/machines/no-such/tariff"):
            status = _post(
                page, path, login_fee_cents="0", price_per_minute_cents="0", interval_min="1"
            )
            refusals.append((status, _text(page, "h1")))
        refusals.append(
            (
                _post(page, f"/admin/machines/{theirs.slug}/sub-admins", subject=sam),
                _text(page, "h1"),
            )
        )
        seen["refusals"] = refusals
        return seen

    seen = await chromium.run(keep_the_machine, locale=LANGUAGE_LOCALES["de"])

    assert seen["listed"] == [theirs.name]
    assert seen["admin forms"] == 0
    assert member.card_uid is not None
    assert seen["found"] == f"{member.name} · Karte …{member.card_uid[-4:]}"  # never all of it
    assert seen["granted"] == words.granted
    status, message = seen["own"]
    assert (status, message.startswith(words.own_authorization)) == (403, True)
    assert seen["refusals"] == [(403, words.not_for_you)] * 5
    assert seen["problems"] == []
    granted = await machines.authorization(
        committed_db, device_id=theirs.id, member_id=member.member_id
    )
    assert granted.granted_by == sam
    with pytest.raises(NotFound):
        await machines.authorization(committed_db, device_id=theirs.id, member_id=own.member_id)
    tariff = await machines.tariff_of(committed_db, theirs.id)
    assert tariff is not None
    assert tariff.login_fee_cents == 100


async def test_ending_a_session_that_has_ended_says_so_and_another_machines_is_not_found(
    client: httpx.AsyncClient, committed_db: AsyncSession, admin: Headers, clock: FrozenClock
) -> None:
    machine, elsewhere = await make_machine(committed_db), await make_machine(committed_db)
    member = await make_member(committed_db, balance_cents=1000)
    await grant(committed_db, machine, member)
    assert member.card_uid is not None
    opened = await sessions.start(
        committed_db,
        device_id=machine.id,
        card_uid=member.card_uid,
        now=clock.now(),
        heartbeat_period=timedelta(seconds=30),
        request_id=None,
    )
    await sessions.admin_end(
        committed_db, session_id=opened.session_id, now=clock.now(), actor=Actor.person("t")
    )
    await sessions.mark_told(committed_db, [opened.session_id], now=clock.now())
    await committed_db.commit()
    end = f"sessions/{opened.session_id}/end"

    again = await client.post(f"/admin/machines/{machine.slug}/{end}", headers=admin)
    on_another = await client.post(f"/admin/machines/{elsewhere.slug}/{end}", headers=admin)

    assert again.status_code == 409
    assert "This session has ended already." in again.text
    assert on_another.status_code == 404


async def test_a_sub_admin_is_told_that_own_prices_are_for_admins(
    client: httpx.AsyncClient, committed_db: AsyncSession, session_for: SessionFor
) -> None:
    machine = await make_machine(committed_db)
    member = await make_member(committed_db)
    await grant(committed_db, machine, member, TariffOverride(price_per_minute_cents=5))
    sam = unique_slug("sam")
    await machines.add_sub_admin(committed_db, machine.id, sam, now=T0, actor=TESTER)
    await committed_db.commit()
    revoke = f"/admin/machines/{machine.slug}/authorizations/{member.member_id}/revoke"

    refused = await client.post(revoke, headers=session_for(sam))

    assert refused.status_code == 403
    assert "Only an admin sets a member&#39;s own prices" in refused.text
    still = await machines.authorization(
        committed_db, device_id=machine.id, member_id=member.member_id
    )
    assert still.price_per_minute_cents == 5
