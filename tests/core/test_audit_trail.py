"""Every admin action writes one audit row, in its own transaction, by the service that makes
the change: who, what, old → new and a note; never a PIN, password or token."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import (
    api_tokens,
    audit,
    checkout,
    devices,
    machines,
    members,
    pins,
    products,
    rentals,
    sessions,
    stock,
)
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.clock import FrozenClock
from core.formats import CATEGORY_MAX, DeviceKind
from core.models import AuditEvent, Member
from core.origin import Origin
from tests.core.test_products import make_product
from tests.core.test_sessions import _start as start_session
from tests.factories import (
    T0,
    grant,
    make_device,
    make_machine,
    make_member,
    unique_ean,
    unique_slug,
    unique_tid,
    unique_uid,
)

ADA = Actor.person("ada-subject", "Ada Lovelace")
Line = tuple[str, str, str | None, str | None, str | None]


async def trail(db: AsyncSession, entity: str, entity_id: int | str) -> list[Line]:
    """What the trail says about one thing, oldest first: who, action, old, new, note."""
    page = await audit.events(db, limit=50, entity=entity, entity_id=entity_id)
    return [
        (event.actor.label, event.action, event.old_value, event.new_value, event.note)
        for event in reversed(page.items)
    ]


async def last_id(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.max(AuditEvent.id))) or 0)


async def everything_said(db: AsyncSession, *, after_id: int = 0) -> str:
    """Every value and note of the trail written after `after_id` as one text (for what must
    never be in it; other tests' rows in the shared database are left out)."""
    rows = await db.execute(
        select(AuditEvent.old_value, AuditEvent.new_value, AuditEvent.note).where(
            AuditEvent.id > after_id
        )
    )
    return "\n".join(str(value) for row in rows.all() for value in row)


async def test_a_balance_correction_names_the_admin_the_balances_and_the_reason(
    db: AsyncSession,
) -> None:
    member = await make_member(db, balance_cents=1000)

    await members.correct_balance(
        db, member.member_id, -250, reason="broken cup", now=T0, actor=ADA
    )

    page = await audit.events(db, limit=1, entity="member", entity_id=member.member_id)
    event = page.items[0]
    assert (event.actor.kind, event.actor.id, event.actor.name) == (
        "person",
        "ada-subject",
        "Ada Lovelace",
    )
    assert (event.at, event.action, event.old_value, event.new_value, event.note) == (
        T0,
        "correct_balance",
        "balance_cents=1000",
        "balance_cents=750",
        "broken cup",
    )


async def test_a_credit_limit_change_keeps_the_old_and_the_new_limit(db: AsyncSession) -> None:
    member = await make_member(db)

    await members.set_credit_limit(db, member.member_id, 2000, actor=ADA, now=T0)

    assert (await trail(db, "member", member.member_id))[-1] == (
        "Ada Lovelace",
        "set_credit_limit",
        "credit_limit_cents=0",
        "credit_limit_cents=2000",
        None,
    )


async def test_pin_set_reset_and_clear_say_whether_there_is_a_pin_never_which(
    db: AsyncSession,
) -> None:
    member = await make_member(db)
    before = await last_id(db)

    await pins.set_pin(db, member.member_id, "73915286", actor=ADA, now=T0, rounds=4)
    await pins.set_pin(db, member.member_id, "64208531", actor=ADA, now=T0, rounds=4)
    pin_hash = await db.scalar(select(Member.pin_hash).where(Member.id == member.member_id))
    await pins.clear_pin(db, member.member_id, actor=ADA, now=T0)

    assert (await trail(db, "member", member.member_id))[-3:] == [
        ("Ada Lovelace", "set_pin", "has_pin=false", "has_pin=true", None),
        ("Ada Lovelace", "reset_pin", "has_pin=true", "has_pin=true", None),
        ("Ada Lovelace", "clear_pin", "has_pin=true", "has_pin=false", None),
    ]
    said = await everything_said(db, after_id=before)
    assert "73915286" not in said
    assert "64208531" not in said
    assert str(pin_hash) not in said


async def test_blocking_and_unblocking_a_card_names_the_card(db: AsyncSession) -> None:
    uid = unique_uid()
    member = await make_member(db, card=uid)
    card = (await members.cards(db, member.member_id))[0]

    await members.set_card_blocked(db, member.member_id, card.id, blocked=True, actor=ADA, now=T0)
    await members.set_card_blocked(db, member.member_id, card.id, blocked=False, actor=ADA, now=T0)

    assert (await trail(db, "member", member.member_id))[-2:] == [
        (
            "Ada Lovelace",
            "block_card",
            f"card={uid} blocked=false",
            f"card={uid} blocked=true",
            None,
        ),
        (
            "Ada Lovelace",
            "unblock_card",
            f"card={uid} blocked=true",
            f"card={uid} blocked=false",
            None,
        ),
    ]


async def test_a_member_added_by_an_admin_is_recorded_with_the_opening_balance(
    db: AsyncSession,
) -> None:
    created = await members.add_member(
        db, name="Grace Hopper", opening_balance_cents=500, now=T0, actor=ADA
    )

    assert await trail(db, "member", created.member_id) == [
        ("Ada Lovelace", "create", None, "name=Grace Hopper card=none balance_cents=500", None)
    ]


async def test_a_card_registered_at_a_terminal_names_the_terminal(db: AsyncSession) -> None:
    terminal = Actor.device(unique_slug("checkout"))

    created = await checkout.register_card(
        db, card_uid=unique_uid(), name="Alan", now=T0, actor=terminal
    )

    page = await audit.events(db, limit=1, entity="member", entity_id=created.member_id)
    assert (page.items[0].actor, page.items[0].action) == (terminal, "create")


async def test_a_tariff_change_keeps_the_old_and_the_new_prices(db: AsyncSession) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))

    await machines.set_tariff(db, machine.id, Tariff(150, 25, 10), now=T0, actor=ADA)

    assert (await trail(db, "device", machine.slug))[-1] == (
        "Ada Lovelace",
        "set_tariff",
        "login_fee_cents=100 price_per_minute_cents=20 interval_min=15",
        "login_fee_cents=150 price_per_minute_cents=25 interval_min=10",
        None,
    )


