"""The sub-admin rule on a real database: others' access at the tariff, never own prices, never
themselves; and the lookup that shows them only what granting needs."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import machines, members
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.devices import DeviceRef
from core.errors import NotAuthorized, NotFound
from core.members import NewMember
from core.sub_admins import OwnAuthorization, PricesAdminOnly, find_members
from tests.factories import T0, TESTER, grant, make_machine, make_member, unique_slug, unique_uid

TARIFF = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)


async def _keeper(db: AsyncSession, machine: DeviceRef) -> tuple[str, NewMember]:
    """A sub-admin of the machine whose login is linked to a member."""
    subject = unique_slug("keeper")
    member = await make_member(db, name="Keeper")
    await members.link_login(db, member.member_id, subject, actor=TESTER, now=T0)
    await machines.add_sub_admin(db, machine.id, subject, now=T0, actor=TESTER)
    return subject, member


async def _authorize(
    db: AsyncSession,
    machine: DeviceRef,
    member: NewMember,
    override: TariffOverride,
    sub_admin: str | None,
) -> bool:
    return await machines.authorize(
        db,
        device_id=machine.id,
        member_id=member.member_id,
        override=override,
        now=T0,
        actor=Actor.person(sub_admin or "admin"),
        sub_admin=sub_admin,
    )


@pytest.mark.parametrize("override", [TariffOverride(), TariffOverride(price_per_minute_cents=0)])
async def test_a_sub_admin_cannot_authorize_themselves(
    db: AsyncSession, override: TariffOverride
) -> None:
    machine = await make_machine(db, TARIFF)
    subject, own = await _keeper(db, machine)

    with pytest.raises(OwnAuthorization, match="their own authorization"):
        await _authorize(db, machine, own, override, subject)

    with pytest.raises(NotAuthorized, match="not authorized"):
        await machines.tariff_for(db, device_id=machine.id, member_id=own.member_id)


async def test_a_sub_admin_cannot_revoke_their_own_authorization(db: AsyncSession) -> None:
    machine = await make_machine(db, TARIFF)
    subject, own = await _keeper(db, machine)
    await grant(db, machine, own)

    with pytest.raises(OwnAuthorization):
        await machines.revoke(
            db,
            device_id=machine.id,
            member_id=own.member_id,
            sub_admin=subject,
            actor=TESTER,
            now=T0,
        )

    assert await machines.tariff_for(db, device_id=machine.id, member_id=own.member_id) == TARIFF


async def test_a_sub_admin_cannot_give_anyone_own_prices(db: AsyncSession) -> None:
    machine = await make_machine(db, TARIFF)
    subject, _ = await _keeper(db, machine)
    other = await make_member(db)

    with pytest.raises(PricesAdminOnly, match="machine's tariff"):
        await _authorize(db, machine, other, TariffOverride(login_fee_cents=0), subject)

    with pytest.raises(NotFound):
        await machines.authorization(db, device_id=machine.id, member_id=other.member_id)


async def test_a_sub_admin_can_neither_replace_nor_revoke_own_prices_an_admin_gave(
    db: AsyncSession,
) -> None:
    machine = await make_machine(db, TARIFF)
    subject, _ = await _keeper(db, machine)
    other = await make_member(db)
    cheap = TariffOverride(price_per_minute_cents=5)
    await grant(db, machine, other, cheap)

    with pytest.raises(PricesAdminOnly, match="only an admin"):
        await _authorize(db, machine, other, TariffOverride(), subject)
    with pytest.raises(PricesAdminOnly):
        await machines.revoke(
            db,
            device_id=machine.id,
            member_id=other.member_id,
            sub_admin=subject,
            actor=TESTER,
            now=T0,
        )

    kept = await machines.authorization(db, device_id=machine.id, member_id=other.member_id)
    assert kept.override == cheap


async def test_a_sub_admin_grants_another_member_the_machines_tariff(db: AsyncSession) -> None:
    machine = await make_machine(db, TARIFF)
    subject, _ = await _keeper(db, machine)
    other = await make_member(db)

    created = await _authorize(db, machine, other, TariffOverride(), subject)
    await machines.revoke(
        db, device_id=machine.id, member_id=other.member_id, sub_admin=subject, actor=TESTER, now=T0
    )
    again = await _authorize(db, machine, other, TariffOverride(), subject)

    assert (created, again) == (True, True)
    assert await machines.tariff_for(db, device_id=machine.id, member_id=other.member_id) == TARIFF


async def test_an_admin_authorizes_themselves_at_own_prices(db: AsyncSession) -> None:
    machine = await make_machine(db, TARIFF)
    _, own = await _keeper(db, machine)

    await _authorize(db, machine, own, TariffOverride(price_per_minute_cents=0), None)

    effective = await machines.tariff_for(db, device_id=machine.id, member_id=own.member_id)
    assert effective == Tariff(login_fee_cents=100, price_per_minute_cents=0, interval_min=15)


async def test_a_lookup_finds_by_part_of_a_name_or_a_whole_card_and_says_who_is_authorized(
    db: AsyncSession,
) -> None:
    machine = await make_machine(db)
    surname = unique_slug("Surname")
    uid = unique_uid()
    ada = await make_member(db, name=f"Ada {surname}", card=uid)
    grace = await make_member(db, name=f"Grace {surname}")
    await members.add_card(db, grace.member_id, unique_uid(), now=T0, actor=TESTER)
    await grant(db, machine, ada)

    by_name = await find_members(db, device_id=machine.id, query=surname.upper(), limit=10)
    spaced = " ".join(uid[i : i + 2] for i in range(0, len(uid), 2)).lower()
    by_card = await find_members(db, device_id=machine.id, query=spaced, limit=10)
    by_fragment = await find_members(db, device_id=machine.id, query=uid[:6], limit=10)

    assert [(c.id, c.authorized, len(c.card_endings)) for c in by_name] == [
        (grace.member_id, False, 2),
        (ada.member_id, True, 1),
    ]
    assert by_name[1].card_endings == [uid[-4:]]
    assert [c.id for c in by_card] == [ada.member_id]
    assert by_fragment == []


async def test_a_lookup_shows_no_blocked_card_and_never_matches_an_email(db: AsyncSession) -> None:
    machine = await make_machine(db)
    name = unique_slug("Hidden")
    member = await make_member(db, name=name)
    await members.set_contact(
        db, member.member_id, name=name, email=f"{name}-mail@example.org", actor=TESTER, now=T0
    )
    detail = await members.detail(db, member.member_id, now=T0)
    await members.set_card_blocked(
        db, member.member_id, detail.cards[0].id, blocked=True, actor=TESTER, now=T0
    )

    found = await find_members(db, device_id=machine.id, query=name, limit=10)
    by_email = await find_members(db, device_id=machine.id, query=f"{name}-mail", limit=10)

    assert [(c.id, c.card_endings) for c in found] == [(member.member_id, [])]
    assert by_email == []


@pytest.mark.parametrize("query", ["", " ", "a", " b "])
async def test_a_lookup_needs_two_characters(db: AsyncSession, query: str) -> None:
    machine = await make_machine(db)

    with pytest.raises(ValueError, match="at least 2"):
        await find_members(db, device_id=machine.id, query=query, limit=10)
