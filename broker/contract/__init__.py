"""The operations devices may request: name, request and answer models, allowed kinds.

This table is the single source of the wire contract: the handler service dispatches on it and
the JSON Schemas in `hardware_clients/schemas/` are generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from broker.contract.cards import CardIdentifyAnswer, CardIdentifyRequest
from broker.contract.common import NoFields
from broker.contract.devices import DeviceConfigAnswer
from broker.contract.sessions import (
    SessionAnswer,
    SessionEndAnswer,
    SessionEndRequest,
    SessionHeartbeatRequest,
    SessionStartRequest,
    SessionTerminateCommand,
)
from core.models import DeviceKind

ALL_KINDS = frozenset(DeviceKind)
MACHINE = frozenset({DeviceKind.MACHINE})


@dataclass(frozen=True)
class OpSpec:
    name: str
    request: type[BaseModel]
    answer: type[BaseModel]
    kinds: frozenset[DeviceKind]
    summary: str


OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec(
            "device/config",
            NoFields,
            DeviceConfigAnswer,
            ALL_KINDS,
            "The device's name and kind, the currency, the heartbeat period and the server time.",
        ),
        OpSpec(
            "card/identify",
            CardIdentifyRequest,
            CardIdentifyAnswer,
            ALL_KINDS,
            "The member holding a card, with balance and whether a PIN is set; on a machine "
            "also whether they may use it and at what tariff.",
        ),
        OpSpec(
            "session/start",
            SessionStartRequest,
            SessionAnswer,
            MACHINE,
            "Open a session: charges the login fee and the first interval in advance.",
        ),
        OpSpec(
            "session/heartbeat",
            SessionHeartbeatRequest,
            SessionAnswer,
            MACHINE,
            "Proof of life; prepays the next interval when the paid time runs short.",
        ),
        OpSpec(
            "session/end",
            SessionEndRequest,
            SessionEndAnswer,
            MACHINE,
            "Close the session: bills each started minute and refunds the rest.",
        ),
    )
}


@dataclass(frozen=True)
class CommandSpec:
    name: str
    payload: type[BaseModel]
    summary: str


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "session/terminate",
            SessionTerminateCommand,
            "The reaper or an admin closed the session: switch the machine off now.",
        ),
    )
}
