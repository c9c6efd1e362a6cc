"""Which function answers which operation; the contract says who may call it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from broker.contract import OPS
from handlers import card_ops, device_ops
from handlers.context import OpContext

OpHandler = Callable[[Any, OpContext], Awaitable[BaseModel]]

HANDLERS: dict[str, OpHandler] = {
    "device/config": device_ops.device_config,
    "card/identify": card_ops.card_identify,
}

if HANDLERS.keys() != OPS.keys():  # pragma: no cover - caught by the first import in any test
    raise RuntimeError(f"contract and handlers disagree: {HANDLERS.keys() ^ OPS.keys()}")
