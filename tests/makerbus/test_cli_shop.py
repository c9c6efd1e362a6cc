"""`makerbus product ...`: what the operator reads, and the exit codes."""

from __future__ import annotations

import json
import secrets

from tests.makerbus.conftest import Makerbus


def _ean() -> str:
    return f"{secrets.randbelow(10**13):013d}"


def test_a_product_through_its_life_is_described_after_each_step(makerbus: Makerbus) -> None:
    ean, alias = _ean(), _ean()

    added = makerbus(
        "product", "add", ean, "--name", "Mate", "--price-cents", "150",
        "--category", "Drinks", "--stock", "5",
    )  # fmt: skip
    aliased = makerbus("product", "alias", ean, alias)
    restocked = makerbus("product", "restock", alias, "3", "--reason", "delivery")
    counted = makerbus("product", "stocktake", ean, "6")
    deactivated = makerbus("product", "deactivate", ean)
    listed = makerbus("product", "list").stdout.splitlines()
    as_json = json.loads(makerbus("product", "list", "--json").stdout)

    assert added.stdout == f"Added {ean} 'Mate': 150 cents, stock 5.\n"
    assert aliased.stdout == f"{alias} now names {ean} 'Mate'.\n"
    assert restocked.stdout == f"{alias}: +3, stock 8.\n"
    assert counted.stdout == f"{ean}: counted 6 (-2).\n"
    assert deactivated.stdout == f"Deactivated {ean} 'Mate': 150 cents, stock 6, inactive.\n"
    assert f"{ean} 'Mate': 150 cents, stock 6, inactive (also {alias})" in listed
    assert {
        "ean": ean,
        "aliases": [alias],
        "name": "Mate",
        "price_cents": 150,
        "category": "Drinks",
        "stock": 6,
        "active": False,
        "allow_negative_stock": False,
    } in as_json


def test_a_product_without_stock_books_no_restock(makerbus: Makerbus) -> None:
    ean = _ean()

    added = makerbus("product", "add", ean, "--name", "Bolt", "--price-cents", "0")

    assert added.stdout == f"Added {ean} 'Bolt': 0 cents, stock 0.\n"


def test_a_malformed_ean_is_a_usage_error_naming_it(makerbus: Makerbus) -> None:
    done = makerbus("product", "restock", "12ab", "1")

    assert done.exit_code == 2
    assert done.stderr.endswith(
        "Error: Invalid value for 'EAN': EAN '12ab' must be 8 to 14 digits\n"
    )


def test_restocking_an_unknown_product_fails_with_one_line(makerbus: Makerbus) -> None:
    ean = _ean()

    done = makerbus("product", "restock", ean, "1")

    assert done.exit_code == 1
    assert done.stderr == f"Error: no product has EAN {ean}\n"
