"""Checkout terminals over the real broker: scans, baskets, retries, card registration and links,
and the `makerbus product` commands."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from makerbus_device import DeviceClient
from sqlalchemy import func, select, update

from core import link_tokens, products
from core.clock import SystemClock
from core.formats import DeviceKind
from core.members import NewMember
from core.models import Card, LinkToken, Member, ProcessedRequest, StockMovement
from core.products import ProductInfo
from makerbus.context import database
from tests.core.test_products import make_product, movements
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_identify import assert_matches_schema
from tests.factories import T0, TESTER, unique_ean, unique_uid


def add_product(
    stack: Stack,
    *,
    price_cents: int = 150,
    stock: int = 0,
    name: str = "Club-Mate 0.5 l",
    category: str | None = None,
    allow_negative_stock: bool = False,
) -> ProductInfo:
    """A product in the stack's database with `stock` units restocked."""

    async def go() -> ProductInfo:
        async with database(stack.settings) as db:
            return await make_product(
                db,
                price_cents=price_cents,
                stock_units=stock,
                name=name,
                category=category,
                allow_negative_stock=allow_negative_stock,
            )

    return run_async(go())


def stock_of(stack: Stack, product: ProductInfo) -> tuple[int, list[tuple[str, int, int]]]:
    """The product's stock and its movements as (kind, delta, stock_after)."""

    async def go() -> tuple[int, list[tuple[str, int, int]]]:
        async with database(stack.settings) as db:
            found = await products.find(db, product.ean)
            return found.stock, await movements(db, product.product_id)

    return run_async(go())


def deactivate(stack: Stack, product: ProductInfo) -> None:
    async def go() -> None:
        async with database(stack.settings) as db:
            await products.set_active(db, product.ean, active=False, actor=TESTER, now=T0)

    run_async(go())


def checkout_device(stack: Stack, mqtt_version: int = 5) -> DeviceClient:
    return stack.device(stack.provision(DeviceKind.CHECKOUT), mqtt_version=mqtt_version)


def _item(product: ProductInfo | str, qty: int) -> dict[str, object]:
    return {"ean": product if isinstance(product, str) else product.ean, "qty": qty}


def test_scan_by_alias_answers_the_product_with_its_primary_ean(stack: Stack) -> None:
    mate = add_product(stack, price_cents=150, stock=12, category=f"Drinks {unique_ean()}")
    alias = unique_ean()
    stack.cli("product", "alias", mate.ean, alias)

    answer = checkout_device(stack).request("product/scan", ean=alias)

    assert answer.raw == {
        "id": answer.id,
        "ok": True,
        "ean": mate.ean,
        "name": mate.name,
        "price_cents": 150,
        "stock": 12,
        "category": mate.category,
        "allow_negative_stock": False,
    }
    assert_matches_schema("product.scan.answer.schema.json", answer.raw)


def test_scan_of_an_unknown_ean_is_unknown_product(stack: Stack) -> None:
    ean = unique_ean()

    answer = checkout_device(stack).request("product/scan", ean=ean)

    assert (answer.error, answer["ean"]) == ("unknown_product", ean)
    assert_matches_schema("product.scan.answer.schema.json", answer.raw)


def test_scan_of_an_inactive_product_is_product_inactive(stack: Stack) -> None:
    mate = add_product(stack)
    deactivate(stack, mate)

    answer = checkout_device(stack).request("product/scan", ean=mate.ean)

    assert (answer.error, answer["ean"]) == ("product_inactive", mate.ean)