async def test_an_authorization_granted_changed_and_revoked_keeps_the_own_prices(
    db: AsyncSession,
) -> None:
    machine = await make_machine(db)
    member = await make_member(db)

    async def authorize(override: TariffOverride) -> None:
        await machines.authorize(
            db,
            device_id=machine.id,
            member_id=member.member_id,
            override=override,
            now=T0,
            actor=ADA,
        )

    await authorize(TariffOverride())
    await authorize(TariffOverride(price_per_minute_cents=5))
    await machines.revoke(db, device_id=machine.id, member_id=member.member_id, actor=ADA, now=T0)

    default = f"member={member.member_id} login_fee_cents=none price_per_minute_cents=none"
    own = f"member={member.member_id} login_fee_cents=none price_per_minute_cents=5"
    assert (await trail(db, "device", machine.slug))[-3:] == [
        ("Ada Lovelace", "authorize", None, f"{default} interval_min=none", None),
        (
            "Ada Lovelace",
            "change_authorization",
            f"{default} interval_min=none",
            f"{own} interval_min=none",
            None,
        ),
        ("Ada Lovelace", "revoke_authorization", f"{own} interval_min=none", None, None),
    ]


async def test_adding_and_removing_a_sub_admin_names_the_login(db: AsyncSession) -> None:
    machine = await make_machine(db)

    await machines.add_sub_admin(db, machine.id, "grace-subject", now=T0, actor=ADA)
    await machines.remove_sub_admin(db, machine.id, "grace-subject", actor=ADA, now=T0)

    assert (await trail(db, "device", machine.slug))[-2:] == [
        ("Ada Lovelace", "add_sub_admin", None, "sub_admin=grace-subject", None),
        ("Ada Lovelace", "remove_sub_admin", "sub_admin=grace-subject", None, None),
    ]


