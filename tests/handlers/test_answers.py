"""The adapter from core results to wire answers: names, times, unset fields, nesting, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from broker.contract.cards import CardIdentifyAnswer, TariffInfo
from broker.contract.sessions import SessionTerminateCommand
from broker.contract.shop import CheckoutPurchaseAnswer
from broker.envelope import encode_ok
from core import sessions
from core.billing import Tariff
from core.cards import CardHolder
from core.checkout import Line, Receipt
from handlers.answers import answer, wire_fields

T0 = datetime(2026, 11, 21, 20, 17, 33, 250_000, tzinfo=UTC)
HOLDER = CardHolder(
    member_id=7, card_id=3, name="Ada", balance_cents=500, credit_limit_cents=0, has_pin=False
)


def test_an_answer_takes_the_fields_it_names_with_times_in_rfc3339() -> None:
    notice = sessions.Notice(
        session_id=9,
        device_slug="lathe-1",
        reason="admin",
        ended_at=T0,
        duration_s=60,
        total_cents=150,
        refund_cents=50,
    )

    command = answer(SessionTerminateCommand, notice)

    assert command.model_dump() == {
        "session_id": 9,
        "reason": "admin",
        "ended_at": "2026-11-21T20:17:33Z",
        "duration_s": 60,
        "total_cents": 150,
        "refund_cents": 50,
    }


def test_fields_neither_the_result_nor_extra_give_are_left_out_of_the_answer() -> None:
    plain = answer(CardIdentifyAnswer, HOLDER)
    refused = answer(CardIdentifyAnswer, HOLDER, authorized=False)
    priced = answer(
        CardIdentifyAnswer, HOLDER, authorized=True, tariff=answer(TariffInfo, Tariff(100, 20, 15))
    )

    assert encode_ok("r1", plain) == (
        b'{"id":"r1","ok":true,"member_id":7,"name":"Ada","balance_cents":500,"has_pin":false}'
    )
    assert b'"authorized":false' in encode_ok("r1", refused)
    assert b'"tariff"' not in encode_ok("r1", refused)
    assert b'"tariff":{"login_fee_cents":100,"price_per_minute_cents":20,"interval_min":15}' in (
        encode_ok("r1", priced)
    )


def test_an_answer_refuses_a_value_the_contract_does_not_allow() -> None:
    with pytest.raises(ValidationError, match="reason"):
        answer(
            SessionTerminateCommand,
            sessions.Notice(9, "lathe-1", "device", T0, 60, 150, 50),
        )


def test_wire_fields_give_every_field_of_a_result_as_the_wire_carries_it() -> None:
    unfunded = sessions.Unfunded(session_id=9, paid_until=T0, remaining_s=42, balance_cents=-5)

    assert wire_fields(unfunded) == {
        "session_id": 9,
        "paid_until": "2026-11-21T20:17:33Z",
        "remaining_s": 42,
        "balance_cents": -5,
    }


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