@pytest.mark.parametrize("ean", ["1234567", "123456789012345", "4029764OO1807", 4029764001807])
def test_scan_of_a_malformed_ean_is_a_bad_request(stack: Stack, ean: object) -> None:
    answer = checkout_device(stack).request("product/scan", ean=ean)

    assert answer.error == "bad_request"
    assert "ean" in str(answer.message)


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_purchase_charges_the_total_and_moves_stock_once_per_unit(
    stack: Stack, mqtt_version: int
) -> None:
    mate = add_product(stack, price_cents=150, stock=10)
    bar = add_product(stack, price_cents=120, stock=5, name="Chocolate bar")
    member = stack.add_member(balance_cents=1000)
    device = checkout_device(stack, mqtt_version)

    answer = device.request(
        "checkout/purchase", card=member.card_uid, items=[_item(mate, 2), _item(bar, 3)]
    )

    assert answer.raw == {
        "id": answer.id,
        "ok": True,
        "lines": [
            {"ean": mate.ean, "name": mate.name, "qty": 2, "price_cents": 150, "total_cents": 300},
            {"ean": bar.ean, "name": bar.name, "qty": 3, "price_cents": 120, "total_cents": 360},
        ],
        "total_cents": 660,
        "balance_cents": 340,
    }
    assert stack.balance(member) == 340
    assert stock_of(stack, mate) == (8, [("restock", 10, 10), ("purchase", -2, 8)])
    assert stock_of(stack, bar) == (2, [("restock", 5, 5), ("purchase", -3, 2)])
    assert_matches_schema("checkout.purchase.answer.schema.json", answer.raw)
    stack.check_ledger()


def test_purchase_by_alias_and_the_same_ean_twice_is_one_summed_line(stack: Stack) -> None:
    mate = add_product(stack, price_cents=150, stock=10)
    alias = unique_ean()
    stack.cli("product", "alias", mate.ean, alias)
    member = stack.add_member(balance_cents=1000)

    answer = checkout_device(stack).request(
        "checkout/purchase",
        card=member.card_uid,
        items=[_item(alias, 1), _item(mate, 2), _item(alias, 1)],
    )

    assert answer["lines"] == [
        {"ean": mate.ean, "name": mate.name, "qty": 4, "price_cents": 150, "total_cents": 600}
    ]
    assert stock_of(stack, mate) == (6, [("restock", 10, 10), ("purchase", -4, 6)])
    assert stack.balance(member) == 400


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ("unknown", "unknown_product"),
        ("inactive", "product_inactive"),
        ("out_of_stock", "out_of_stock"),
    ],
)
def test_purchase_with_one_bad_line_changes_nothing(stack: Stack, failure: str, code: str) -> None:
    good = add_product(stack, price_cents=100, stock=10)  # the lower id: taken first
    bad = add_product(stack, price_cents=100, stock=1)
    bad_ean = unique_ean() if failure == "unknown" else bad.ean
    if failure == "inactive":
        deactivate(stack, bad)
    member = stack.add_member(balance_cents=1000)

    answer = checkout_device(stack).request(
        "checkout/purchase", card=member.card_uid, items=[_item(good, 3), _item(bad_ean, 2)]
    )

    assert (answer.error, answer["ean"]) == (code, bad_ean)
    if failure == "out_of_stock":
        assert answer["stock"] == 1
    assert stack.balance(member) == 1000
    assert stock_of(stack, good) == (10, [("restock", 10, 10)])
    assert stock_of(stack, bad) == (1, [("restock", 1, 1)])
    assert_matches_schema("checkout.purchase.answer.schema.json", answer.raw)
    stack.check_ledger()


def test_purchase_beyond_the_balance_changes_nothing(stack: Stack) -> None:
    mate = add_product(stack, price_cents=150, stock=10)
    member = stack.add_member(balance_cents=449)

    answer = checkout_device(stack).request(
        "checkout/purchase", card=member.card_uid, items=[_item(mate, 3)]
    )

    assert (answer.error, answer["needed_cents"], answer["balance_cents"]) == (
        "insufficient_funds",
        450,
        449,
    )
    assert stack.balance(member) == 449
    assert stock_of(stack, mate) == (10, [("restock", 10, 10)])


def test_purchase_below_zero_stock_succeeds_only_where_allowed(stack: Stack) -> None:
    trusted = add_product(stack, stock=1, allow_negative_stock=True)
    counted = add_product(stack, stock=1)
    member = stack.add_member(balance_cents=10_000)
    device = checkout_device(stack)

    sold = device.request("checkout/purchase", card=member.card_uid, items=[_item(trusted, 3)])
    refused = device.request("checkout/purchase", card=member.card_uid, items=[_item(counted, 3)])

    assert sold.ok
    assert stock_of(stack, trusted)[0] == -2
    assert (refused.error, refused["stock"]) == ("out_of_stock", 1)
    assert stock_of(stack, counted)[0] == 1


