"""`bank/targets`, `bank/topup`, `bank/donate`, `bank/transfer`, `bank/payout`, `bank/history`."""

from __future__ import annotations

from broker.contract.bank import (
    BankDonateAnswer,
    BankDonateRequest,
    BankHistoryAnswer,
    BankHistoryRequest,
    BankPayoutAnswer,
    BankPayoutRequest,
    BankTarget,
    BankTargetsAnswer,
    BankTopupAnswer,
    BankTopupRequest,
    BankTransferAnswer,
    BankTransferRequest,
    HistoryLine,
)
from broker.contract.common import NoFields
from broker.errors import ErrorCode
from core import bank, pins
from core.clock import rfc3339
from handlers.answers import answer
from handlers.context import Decline, OpContext, OpHandler


async def bank_targets(req: NoFields, ctx: OpContext) -> BankTargetsAnswer:
    """The cash boxes this Bankomat can book to."""
    boxes = await bank.targets(ctx.db)
    return BankTargetsAnswer(targets=[answer(BankTarget, box) for box in boxes])


async def bank_topup(req: BankTopupRequest, ctx: OpContext) -> BankTopupAnswer:
    """Credit the cash paid in to the card's member and to the cash box."""
    done = await bank.topup(
        ctx.db,
        card_uid=req.card,
        amount_cents=req.amount_cents,
        target=req.target,
        origin=ctx.origin,
    )
    return answer(BankTopupAnswer, done)


async def bank_donate(req: BankDonateRequest, ctx: OpContext) -> BankDonateAnswer:
    """Credit a donation to the cash box only."""
    balance = await bank.donate(
        ctx.db, amount_cents=req.amount_cents, target=req.target, origin=ctx.origin
    )
    return BankDonateAnswer(target_balance_cents=balance)


async def bank_transfer(req: BankTransferRequest, ctx: OpContext) -> BankTransferAnswer:
    """Move money between two members' accounts."""
    done = await bank.transfer(
        ctx.db,
        card_uid=req.card,
        to_card_uid=req.to_card,
        amount_cents=req.amount_cents,
        origin=ctx.origin,
    )
    return answer(BankTransferAnswer, done)


async def bank_payout(req: BankPayoutRequest, ctx: OpContext) -> BankPayoutAnswer | Decline:
    """Pay cash out of a box to a treasurer; refusals are Declines so the PIN count is kept."""
    outcome = await bank.payout(
        ctx.db,
        card_uid=req.card,
        pin=req.pin,
        target=req.target,
        amount_cents=req.amount_cents,
        origin=ctx.origin,
    )
    if isinstance(outcome, bank.PaidOut):
        return answer(BankPayoutAnswer, outcome)
    if isinstance(outcome, pins.Rejected):
        return Decline(ErrorCode.PIN_INVALID, "wrong PIN", {"attempts_left": outcome.attempts_left})
    if isinstance(outcome, pins.Locked):
        return Decline(
            ErrorCode.PIN_LOCKED,
            "too many wrong PINs: try again later",
            {"locked_until": rfc3339(outcome.until)},
        )
    return Decline(
        ErrorCode.INSUFFICIENT_FUNDS,
        f"the cash box holds less than {outcome.needed_cents} cents",
        {"balance_cents": outcome.balance_cents, "needed_cents": outcome.needed_cents},
    )


async def bank_history(req: BankHistoryRequest, ctx: OpContext) -> BankHistoryAnswer:
    """The card holder's recent ledger lines, newest first."""
    lines = await bank.history(ctx.db, card_uid=req.card, limit=req.limit)
    return BankHistoryAnswer(lines=[answer(HistoryLine, line) for line in lines])


HANDLERS: dict[str, OpHandler] = {
    "bank/targets": bank_targets,
    "bank/topup": bank_topup,
    "bank/donate": bank_donate,
    "bank/transfer": bank_transfer,
    "bank/payout": bank_payout,
    "bank/history": bank_history,
}
