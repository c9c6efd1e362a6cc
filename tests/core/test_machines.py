"""Machines as the pages read them: one machine by id, whether a grant has own prices."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core import machines
from core.billing import Tariff, TariffOverride
from tests.factories import grant, make_machine, make_member


async def test_listing_one_machine_by_id_gives_it_with_its_tariff(db: AsyncSession) -> None:
    wanted = await make_machine(db, Tariff(100, 20, 15))
    await make_machine(db)

    found = await machines.list_machines(db, device_id=wanted.id)

    assert [(machine.slug, machine.tariff) for machine in found] == [
        (wanted.slug, Tariff(100, 20, 15))
    ]


async def test_a_grant_has_own_prices_only_when_one_is_set(db: AsyncSession) -> None:
    machine = await make_machine(db)
    plain, cheaper = await make_member(db), await make_member(db)
    await grant(db, machine, plain)
    await grant(db, machine, cheaper, TariffOverride(price_per_minute_cents=10))

    grants = await machines.authorizations(db, machine.id, limit=10)

    assert {found.member_id: found.has_own_prices for found in grants} == {
        plain.member_id: False,
        cheaper.member_id: True,
    }
