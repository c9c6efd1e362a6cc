"""Admin member management over HTTP: search, create, contact and credit limit, cards, PINs,
login links and balance corrections, on both databases.

The app reads through its own engine: setup done with `committed_db` is committed before the
app is called, and reads through it are committed after (on SQLite an open transaction there
would hold the write lock the app waits for).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import bcrypt
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, pins
from core.errors import CardBlocked
from core.models import Card, LedgerEntry, Member
from tests.api.conftest import Headers
from tests.factories import assert_ledger_matches_balances, make_member, unique_slug, unique_uid

MEMBERS = "/api/v1/admin/members"
NOBODY = 10**15


async def _entries(db: AsyncSession, member_id: int) -> list[Any]:
    rows = await db.execute(
        select(
            LedgerEntry.kind,
            LedgerEntry.amount_cents,
            LedgerEntry.balance_after_cents,
            LedgerEntry.note,
            LedgerEntry.actor,
        )
        .where(LedgerEntry.member_id == member_id)
        .order_by(LedgerEntry.id)
    )
    entries = list(rows.all())
    await db.commit()
    return entries


async def _member_row(db: AsyncSession, member_id: int) -> Any:
    row = (await db.execute(select(Member).where(Member.id == member_id))).scalar_one()
    await db.commit()
    return row


async def _new_member(db: AsyncSession, **fields: Any) -> int:
    created = await make_member(db, **fields)
    await db.commit()
    return created.member_id


def _subject(headers: Headers, app: FastAPI) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    subject: str = app.state.signer.verify(token, now=app.state.clock.now()).subject
    return subject


def _field_of(response: httpx.Response) -> list[str]:
    """The fields a 422 complains about (`loc` is `["body", field, ...]` or `["path", …]`)."""
    assert response.status_code == 422, response.text
    return sorted({str(error["loc"][1]) for error in response.json()["detail"]})


# --- who may ---


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", MEMBERS),
        ("POST", MEMBERS),
        ("GET", f"{MEMBERS}/1"),
        ("PATCH", f"{MEMBERS}/1"),
        ("PUT", f"{MEMBERS}/1/pin"),
        ("POST", f"{MEMBERS}/1/corrections"),
        ("DELETE", f"{MEMBERS}/1/login"),
    ],
)
async def test_member_admin_needs_a_login_and_the_admin_role(
    client: httpx.AsyncClient, product_manager: Headers, method: str, path: str
) -> None:
    anonymous = await client.request(method, path, json={})
    not_admin = await client.request(method, path, json={}, headers=product_manager)

    assert anonymous.status_code == 401
    assert not_admin.status_code == 403


# --- create, read, search ---


async def test_an_admin_creates_a_member_with_a_card_and_an_opening_balance(
    client: httpx.AsyncClient, admin: Headers, app: FastAPI, committed_db: AsyncSession
) -> None:
    uid = unique_uid()

    created = await client.post(
        MEMBERS,
        headers=admin,
        json={
            "name": "  Ada Lovelace ",
            "email": "ada@example.org",
            "card_uid": ":".join(re.findall("..", uid.lower())),
            "opening_balance_cents": 1500,
        },
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["email"], body["balance_cents"]) == (
        "Ada Lovelace",
        "ada@example.org",
        1500,
    )
    assert [(c["uid"], c["blocked"]) for c in body["cards"]] == [(uid, False)]
    assert (body["has_pin"], body["oidc_subject"], body["credit_limit_cents"]) == (False, None, 0)
    fetched = await client.get(f"{MEMBERS}/{body['id']}", headers=admin)
    assert fetched.json() == body
    assert await _entries(committed_db, body["id"]) == [
        ("opening", 1500, 1500, "opening balance", _subject(admin, app))
    ]


async def test_creating_a_member_with_a_taken_card_is_409_and_creates_nobody(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    uid = unique_uid()
    await _new_member(committed_db, card=uid)
    name = unique_slug("copycat")

    refused = await client.post(MEMBERS, headers=admin, json={"name": name, "card_uid": uid})

    assert refused.status_code == 409
    assert refused.json()["error"] == "conflict"
    found = await client.get(MEMBERS, headers=admin, params={"q": name})
    assert found.json()["items"] == []


async def test_search_matches_name_email_or_card_uid_and_pages_newest_first(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    tag = unique_slug("zq")
    uid = unique_uid()
    ids = [
        await _new_member(committed_db, name=f"Alpha {tag}"),
        await _new_member(committed_db, name=f"Beta {tag.upper()}"),
        await _new_member(committed_db, name=f"Gamma {tag}"),
        await _new_member(committed_db, name="Delta", card=uid),
    ]
    await client.patch(f"{MEMBERS}/{ids[3]}", headers=admin, json={"email": f"{tag}@example.org"})

    first = (await client.get(MEMBERS, headers=admin, params={"q": tag, "limit": 3})).json()
    rest = (
        await client.get(
            MEMBERS,
            headers=admin,
            params={"q": tag, "limit": 3, "before_id": first["next_before_id"]},
        )
    ).json()
    by_uid = (await client.get(MEMBERS, headers=admin, params={"q": uid[-8:].lower()})).json()

    assert [m["id"] for m in first["items"]] == [ids[3], ids[2], ids[1]]
    assert [m["id"] for m in rest["items"]] == [ids[0]]
    assert rest["next_before_id"] is None
    assert [m["id"] for m in by_uid["items"]] == [ids[3]]


async def test_search_takes_like_wildcards_literally(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    tag = unique_slug("pct")
    await _new_member(committed_db, name=f"{tag} 100%")
    await _new_member(committed_db, name=f"{tag} 1000")

    found = (await client.get(MEMBERS, headers=admin, params={"q": f"{tag} 100%"})).json()

    assert [m["name"] for m in found["items"]] == [f"{tag} 100%"]


async def test_unknown_member_ids_are_404_and_ids_beyond_bigint_are_422(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    answers = [
        await client.get(f"{MEMBERS}/{NOBODY}", headers=admin),
        await client.patch(f"{MEMBERS}/{NOBODY}", headers=admin, json={"name": "X"}),
        await client.post(f"{MEMBERS}/{NOBODY}/cards", headers=admin, json={"uid": unique_uid()}),
        await client.post(f"{MEMBERS}/{NOBODY}/cards/1/block", headers=admin),
        await client.put(f"{MEMBERS}/{NOBODY}/pin", headers=admin, json={"pin": "2468"}),
        await client.delete(f"{MEMBERS}/{NOBODY}/pin", headers=admin),
        await client.post(
            f"{MEMBERS}/{NOBODY}/corrections",
            headers=admin,
            json={"amount_cents": 100, "reason": "test"},
        ),
        await client.put(f"{MEMBERS}/{NOBODY}/login", headers=admin, json={"subject": "x"}),
        await client.delete(f"{MEMBERS}/{NOBODY}/login", headers=admin),
    ]
    too_big = await client.get(f"{MEMBERS}/{2**63}", headers=admin)

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert {a.json()["error"] for a in answers} == {"not_found"}
    assert _field_of(too_big) == ["member_id"]


# --- contact and credit limit ---


async def test_patch_changes_only_the_fields_sent_and_a_null_email_removes_it(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member_id = await _new_member(committed_db, name="Before")
    await client.patch(f"{MEMBERS}/{member_id}", headers=admin, json={"email": "a@example.org"})

    renamed = await client.patch(f"{MEMBERS}/{member_id}", headers=admin, json={"name": "After"})
    cleared = await client.patch(f"{MEMBERS}/{member_id}", headers=admin, json={"email": None})

    assert (renamed.json()["name"], renamed.json()["email"]) == ("After", "a@example.org")
    assert (cleared.json()["name"], cleared.json()["email"]) == ("After", None)


async def test_a_credit_limit_below_the_current_debt_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member_id = await _new_member(committed_db)
    path = f"{MEMBERS}/{member_id}"
    await client.patch(path, headers=admin, json={"credit_limit_cents": 500})
    await client.post(
        f"{path}/corrections", headers=admin, json={"amount_cents": -300, "reason": "debt"}
    )

    refused = await client.patch(
        path, headers=admin, json={"name": "Renamed", "credit_limit_cents": 200}
    )
    enough = await client.patch(path, headers=admin, json={"credit_limit_cents": 300})

    assert refused.status_code == 409
    assert refused.json()["balance_cents"] == -300
    assert enough.status_code == 200
    assert (enough.json()["name"], enough.json()["credit_limit_cents"]) == ("Ada Lovelace", 300)


# --- balance corrections ---


async def test_a_correction_is_one_ledger_entry_with_the_reason_and_the_admin_as_actor(
    client: httpx.AsyncClient, admin: Headers, app: FastAPI, committed_db: AsyncSession
) -> None:
    member_id = await _new_member(committed_db, balance_cents=1000)

    booked = await client.post(
        f"{MEMBERS}/{member_id}/corrections",
        headers=admin,
        json={"amount_cents": -250, "reason": "  Kaffee doppelt gebucht ☕ "},
    )

    assert booked.status_code == 201, booked.text
    assert booked.json() == {
        "member_id": member_id,
        "amount_cents": -250,
        "reason": "Kaffee doppelt gebucht ☕",
        "balance_cents": 750,
    }
    entries = await _entries(committed_db, member_id)
    assert entries[1:] == [
        ("correction", -250, 750, "Kaffee doppelt gebucht ☕", _subject(admin, app))
    ]
    assert sum(entry.amount_cents for entry in entries) == 750
    assert (await _member_row(committed_db, member_id)).balance_cents == 750
    await assert_ledger_matches_balances(committed_db)
    await committed_db.commit()


async def test_a_correction_below_the_credit_limit_is_409_insufficient_funds_and_books_nothing(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member_id = await _new_member(committed_db, balance_cents=100)

    refused = await client.post(
        f"{MEMBERS}/{member_id}/corrections",
        headers=admin,
        json={"amount_cents": -101, "reason": "too much"},
    )

    assert refused.status_code == 409
    assert refused.json()["error"] == "insufficient_funds"
    assert refused.json()["balance_cents"] == 100
    assert [e.kind for e in await _entries(committed_db, member_id)] == ["opening"]


# --- cards ---


async def test_adding_a_card_normalizes_the_uid_and_a_taken_or_malformed_uid_is_refused(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member_id = await _new_member(committed_db)
    uid = unique_uid()
    path = f"{MEMBERS}/{member_id}/cards"

    added = await client.post(path, headers=admin, json={"uid": f" {uid.lower()} "})
    again = await client.post(path, headers=admin, json={"uid": uid})
    malformed = await client.post(path, headers=admin, json={"uid": "04-A1-B2-ZZ"})

    assert added.status_code == 201
    assert (added.json()["uid"], added.json()["blocked"]) == (uid, False)
    assert (again.status_code, again.json()["card"]) == (409, uid)
    assert _field_of(malformed) == ["uid"]


async def test_a_blocked_card_is_refused_at_devices_until_unblocked(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    uid = unique_uid()
    member_id = await _new_member(committed_db, card=uid)
    card_id = (await client.get(f"{MEMBERS}/{member_id}", headers=admin)).json()["cards"][0]["id"]
    card_path = f"{MEMBERS}/{member_id}/cards/{card_id}"

    blocked = await client.post(f"{card_path}/block", headers=admin)
    with pytest.raises(CardBlocked):
        await cards.identify(committed_db, uid)
    await committed_db.commit()
    unblocked = await client.post(f"{card_path}/unblock", headers=admin)
    holder = await cards.identify(committed_db, uid)
    await committed_db.commit()

    assert (blocked.status_code, blocked.json()["blocked"]) == (200, True)
    assert (unblocked.status_code, unblocked.json()["blocked"]) == (200, False)
    assert holder.member_id == member_id


async def test_a_card_of_another_member_is_404_and_stays_as_it_is(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    uid = unique_uid()
    await _new_member(committed_db, card=uid)
    other = await _new_member(committed_db)
    card_id = await committed_db.scalar(select(Card.id).where(Card.uid == uid))
    await committed_db.commit()

    refused = await client.post(f"{MEMBERS}/{other}/cards/{card_id}/block", headers=admin)

    assert refused.status_code == 404
    assert (await cards.identify(committed_db, uid)).card_id == card_id
    await committed_db.commit()


# --- PIN ---


async def test_a_pin_is_stored_as_bcrypt_and_never_in_a_response_or_the_logs(
    client: httpx.AsyncClient,
    admin: Headers,
    committed_db: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member_id = await _new_member(committed_db)
    path = f"{MEMBERS}/{member_id}/pin"
    caplog.set_level(logging.DEBUG)

    answers = [
        await client.put(path, headers=admin, json={"pin": "918273"}),
        await client.put(path, headers=admin, json={"pin": "9182736450"}),
        await client.put(path, headers=admin, json={"pin": "91827x"}),
        await client.put(path, headers=admin, json="91827"),
        await client.get(f"{MEMBERS}/{member_id}", headers=admin),
    ]

    assert [a.status_code for a in answers] == [204, 422, 422, 422, 200]
    assert answers[-1].json()["has_pin"] is True
    stored = (await _member_row(committed_db, member_id)).pin_hash
    assert bcrypt.checkpw(b"918273", stored.encode())
    said = " ".join(a.text for a in answers)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in ("918273", "9182736450", "91827x", "91827"):
        # Whole tokens: a logged hex address could contain the digits by chance.
        assert not re.search(rf"(?<![0-9A-Za-z]){secret}(?![0-9A-Za-z])", f"{said} {logged}")


async def test_clearing_the_pin_also_clears_the_lock(
    client: httpx.AsyncClient, admin: Headers, app: FastAPI, committed_db: AsyncSession
) -> None:
    member_id = await _new_member(committed_db)
    path = f"{MEMBERS}/{member_id}"
    await client.put(f"{path}/pin", headers=admin, json={"pin": "2468"})
    for _ in range(pins.MAX_FAILURES):
        await pins.verify(committed_db, member_id, "1357", now=app.state.clock.now())
    await committed_db.commit()

    locked = (await client.get(path, headers=admin)).json()
    cleared = await client.delete(f"{path}/pin", headers=admin)
    after = (await client.get(path, headers=admin)).json()

    assert locked["has_pin"] is True
    assert locked["pin_failures"] == pins.MAX_FAILURES
    assert locked["pin_locked_until"] is not None
    assert cleared.status_code == 204
    assert (after["has_pin"], after["pin_failures"], after["pin_locked_until"]) == (False, 0, None)


# --- login link ---


async def test_an_admin_moves_a_login_from_one_member_to_another_in_two_steps(
    client: httpx.AsyncClient,
    admin: Headers,
    committed_db: AsyncSession,
) -> None:
    wrong = await _new_member(committed_db, name="Wrong")
    right = await _new_member(committed_db, name="Right")
    subject = unique_slug("login")
    await client.put(f"{MEMBERS}/{wrong}/login", headers=admin, json={"subject": subject})

    taken = await client.put(f"{MEMBERS}/{right}/login", headers=admin, json={"subject": subject})
    unlinked = await client.delete(f"{MEMBERS}/{wrong}/login", headers=admin)
    moved = await client.put(f"{MEMBERS}/{right}/login", headers=admin, json={"subject": subject})

    assert taken.status_code == 409
    assert (taken.json()["error"], taken.json()["member_id"]) == ("subject_linked", wrong)
    assert unlinked.status_code == 204
    assert (moved.status_code, moved.json()["oidc_subject"]) == (200, subject)
    assert (await _member_row(committed_db, wrong)).oidc_subject is None
    summary = (await client.get(MEMBERS, headers=admin, params={"q": "Right"})).json()
    assert {m["id"]: m["login_linked"] for m in summary["items"]}[right] is True


# --- what is refused as 422, naming the field ---

CREATE = ("POST", MEMBERS)
PATCH = ("PATCH", f"{MEMBERS}/{NOBODY}")
CORRECT = ("POST", f"{MEMBERS}/{NOBODY}/corrections")
LINK = ("PUT", f"{MEMBERS}/{NOBODY}/login")


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        (CREATE, {"name": ""}, "name"),
        (CREATE, {"name": "   "}, "name"),
        (CREATE, {"name": "Null\x00byte"}, "name"),
        (CREATE, {"name": "Eve\u202egnp.exe"}, "name"),
        (CREATE, {"name": "Ev\u200be"}, "name"),
        (CREATE, {"name": "x" * 201}, "name"),
        (CREATE, {"name": "Ada", "email": "not an address"}, "email"),
        (CREATE, {"name": "Ada", "card_uid": "04A1B2"}, "card_uid"),
        (CREATE, {"name": "Ada", "opening_balance_cents": -1}, "opening_balance_cents"),
        (CREATE, {"name": "Ada", "opening_balance_cents": 2**64}, "opening_balance_cents"),
        (CREATE, {"name": "Ada", "role": "admin"}, "role"),
        (PATCH, {"name": None}, "name"),
        (PATCH, {"credit_limit_cents": None}, "credit_limit_cents"),
        (PATCH, {"credit_limit_cents": -1}, "credit_limit_cents"),
        (PATCH, {"credit_limit_cents": 10**12}, "credit_limit_cents"),
        (PATCH, {"credit_limit_cents": True}, "credit_limit_cents"),
        (PATCH, {"balance_cents": 100}, "balance_cents"),
        (CORRECT, {"amount_cents": 0, "reason": "nothing"}, "amount_cents"),
        (CORRECT, {"amount_cents": 2**63, "reason": "huge"}, "amount_cents"),
        (CORRECT, {"amount_cents": -(10**9), "reason": "huge"}, "amount_cents"),
        (CORRECT, {"amount_cents": 1.5, "reason": "fraction"}, "amount_cents"),
        (CORRECT, {"amount_cents": "100", "reason": "a string"}, "amount_cents"),
        (CORRECT, {"amount_cents": 100}, "reason"),
        (CORRECT, {"amount_cents": 100, "reason": " "}, "reason"),
        (CORRECT, {"amount_cents": 100, "reason": "a\x00b"}, "reason"),
        (CORRECT, {"amount_cents": 100, "reason": "a\ufeffb"}, "reason"),
        (CORRECT, {"amount_cents": 100, "reason": "line\nbreak"}, "reason"),
        (CORRECT, {"amount_cents": 100, "reason": "x" * 501}, "reason"),
        (CORRECT, {"amount_cents": 100, "reason": "ok", "actor": "someone"}, "actor"),
        (LINK, {"subject": ""}, "subject"),
        (LINK, {"subject": "with space"}, "subject"),
        (LINK, {"subject": "x" * 256}, "subject"),
        (LINK, {"subject": "ünï"}, "subject"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient,
    admin: Headers,
    route: tuple[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    method, path = route

    refused = await client.request(method, path, headers=admin, json=body)

    assert _field_of(refused) == [field]
