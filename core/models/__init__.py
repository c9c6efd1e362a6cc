"""All models, imported here so that `Base.metadata` knows every table."""

from core.models.base import Base
from core.models.devices import SLUG_PATTERN, Device, DeviceKind, ProcessedRequest
from core.models.machines import Authorization, MachineAdmin, MachineSession, MachineTariff
from core.models.members import Card, LedgerEntry, Member

__all__ = [
    "SLUG_PATTERN",
    "Authorization",
    "Base",
    "Card",
    "Device",
    "DeviceKind",
    "LedgerEntry",
    "MachineAdmin",
    "MachineSession",
    "MachineTariff",
    "Member",
    "ProcessedRequest",
]
