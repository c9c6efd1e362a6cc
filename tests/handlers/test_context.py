"""Building wire answers from core results, without a database."""

from __future__ import annotations

import json

from broker.contract.shop import CheckoutPurchaseAnswer
from core.checkout import Line, Receipt
from handlers.context import answer


def test_answer_reads_a_core_result_with_its_derived_fields_and_nested_lines() -> None:
    receipt = Receipt(
        lines=(Line(7, "4029764001807", "Club-Mate", 2, 150),), total_cents=300, balance_cents=700
    )

    built = answer(CheckoutPurchaseAnswer, receipt)

    assert json.loads(built.model_dump_json()) == {
        "lines": [
            {
                "ean": "4029764001807",
                "name": "Club-Mate",
                "qty": 2,
                "price_cents": 150,
                "total_cents": 300,
            }
        ],
        "total_cents": 300,
        "balance_cents": 700,
    }
