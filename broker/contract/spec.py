"""What describes an operation or a command in the contract."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from core.formats import DeviceKind

ALL_KINDS = frozenset(DeviceKind)
MACHINE = frozenset({DeviceKind.MACHINE})
CHECKOUT = frozenset({DeviceKind.CHECKOUT})
BANKOMAT = frozenset({DeviceKind.BANKOMAT})
RENTAL = frozenset({DeviceKind.RENTAL})


@dataclass(frozen=True)
class OpSpec:
    name: str
    request: type[BaseModel]
    answer: type[BaseModel]
    kinds: frozenset[DeviceKind]
    summary: str
    # False when the answer carries a secret (a link token): it is then not stored for replays
    # and a retry runs the operation again.
    remember_answer: bool = True


@dataclass(frozen=True)
class CommandSpec:
    name: str
    payload: type[BaseModel]
    summary: str