@pytest.mark.parametrize(("blocked", "code"), [(False, "unknown_card"), (True, "card_blocked")])
def test_purchase_with_an_unusable_card_changes_nothing(
    stack: Stack, blocked: bool, code: str
) -> None:
    mate = add_product(stack, stock=1)
    member = stack.add_member(balance_cents=1000)
    card = member.card_uid if blocked else unique_uid()
    if blocked:
        _block(stack, member)

    answer = checkout_device(stack).request("checkout/purchase", card=card, items=[_item(mate, 1)])

    assert answer.error == code
    assert stock_of(stack, mate)[0] == 1


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{"ean": "TAKEN", "qty": 1}] * 51, "items"),
        ([{"ean": "TAKEN", "qty": 0}], "qty"),
        ([{"ean": "TAKEN", "qty": 100}], "qty"),
        ([{"ean": "TAKEN", "qty": "1"}], "qty"),
        ([{"ean": "TAKEN"}], "qty"),
        ([{"ean": "TAKEN", "qty": 1, "price_cents": 0}], "price_cents"),
    ],
)
def test_purchase_of_a_malformed_basket_is_a_bad_request_and_sells_nothing(
    stack: Stack, items: list[dict[str, object]], field: str
) -> None:
    mate = add_product(stack, stock=10)
    member = stack.add_member(balance_cents=1000)
    basket = [{k: mate.ean if v == "TAKEN" else v for k, v in item.items()} for item in items]

    answer = checkout_device(stack).request("checkout/purchase", card=member.card_uid, items=basket)

    assert answer.error == "bad_request"
    assert field in str(answer.message)
    assert stock_of(stack, mate)[0] == 10
    assert stack.balance(member) == 1000


def test_purchase_of_fifty_full_lines_sells_them_all(stack: Stack) -> None:
    goods = [add_product(stack, price_cents=1, stock=99) for _ in range(50)]
    member = stack.add_member(balance_cents=50 * 99)

    answer = checkout_device(stack).request(
        "checkout/purchase", card=member.card_uid, items=[_item(p, 99) for p in goods]
    )

    assert (answer.ok, answer["total_cents"], answer["balance_cents"]) == (True, 50 * 99, 0)
    assert {stock_of(stack, p)[0] for p in goods} == {0}


def test_purchase_retried_with_the_same_id_charges_and_moves_stock_once(stack: Stack) -> None:
    mate = add_product(stack, price_cents=150, stock=10)
    member = stack.add_member(balance_cents=1000)
    device = checkout_device(stack)

    first = device.request(
        "checkout/purchase", request_id="basket-1", card=member.card_uid, items=[_item(mate, 2)]
    )
    retried = device.request(
        "checkout/purchase", request_id="basket-1", card=member.card_uid, items=[_item(mate, 2)]
    )

    assert first.ok
    assert retried.raw == first.raw
    assert stack.balance(member) == 700
    assert stock_of(stack, mate) == (8, [("restock", 10, 10), ("purchase", -2, 8)])
    stack.check_ledger()


def test_purchase_on_a_machine_is_forbidden_op(stack: Stack) -> None:
    mate = add_product(stack, stock=1)
    member = stack.add_member(balance_cents=1000)

    answer = stack.device(stack.provision(DeviceKind.MACHINE)).request(
        "checkout/purchase", card=member.card_uid, items=[_item(mate, 1)]
    )

    assert answer.error == "forbidden_op"
    assert stock_of(stack, mate)[0] == 1


def _block(stack: Stack, member: NewMember) -> None:
    async def go() -> None:
        async with database(stack.settings) as db:
            await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    run_async(go())


def _members_with_card(stack: Stack, uid: str) -> int:
    async def go() -> int:
        async with database(stack.settings) as db:
            count = await db.scalar(select(func.count()).select_from(Card).where(Card.uid == uid))
            return int(count or 0)

    return run_async(go())


