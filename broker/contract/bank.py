"""The operations of the Bankomat: cash boxes, top-up, donation, transfer, payout, history."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from broker.contract.common import CardUid, Cents, NoFields, Timestamp, WireModel
from broker.contract.spec import BANKOMAT, OpSpec
from core.formats import CASH_AMOUNT_MAX_CENTS, HISTORY_LIMIT, PIN_PATTERN, SLUG_PATTERN

Amount = Annotated[
    int,
    Field(ge=1, le=CASH_AMOUNT_MAX_CENTS, description="Integer cents, 1 to 100000 (1000.00)."),
]
Target = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN),
    Field(description="A cash box slug, as `bank/targets` lists them.", examples=["main"]),
]
Pin = Annotated[
    str,
    StringConstraints(pattern=PIN_PATTERN),
    Field(
        description="The treasurer's PIN: 4 to 8 digits as a string. Never logged or stored; "
        "use a new request id for every attempt (a retry with the same id replays the answer)."
    ),
]


class BankTarget(WireModel):
    slug: str
    name: str
    balance_cents: Cents


class BankTargetsAnswer(WireModel):
    targets: list[BankTarget] = Field(description="Every cash box, sorted by slug.")


class BankTopupRequest(WireModel):
    card: CardUid
    amount_cents: Amount
    target: Target


class BankTopupAnswer(WireModel):
    balance_cents: Cents = Field(description="The member's new balance.")
    target_balance_cents: Cents = Field(description="The cash box's new balance.")


class BankDonateRequest(WireModel):
    amount_cents: Amount
    target: Target


class BankDonateAnswer(WireModel):
    target_balance_cents: Cents = Field(description="The cash box's new balance.")


class BankTransferRequest(WireModel):
    card: CardUid = Field(description="The sender's card.")
    to_card: CardUid = Field(description="The receiver's card.")
    amount_cents: Amount


class BankTransferAnswer(WireModel):
    balance_cents: Cents = Field(description="The sender's new balance.")
    to_balance_cents: Cents = Field(description="The receiver's new balance.")


class BankPayoutRequest(WireModel):
    card: CardUid = Field(description="A treasurer's card (a member with a PIN).")
    pin: Pin
    target: Target
    amount_cents: Amount


class BankPayoutAnswer(WireModel):
    target_balance_cents: Cents = Field(description="The cash box's new balance.")


class BankHistoryRequest(WireModel):
    card: CardUid
    limit: int = Field(default=10, ge=1, le=HISTORY_LIMIT, description="Lines wanted, 1-20.")


class HistoryLine(WireModel):
    at: Timestamp
    kind: str = Field(
        description="What the entry was: topup, transfer_in, transfer_out, purchase, "
        "session_login_fee, session_interval, session_refund, opening, correction, ..."
    )
    amount_cents: Cents = Field(description="Positive for money in, negative for money out.")
    balance_after_cents: Cents


class BankHistoryAnswer(WireModel):
    lines: list[HistoryLine] = Field(description="Newest first.")


OPS = (
    OpSpec(
        "bank/targets",
        NoFields,
        BankTargetsAnswer,
        BANKOMAT,
        "The cash boxes money can be booked to, with their balances.",
    ),
    OpSpec(
        "bank/topup",
        BankTopupRequest,
        BankTopupAnswer,
        BANKOMAT,
        "Cash paid in: credits the card's member and the cash box. "
        "Errors: unknown_card, card_blocked, unknown_target (field target).",
    ),
    OpSpec(
        "bank/donate",
        BankDonateRequest,
        BankDonateAnswer,
        BANKOMAT,
        "Cash given to a cash box; credits no member. Errors: unknown_target (field target).",
    ),
    OpSpec(
        "bank/transfer",
        BankTransferRequest,
        BankTransferAnswer,
        BANKOMAT,
        "Move money from the card's member to the to_card's member, all or nothing. Errors: "
        "unknown_card and card_blocked (field card: which one), insufficient_funds "
        "(balance_cents, needed_cents), not_authorized (both cards are one member's).",
    ),
    OpSpec(
        "bank/payout",
        BankPayoutRequest,
        BankPayoutAnswer,
        BANKOMAT,
        "A treasurer takes cash out of a cash box with card and PIN. Errors: unknown_card, "
        "card_blocked, unknown_target (field target), pin_required (the card has no PIN), "
        "pin_invalid (attempts_left), pin_locked (locked_until; 3 wrong PINs lock for 15 "
        "minutes, even the right PIN), insufficient_funds (balance_cents of the box, "
        "needed_cents).",
    ),
    OpSpec(
        "bank/history",
        BankHistoryRequest,
        BankHistoryAnswer,
        BANKOMAT,
        "The card holder's recent ledger lines, newest first. Errors: unknown_card, card_blocked.",
    ),
)
