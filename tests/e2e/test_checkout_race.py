"""Many checkout terminals at once on two handler workers: stock and money stay exact."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.stack import Stack
from tests.e2e.test_checkout import add_product, checkout_device, stock_of

TERMINALS = 40
UNITS = 10
MEMBERS = 8  # five terminals per member
PRICE = 150
CREDIT = 100  # for the first half of the members


def test_purchase_by_forty_terminals_of_the_last_ten_units_sells_exactly_ten(
    two_worker_stack: Stack,
) -> None:
    stack = two_worker_stack
    product = add_product(stack, price_cents=PRICE, stock=UNITS)
    credit = {i: CREDIT if i < MEMBERS // 2 else 0 for i in range(MEMBERS)}
    # Enough for every terminal of a member to succeed; the stock is what runs out.
    balance = PRICE * TERMINALS // MEMBERS
    members = [
        stack.add_member(balance_cents=balance, credit_limit_cents=credit[i])
        for i in range(MEMBERS)
    ]
    devices = [checkout_device(stack) for _ in range(TERMINALS)]
    barrier = threading.Barrier(TERMINALS)

    def buy(i: int) -> tuple[int, str, object]:
        """One terminal's purchase: (member index, outcome, stock reported when refused)."""
        member = i % MEMBERS
        barrier.wait()
        answer = devices[i].request(
            "checkout/purchase",
            card=members[member].card_uid,
            items=[{"ean": product.ean, "qty": 1}],
            timeout=30,
        )
        if answer.ok:
            return member, "ok", None
        return member, str(answer.error), answer.fields.get("stock")

    with ThreadPoolExecutor(TERMINALS) as pool:
        results = list(pool.map(buy, range(TERMINALS)))

    assert Counter(outcome for _, outcome, _ in results) == {
        "ok": UNITS,
        "out_of_stock": TERMINALS - UNITS,
    }
    assert {stock for _, outcome, stock in results if outcome == "out_of_stock"} == {0}
    stock, moves = stock_of(stack, product)
    assert stock == 0
    assert moves == [("restock", UNITS, UNITS)] + [
        ("purchase", -1, UNITS - n) for n in range(1, UNITS + 1)
    ]
    bought = Counter(member for member, outcome, _ in results if outcome == "ok")
    for i, member in enumerate(members):
        now = stack.balance(member)
        assert now >= -credit[i], "a balance went below its credit limit"
        assert now == balance - PRICE * bought[i], "an update was lost"
    stack.check_ledger()
    both_served = [("answered" in stack.log_of(i).read_text()) for i in range(2)]
    assert both_served == [True, True], "the shared subscription did not split the load"


def test_purchase_of_the_same_products_in_opposite_orders_never_deadlocks(
    two_worker_stack: Stack,
) -> None:
    stack = two_worker_stack
    terminals = 20
    first = add_product(stack, price_cents=100, stock=terminals)
    second = add_product(stack, price_cents=100, stock=terminals)
    member = stack.add_member(balance_cents=200 * terminals)
    devices = [checkout_device(stack) for _ in range(terminals)]
    barrier = threading.Barrier(terminals)

    def buy(i: int) -> str:
        basket = [first, second] if i % 2 else [second, first]
        barrier.wait()
        answer = devices[i].request(
            "checkout/purchase",
            card=member.card_uid,
            items=[{"ean": product.ean, "qty": 1} for product in basket],
            timeout=30,
        )
        return "ok" if answer.ok else str(answer.error)

    with ThreadPoolExecutor(terminals) as pool:
        outcomes = list(pool.map(buy, range(terminals)))

    assert outcomes == ["ok"] * terminals
    assert stock_of(stack, first)[0] == stock_of(stack, second)[0] == 0
    assert len(stock_of(stack, first)[1]) == len(stock_of(stack, second)[1]) == 1 + terminals
    assert stack.balance(member) == 0
    stack.check_ledger()
