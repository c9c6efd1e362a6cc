"""The operations devices may request: name, request and answer models, allowed kinds.

This table is the single source of the wire contract: the handler service dispatches on it and
the JSON Schemas in `hardware_clients/schemas/` are generated from it. Each device domain keeps
its operations in its own module.
"""

from __future__ import annotations

from broker.contract import bank, machines, rentals, shop
from broker.contract.cards import CardIdentifyAnswer, CardIdentifyRequest
from broker.contract.common import NoFields
from broker.contract.devices import DeviceConfigAnswer
from broker.contract.sessions import SessionTerminateCommand
from broker.contract.spec import ALL_KINDS, CommandSpec, OpSpec

COMMON_OPS = (
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
)


def _table(*groups: tuple[OpSpec, ...]) -> dict[str, OpSpec]:
    table: dict[str, OpSpec] = {}
    for spec in (spec for group in groups for spec in group):
        if spec.name in table:
            raise RuntimeError(f"op {spec.name} is defined twice")
        table[spec.name] = spec
    return table


OPS: dict[str, OpSpec] = _table(COMMON_OPS, machines.OPS, shop.OPS, bank.OPS, rentals.OPS)

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

__all__ = ["COMMANDS", "OPS", "CommandSpec", "OpSpec"]