def test_register_of_a_new_card_creates_a_member_it_identifies(stack: Stack) -> None:
    uid = unique_uid()
    device = checkout_device(stack)

    registered = device.request("card/register", card=uid.lower(), name="Grace Hopper")
    identified = device.request("card/identify", card=uid)

    assert registered.raw == {
        "id": registered.id,
        "ok": True,
        "member_id": registered["member_id"],
        "name": "Grace Hopper",
        "balance_cents": 0,
    }
    assert (identified["member_id"], identified["name"]) == (
        registered["member_id"],
        "Grace Hopper",
    )
    assert_matches_schema("card.register.answer.schema.json", registered.raw)


def test_register_without_a_name_uses_the_last_four_hex_digits(stack: Stack) -> None:
    uid = unique_uid()

    registered = checkout_device(stack).request("card/register", card=uid)

    assert registered["name"] == f"Member {uid[-4:]}"


def test_register_of_a_known_card_is_card_exists(stack: Stack) -> None:
    member = stack.add_member()

    answer = checkout_device(stack).request("card/register", card=member.card_uid)

    assert answer.error == "card_exists"
    assert_matches_schema("card.register.answer.schema.json", answer.raw)


def test_register_retried_with_the_same_id_creates_one_member(stack: Stack) -> None:
    uid = unique_uid()
    device = checkout_device(stack)

    first = device.request("card/register", request_id="reg-1", card=uid)
    retried = device.request("card/register", request_id="reg-1", card=uid)

    assert first.ok
    assert retried.raw == first.raw
    assert _members_with_card(stack, uid) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_register_with_an_invalid_name_is_a_bad_request(stack: Stack, name: str) -> None:
    uid = unique_uid()

    answer = checkout_device(stack).request("card/register", card=uid, name=name)

    assert answer.error == "bad_request"
    assert _members_with_card(stack, uid) == 0


def _redeem(stack: Stack, token: str, subject: str) -> int:
    async def go() -> int:
        async with database(stack.settings) as db:
            return await link_tokens.redeem(db, token, subject=subject, now=SystemClock().now())

    return run_async(go())


def _stored_tokens(stack: Stack) -> list[str]:
    async def go() -> list[str]:
        async with database(stack.settings) as db:
            return list(await db.scalars(select(LinkToken.token_hash)))

    return run_async(go())


def test_link_of_a_card_answers_a_single_use_url_for_fifteen_minutes(stack: Stack) -> None:
    member = stack.add_member()
    device = checkout_device(stack)

    answer = device.request("card/link", card=member.card_uid)

    url = str(answer["url"])
    prefix = f"{stack.settings.public_url}/link/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    assert answer["expires_s"] == 900
    expires_at = datetime.fromisoformat(str(answer["expires_at"]))
    assert abs(expires_at - SystemClock().now() - timedelta(minutes=15)) < timedelta(seconds=30)
    stored = _stored_tokens(stack)
    assert link_tokens.token_hash(token) in stored
    assert token not in stored
    assert _redeem(stack, token, f"sub-{member.member_id}") == member.member_id
    assert_matches_schema("card.link.answer.schema.json", answer.raw)


def test_link_for_a_member_with_a_login_is_card_linked(stack: Stack) -> None:
    member = stack.add_member()

    async def link_login() -> None:
        async with database(stack.settings) as db:
            await db.execute(
                update(Member)
                .where(Member.id == member.member_id)
                .values(oidc_subject=f"sub-linked-{member.member_id}")
            )

    run_async(link_login())

    answer = checkout_device(stack).request("card/link", card=member.card_uid)

    assert answer.error == "card_linked"
    assert_matches_schema("card.link.answer.schema.json", answer.raw)


def test_link_for_a_blocked_card_is_card_blocked(stack: Stack) -> None:
    member = stack.add_member()
    _block(stack, member)

    answer = checkout_device(stack).request("card/link", card=member.card_uid)

    assert answer.error == "card_blocked"


def _listed(stack: Stack, ean: str) -> dict[str, object]:
    listed = json.loads(stack.cli("product", "list", "--json").stdout)
    (row,) = [row for row in listed if row["ean"] == ean]
    return dict(row)


