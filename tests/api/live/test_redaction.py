"""What the live view may show of a payload: declared fields only, no secret, masked cards."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.live.redaction import (
    MAX_TEXT,
    answer_summary,
    command_summary,
    mask_card,
    request_summary,
    status_summary,
)
from broker.contract import OPS
from broker.contract.bank import BankPayoutRequest, BankTransferRequest
from broker.contract.cards import CardIdentifyAnswer, TariffInfo
from broker.contract.rentals import RentalRentRequest
from broker.contract.sessions import SessionTerminateCommand
from broker.contract.shop import BasketItem, CardLinkAnswer, CheckoutPurchaseRequest
from core.formats import CARD_UID_PATTERN

PIN = "73915286"
LINK = "https://makerbus.example/link/9f8e7d6c5b4a39281706f5e4d3c2b1a0"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def fields(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json"))


def test_mask_card_shows_the_last_four_characters_upper_cased() -> None:
    assert mask_card("04a1b2c3d4e5f6") == "…E5F6"


@pytest.mark.parametrize("uid", ["", "AB", "ABCD"])
def test_mask_card_of_four_characters_or_fewer_shows_nothing(uid: str) -> None:
    assert mask_card(uid) == "…"


def test_payout_summary_never_holds_the_pin() -> None:
    request = BankPayoutRequest(card="04A1B2C3D4E5F6", pin=PIN, target="main", amount_cents=5000)

    summary = request_summary("bank/payout", fields(request))

    assert PIN not in repr(summary)
    assert summary == [("card", "…E5F6"), ("target", "main"), ("amount_cents", 5000)]


def test_card_link_answer_never_holds_the_url() -> None:
    answer = CardLinkAnswer(url=LINK, expires_at="2026-11-21T09:15:00Z", expires_s=900)

    summary = answer_summary("card/link", fields(answer))

    assert "9f8e7d6c" not in repr(summary)
    assert summary == [("expires_s", 900)]


def test_both_cards_of_a_transfer_are_masked() -> None:
    request = BankTransferRequest(card="04A1B2C3", to_card="0A0B0C0D0E0F10", amount_cents=100)

    summary = request_summary("bank/transfer", fields(request))

    assert summary == [("card", "…B2C3"), ("to_card", "…0F10"), ("amount_cents", 100)]


def test_every_card_uid_field_of_the_contract_is_masked() -> None:
    uid = "04A1B2C3D4E5F6"
    for op, spec in OPS.items():
        properties = spec.request.model_json_schema().get("properties", {})
        card_fields = [n for n, p in properties.items() if p.get("pattern") == CARD_UID_PATTERN]

        summary = dict(request_summary(op, dict.fromkeys(card_fields, uid)))

        assert summary == dict.fromkeys(card_fields, "…E5F6"), op


def test_a_tag_id_is_not_a_card_and_shows() -> None:
    request = RentalRentRequest(card="04A1B2C3", tid="E2801160600002054F3A1B7C")

    summary = request_summary("rental/rent", fields(request))

    assert summary == [("card", "…B2C3"), ("tid", "E2801160600002054F3A1B7C")]


@pytest.mark.parametrize(("value", "shown"), [(5, "…"), (123456789, "…6789"), ([1, 2], "…, 2]")])
def test_a_card_of_the_wrong_type_is_still_masked(value: object, shown: str) -> None:
    assert request_summary("card/identify", {"card": value}) == [("card", shown)]


@pytest.mark.parametrize(
    "hostile",
    [
        "Ada\x00\x1b[31m\u202e\u200bLovelace\x7f",
        "x" * 10_000,
        "<script>alert(document.cookie)</script>" * 50,
        "\n" * 10_000 + "end",
    ],
)
def test_hostile_strings_come_out_short_and_printable(hostile: str) -> None:
    [(_, value)] = request_summary("card/register", {"name": hostile})

    assert isinstance(value, str)
    assert len(value) <= MAX_TEXT
    assert value.isprintable()


def test_a_long_string_is_cut_with_an_ellipsis() -> None:
    [(_, value)] = request_summary("card/register", {"name": "y" * 100})

    assert value == "y" * (MAX_TEXT - 1) + "…"


def test_undeclared_fields_and_the_envelope_are_dropped() -> None:
    body = {"id": "r1", "ok": False, "error": "x", "message": "m", "balance_cents": 5, "evil": 1}

    assert answer_summary("bank/topup", body) == [("balance_cents", 5)]


def test_an_unknown_op_shows_nothing() -> None:
    assert request_summary("bank/steal", {"card": "04A1B2C3", "amount_cents": 5}) == []


def test_a_list_shows_as_its_length() -> None:
    request = CheckoutPurchaseRequest(
        card="04A1B2C3",
        items=[BasketItem(ean="4029764001807", qty=1) for _ in range(3)],
    )

    summary = request_summary("checkout/purchase", fields(request))

    assert summary == [("card", "…B2C3"), ("items", 3)]


def test_a_declared_sub_object_is_flattened_one_level() -> None:
    answer = CardIdentifyAnswer(
        member_id=7,
        name="Ada",
        balance_cents=1200,
        has_pin=True,
        authorized=True,
        tariff=TariffInfo(login_fee_cents=50, price_per_minute_cents=5, interval_min=15),
    )

    summary = answer_summary("card/identify", fields(answer))

    assert summary == [
        ("member_id", 7),
        ("name", "Ada"),
        ("balance_cents", 1200),
        ("authorized", True),
        ("tariff.login_fee_cents", 50),
        ("tariff.price_per_minute_cents", 5),
        ("tariff.interval_min", 15),
    ]


def test_an_undeclared_sub_object_is_dropped() -> None:
    assert request_summary("card/identify", {"card": "04A1B2C3", "extra": {"pin": PIN}}) == [
        ("card", "…B2C3")
    ]


def test_a_command_shows_its_declared_fields() -> None:
    command = SessionTerminateCommand(
        session_id=9,
        reason="expired",
        ended_at="2026-11-21T09:30:00Z",
        duration_s=1800,
        total_cents=250,
        refund_cents=0,
    )

    summary = command_summary("session/terminate", fields(command))

    assert summary == [
        ("session_id", 9),
        ("reason", "expired"),
        ("ended_at", "2026-11-21T09:30:00Z"),
        ("duration_s", 1800),
        ("total_cents", 250),
        ("refund_cents", 0),
    ]


def test_a_status_shows_online_and_firmware_only() -> None:
    assert status_summary({"online": True, "fw": "1.4.0", "wifi_password": "hunter2"}) == [
        ("online", True),
        ("fw", "1.4.0"),
    ]


@given(op=st.sampled_from(sorted(OPS)), data=st.dictionaries(st.text(), json_values))
def test_any_payload_gives_declared_bounded_scalars(op: str, data: dict[str, Any]) -> None:
    declared = set(OPS[op].request.model_fields) | set(OPS[op].answer.model_fields)

    summary = request_summary(op, data) + answer_summary(op, data)

    for name, value in summary:
        assert name.split(".")[0] in declared
        assert value is None or isinstance(value, bool | int | str)
        assert not isinstance(value, str) or (len(value) <= MAX_TEXT and value.isprintable())


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("name", ["pin", "password", "token", "secret", "url", "has_pin"])
def test_no_op_shows_a_secret_named_field(op: str, name: str) -> None:
    data = {name: PIN, f"new_{name}": PIN, f"{name}_hash": PIN}

    summary = request_summary(op, data) + answer_summary(op, data)

    assert PIN not in repr(summary)