async def test_a_device_created_rotated_switched_and_removed_is_one_row_each(
    db: AsyncSession,
) -> None:
    slug = unique_slug("reader")

    await devices.create(db, slug=slug, kind=DeviceKind.RENTAL, name="Shelf", now=T0, actor=ADA)
    await devices.mark_rotated(db, slug, now=T0, actor=ADA)
    await devices.set_enabled(db, slug, enabled=False, actor=ADA, now=T0)
    await devices.set_enabled(db, slug, enabled=True, actor=ADA, now=T0)
    await devices.remove(db, slug, actor=ADA, now=T0)

    shelf = "kind=rental name=Shelf enabled=true"
    assert await trail(db, "device", slug) == [
        ("Ada Lovelace", "create", None, shelf, None),
        ("Ada Lovelace", "rotate_password", None, None, None),
        ("Ada Lovelace", "disable", "enabled=true", "enabled=false", None),
        ("Ada Lovelace", "enable", "enabled=false", "enabled=true", None),
        ("Ada Lovelace", "remove", shelf, None, None),
    ]


async def test_restock_stocktake_and_correction_keep_the_stock_before_and_after(
    db: AsyncSession,
) -> None:
    product = await make_product(db)
    origin = Origin.of(ADA, now=T0)

    await stock.restock(db, product.ean, 12, origin, reason="delivery")
    await stock.stocktake(db, product.ean, 10, origin, reason="monthly count")
    await stock.correct(db, product.ean, -1, origin, reason="dropped")

    assert (await trail(db, "product", product.ean))[-3:] == [
        ("Ada Lovelace", "restock", "stock=0", "stock=12", "delivery"),
        ("Ada Lovelace", "stocktaking", "stock=12", "stock=10", "monthly count"),
        ("Ada Lovelace", "correction", "stock=10", "stock=9", "dropped"),
    ]


async def test_a_price_change_records_only_what_changed(db: AsyncSession) -> None:
    product = await make_product(db, price_cents=150)

    await products.update_product(
        db, product.ean, name=product.name, price_cents=180, actor=ADA, now=T0
    )
    await products.set_active(db, product.ean, active=False, actor=ADA, now=T0)

    assert (await trail(db, "product", product.ean))[-2:] == [
        ("Ada Lovelace", "update", "price_cents=150", "price_cents=180", None),
        ("Ada Lovelace", "deactivate", "active=true", "active=false", None),
    ]


async def test_a_change_to_nothing_new_writes_no_row(db: AsyncSession) -> None:
    product = await make_product(db, price_cents=150)
    before = await last_id(db)

    await products.update_product(db, product.ean, price_cents=150, actor=ADA, now=T0)

    assert await last_id(db) == before


async def test_contact_cards_and_login_changes_name_the_admin(db: AsyncSession) -> None:
    member = await make_member(db, name="Grace")
    card, login = unique_uid(), unique_slug("grace-login")

    await members.set_contact(
        db, member.member_id, name="Grace Hopper", email="grace@example.org", actor=ADA, now=T0
    )
    await members.set_contact(
        db, member.member_id, name="Grace Hopper", email="grace@example.org", actor=ADA, now=T0
    )
    await members.add_card(db, member.member_id, card, actor=ADA, now=T0)
    await members.link_login(db, member.member_id, login, actor=ADA, now=T0)
    await members.unlink_login(db, member.member_id, actor=ADA, now=T0)
    await members.unlink_login(db, member.member_id, actor=ADA, now=T0)

    assert (await trail(db, "member", member.member_id))[-4:] == [
        (
            "Ada Lovelace",
            "set_contact",
            "name=Grace email=none",
            "name=Grace Hopper email=grace@example.org",
            None,
        ),
        ("Ada Lovelace", "add_card", None, f"card={card}", None),
        ("Ada Lovelace", "link_login", "login=none", f"login={login}", None),
        ("Ada Lovelace", "unlink_login", f"login={login}", "login=none", None),
    ]


