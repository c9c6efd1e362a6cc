"""All models, imported here so that `Base.metadata` knows every table."""

from core.models.audit import AuditEvent, Notification, SnipeItReport
from core.models.bank import CashBox, CashBoxEntry, LinkToken
from core.models.base import Base
from core.models.devices import Device, ProcessedRequest
from core.models.machines import Authorization, MachineAdmin, MachineSession, MachineTariff
from core.models.members import Card, LedgerEntry, Member
from core.models.projects import EquipmentRequest, Project, ProjectMember
from core.models.rentals import Rental, RentalItem, RentalPermission
from core.models.shop import Category, Product, ProductCode, StockMovement
from core.models.web import API_TOKEN_ROLES, ApiToken, RevokedSession

__all__ = [
    "API_TOKEN_ROLES",
    "ApiToken",
    "AuditEvent",
    "Authorization",
    "Base",
    "Card",
    "CashBox",
    "CashBoxEntry",
    "Category",
    "Device",
    "EquipmentRequest",
    "LedgerEntry",
    "LinkToken",
    "MachineAdmin",
    "MachineSession",
    "MachineTariff",
    "Member",
    "Notification",
    "ProcessedRequest",
    "Product",
    "ProductCode",
    "Project",
    "ProjectMember",
    "Rental",
    "RentalItem",
    "RentalPermission",
    "RevokedSession",
    "SnipeItReport",
    "StockMovement",
]
