"""Which function answers which operation; the contract says who may call it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from broker.contract import OPS as CONTRACT
from broker.contract.spec import OpSpec
from handlers import bank_ops, card_ops, device_ops, rental_ops, session_ops, shop_ops
from handlers.context import HotHandler, OpHandler


@dataclass(frozen=True)
class Op:
    spec: OpSpec
    handler: OpHandler
    # The same op on the driver connection, for the runtime's hot path.
    hot: HotHandler | None = None


def _table(handlers: Mapping[str, OpHandler], hot: Mapping[str, HotHandler]) -> dict[str, Op]:
    if handlers.keys() != CONTRACT.keys():
        raise RuntimeError(f"contract and handlers disagree: {handlers.keys() ^ CONTRACT.keys()}")
    return {name: Op(CONTRACT[name], handler, hot.get(name)) for name, handler in handlers.items()}


OPS: dict[str, Op] = _table(
    {
        "device/config": device_ops.device_config,
        "card/identify": card_ops.card_identify,
        "session/start": session_ops.session_start,
        "session/heartbeat": session_ops.session_heartbeat,
        "session/end": session_ops.session_end,
        **shop_ops.HANDLERS,
        **bank_ops.HANDLERS,
        **rental_ops.HANDLERS,
    },
    hot={"session/heartbeat": session_ops.session_heartbeat_hot},
)