def _cli_movements(stack: Stack, ean: str) -> list[tuple[str, int, int, str | None, str | None]]:
    async def go() -> list[tuple[str, int, int, str | None, str | None]]:
        async with database(stack.settings) as db:
            product = await products.find(db, ean)
            rows = await db.execute(
                select(
                    StockMovement.kind,
                    StockMovement.delta,
                    StockMovement.stock_after,
                    StockMovement.actor,
                    StockMovement.reason,
                )
                .where(StockMovement.product_id == product.product_id)
                .order_by(StockMovement.id)
            )
            return [(r.kind, r.delta, r.stock_after, r.actor, r.reason) for r in rows.all()]

    return run_async(go())


def test_product_commands_on_a_product_record_every_stock_change(
    stack: Stack,
) -> None:
    ean, alias = unique_ean(), unique_ean()
    category = f"Drinks {ean}"

    stack.cli(
        "product", "add", ean, "--name", "Mate", "--price-cents", "150",
        "--category", category, "--stock", "12",
    )  # fmt: skip
    stack.cli("product", "alias", ean, alias)
    stack.cli("product", "restock", alias, "6", "--reason", "delivery")
    counted = stack.cli("product", "stocktake", ean, "15", "--reason", "monthly count")
    stack.cli("product", "deactivate", ean)

    assert "(-3)" in counted.stdout
    assert _listed(stack, ean) == {
        "ean": ean,
        "aliases": [alias],
        "name": "Mate",
        "price_cents": 150,
        "category": category,
        "stock": 15,
        "active": False,
        "allow_negative_stock": False,
    }
    assert _cli_movements(stack, ean) == [
        ("restock", 12, 12, "cli", "initial stock"),
        ("restock", 6, 18, "cli", "delivery"),
        ("stocktaking", -3, 15, "cli", "monthly count"),
    ]
    scanned = checkout_device(stack).request("product/scan", ean=alias)
    assert scanned.error == "product_inactive"


def test_product_add_with_negative_stock_allowed_lists_it_so(stack: Stack) -> None:
    ean = unique_ean()

    stack.cli(
        "product", "add", ean, "--name", "Coffee", "--price-cents", "50", "--allow-negative-stock"
    )

    assert _listed(stack, ean)["allow_negative_stock"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("restock", "UNKNOWN", "5"), "8 to 14 digits"),
        (("restock", "UNKNOWN_EAN", "5"), "no product has EAN"),
        (("alias", "TAKEN", "TAKEN"), "already names a product"),
        (("add", "TAKEN", "--name", "Again", "--price-cents", "1"), "already names a product"),
        (("stocktake", "TAKEN", "-1"), "-1"),
    ],
)
def test_product_commands_with_bad_input_fail_with_one_clear_line(
    stack: Stack, args: tuple[str, ...], message: str
) -> None:
    taken = add_product(stack)
    substitutes = {"TAKEN": taken.ean, "UNKNOWN_EAN": unique_ean(), "UNKNOWN": "12ab"}

    result = stack.cli("product", *[substitutes.get(a, a) for a in args], check=False)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_link_answer_is_not_kept_where_its_token_could_be_read(stack: Stack) -> None:
    member = stack.add_member()
    till = stack.device(stack.provision(DeviceKind.CHECKOUT))

    first = till.request("card/link", request_id="link-secret-1", card=member.card_uid)
    again = till.request("card/link", request_id="link-secret-1", card=member.card_uid)

    token = str(first["url"]).rsplit("/", 1)[1]

    async def stored_answers() -> list[str]:
        async with database(stack.settings) as db:
            return list((await db.scalars(select(ProcessedRequest.answer))).all())

    assert not [answer for answer in run_async(stored_answers()) if token in answer]
    assert again.ok
    assert again["url"] != first["url"]  # a retry gets a fresh single-use link


@pytest.mark.parametrize("name", ["\x1c", "a\x00b", "tab\there", "\x7f"])
def test_a_registration_name_with_control_characters_is_a_bad_request(
    stack: Stack, name: str
) -> None:
    till = stack.device(stack.provision(DeviceKind.CHECKOUT))

    answer = till.request("card/register", card=unique_uid(), name=name)

    assert (answer.ok, answer.error) == (False, "bad_request")
