"""The audit trail — who changed what, when, from what to what, filtered by entity and by who.

Admins read all of it (`/api/v1/admin/audit`); lab technicians read the lending workflow's
share (`/api/v1/lab/audit`: projects, equipment requests, rental items)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import require_admin
from api.deps import DbDep
from api.fields import ADMIN_ONLY, PRINTABLE, SUBJECT_PATTERN, Page, Paging, PagingDep
from api.lending import lab_router
from core import audit
from core.formats import SUBJECT_MAX

router = APIRouter(
    prefix="/api/v1/admin/audit",
    tags=["admin: audit trail"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)
lab = lab_router("/audit", "audit trail")

# As long as the trail's columns are (core.models.AuditEvent).
ENTITY_MAX = 32
ENTITY_ID_MAX = 128
ENTITY_PATTERN = r"^[a-z][a-z_]*$"

EntityQuery = Annotated[
    str | None,
    Query(
        max_length=ENTITY_MAX,
        pattern=ENTITY_PATTERN,
        description="Only rows about this kind of entity: `member`, `device`, `product`, ...",
    ),
]
EntityIdQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=ENTITY_ID_MAX,
        pattern=PRINTABLE,
        description="With `entity`: only rows about this one (a member's id, a device's slug, "
        "a product's EAN, ...).",
    ),
]
ActorQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=SUBJECT_MAX,
        pattern=SUBJECT_PATTERN,
        description="Only what this person (OIDC subject; `cli` for the command line) or "
        "device (slug) did.",
    ),
]


class AuditActor(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: Literal["person", "device", "system"]
    id: str | None = Field(description="The person's OIDC subject or the device's slug.")
    name: str | None = Field(description="The person's name when they did it.")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: AuditActor
    entity: str = Field(description="What kind of thing changed: `member`, `device`, ...")
    entity_id: str
    action: str = Field(description="What was done: `correct_balance`, `set_tariff`, ...")
    old_value: str | None = Field(description="Before, as `name=value` pairs; never a secret.")
    new_value: str | None = Field(description="After, as `name=value` pairs; never a secret.")
    note: str | None = Field(description="Why, when one was given (a correction's reason).")


class AuditPage(Page[AuditEventOut]):
    """Audit events, newest first."""


@dataclass(frozen=True)
class Filters:
    """`?entity=&entity_id=&actor=`: what the rows are about and who did it."""

    entity: str | None
    entity_id: str | None
    actor: str | None


def _filters(
    entity: EntityQuery = None, entity_id: EntityIdQuery = None, actor: ActorQuery = None
) -> Filters:
    return Filters(entity, entity_id, actor)


FiltersDep = Annotated[Filters, Depends(_filters)]


@router.get("")
async def list_events(db: DbDep, paging: PagingDep, filters: FiltersDep) -> AuditPage:
    """The audit trail, newest first: every admin action and status change, with who did it
    (a person, a device or the system), old and new values and a note; paged by `before_id`.
    PINs, passwords and tokens never appear in it."""
    return await _page(db, paging, filters, among=None)


@lab.get("")
async def list_lending_events(db: DbDep, paging: PagingDep, filters: FiltersDep) -> AuditPage:
    """The lending workflow's part of the trail, newest first: every status change of a
    project, an equipment request or a rental item, with who did it; filtered and paged as
    the admins' trail. Other entities are not in it (an `entity` filter naming one finds
    nothing)."""
    return await _page(db, paging, filters, among=audit.LENDING)


async def _page(
    db: AsyncSession, paging: Paging, filters: Filters, *, among: frozenset[str] | None
) -> AuditPage:
    page = await audit.events(
        db,
        limit=paging.limit,
        before_id=paging.before_id,
        entity=filters.entity,
        entity_id=filters.entity_id,
        actor_id=filters.actor,
        among=among,
    )
    return AuditPage.model_validate(page)