async def test_a_new_product_its_aliases_and_a_new_category_are_recorded(
    db: AsyncSession,
) -> None:
    ean, alias, category = unique_ean(), unique_ean(), unique_slug("Drinks")

    await products.create(
        db, ean=ean, name="Mate", price_cents=150, category=category, actor=ADA, now=T0
    )
    await products.add_alias(db, ean, alias, actor=ADA, now=T0)
    await products.remove_alias(db, ean, alias, actor=ADA, now=T0)
    longest = (category + " and more").ljust(CATEGORY_MAX, "s")
    await products.create_category(db, longest, actor=ADA, now=T0)

    created = (
        f"name=Mate price_cents=150 category={category} active=true allow_negative_stock=false"
    )
    assert await trail(db, "product", ean) == [
        ("Ada Lovelace", "create", None, created, None),
        ("Ada Lovelace", "add_alias", None, f"alias={alias}", None),
        ("Ada Lovelace", "remove_alias", f"alias={alias}", None, None),
    ]
    assert await trail(db, "category", longest) == [("Ada Lovelace", "create", None, None, None)]


async def test_a_rental_item_added_taken_out_of_service_and_back_is_recorded(
    db: AsyncSession,
) -> None:
    tid = unique_tid()

    await rentals.add_item(db, tid=tid, name="Drill", description=None, actor=ADA, now=T0)
    await rentals.deactivate(db, tid, actor=ADA, now=T0)
    await rentals.deactivate(db, tid, actor=ADA, now=T0)
    await rentals.reactivate(db, tid, actor=ADA, now=T0)

    assert await trail(db, "rental_item", tid) == [
        ("Ada Lovelace", "create", None, "name=Drill active=true", None),
        ("Ada Lovelace", "deactivate", "active=true", "active=false", None),
        ("Ada Lovelace", "activate", "active=false", "active=true", None),
    ]


async def test_a_rental_permission_granted_and_revoked_is_recorded(db: AsyncSession) -> None:
    member = await make_member(db)

    await rentals.permit(db, member.member_id, actor=ADA, now=T0)
    await rentals.revoke(db, member.member_id, actor=ADA, now=T0)
    await rentals.revoke(db, member.member_id, actor=ADA, now=T0)

    assert (await trail(db, "member", member.member_id))[-2:] == [
        ("Ada Lovelace", "permit_rentals", "may_rent=false", "may_rent=true", None),
        ("Ada Lovelace", "revoke_rentals", "may_rent=true", "may_rent=false", None),
    ]


async def test_an_api_token_created_and_revoked_is_recorded_without_the_token(
    db: AsyncSession,
) -> None:
    name = unique_slug("script").ljust(api_tokens.NAME_MAX, "s")

    _, token = await api_tokens.create(db, name=name, role="admin", now=T0, actor=ADA)
    await api_tokens.revoke(db, name, now=T0, actor=ADA)

    assert await trail(db, "api_token", name) == [
        ("Ada Lovelace", "create", None, "role=admin", None),
        ("Ada Lovelace", "revoke", "live=true", "live=false", None),
    ]
    assert token not in await everything_said(db)


async def test_an_admin_ending_a_session_is_recorded_with_the_bill(
    db: AsyncSession, clock: FrozenClock
) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))
    member = await make_member(db, balance_cents=10_000)
    await grant(db, machine, member)
    running = await start_session(db, machine, member, clock)

    ended = await sessions.admin_end(db, session_id=running.session_id, now=clock.now(), actor=ADA)

    assert await trail(db, "session", running.session_id) == [
        (
            "Ada Lovelace",
            "end",
            f"state=running device={machine.slug} member={member.member_id}",
            f"state=ended total_cents={ended.total_cents} refund_cents={ended.refund_cents}",
            None,
        )
    ]


async def _disable_then_fail(db: AsyncSession, slug: str) -> None:
    """A change whose transaction rolls back after the row was written (a broker refusing)."""
    async with db.begin_nested():
        await devices.set_enabled(db, slug, enabled=False, actor=ADA, now=T0)
        raise RuntimeError("the broker refused")


async def test_a_change_rolled_back_leaves_no_row(db: AsyncSession) -> None:
    device = await make_device(db)

    with pytest.raises(RuntimeError):
        await _disable_then_fail(db, device.slug)

    assert [line[1] for line in await trail(db, "device", device.slug)] == ["create"]
