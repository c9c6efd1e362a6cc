"""Admin of rentals (admin role): items with their UHF tags, who has what since when, and who
may rent."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import AdminDep, ClockDep, require_admin
from api.deps import DbDep
from api.fields import ADMIN_ONLY, REQUEST, Id, Page, PagingDep, one_line, refusals
from core import rentals
from core.errors import NotFound
from core.formats import NAME_MAX
from core.text import PLAIN_LINES

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin: rentals"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)

DESCRIPTION_MAX = 2000
# Stations read the tag in any case; it is stored upper case.
TID_INPUT = r"^[0-9A-Fa-f]{8,64}$"

Tid = Annotated[str, Field(pattern=TID_INPUT, examples=["E28011700000020F1A2B3C4D"])]
TidPath = Annotated[str, Path(pattern=TID_INPUT, description="The item's UHF tag id (hex).")]
ItemName = Annotated[str, one_line(NAME_MAX)]
Description = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=DESCRIPTION_MAX,
        pattern=PLAIN_LINES,  # lines and tabs, no other control or formatting characters
    ),
]


class AdminRentalItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tid: str
    name: str
    description: str | None
    active: bool = Field(description="Rentable; an inactive item that is out can still return.")
    out: bool
    rental_id: int | None
    member_id: int | None = Field(description="Who has it, while it is out.")
    member_name: str | None
    since: datetime | None


class NewRentalItem(BaseModel):
    model_config = REQUEST

    tid: Tid
    name: ItemName
    description: Description | None = None


class AdminRental(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rental_id: int
    tid: str
    item_name: str
    member_id: int
    member_name: str
    rented_at: datetime = Field(description="When the item was taken.")
    returned_at: datetime | None = Field(description="When it came back; null while it is out.")
    device_id: int | None = Field(description="The station it was rented at.")
    return_device_id: int | None = Field(description="The station that took it back.")


class RentalPage(Page[AdminRental]):
    """Rentals, newest first."""


class RentalPermission(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member_id: int
    member_name: str
    granted_by: str
    granted_at: datetime


@router.get("/rental-items")
async def list_items(db: DbDep) -> list[AdminRentalItem]:
    """Every item by TID, active or not, and who has it since when."""
    return [AdminRentalItem.model_validate(item) for item in await rentals.listing(db)]


@router.post(
    "/rental-items",
    status_code=status.HTTP_201_CREATED,
    responses=refusals({409: "This TID is registered already."}),
)
async def add_item(
    body: NewRentalItem, db: DbDep, clock: ClockDep, principal: AdminDep
) -> AdminRentalItem:
    """Register an item by its UHF tag; it is rentable at once by members with a permission."""
    added = await rentals.add_item(
        db,
        tid=body.tid,
        name=body.name,
        description=body.description,
        actor=principal.actor,
        now=clock.now(),
    )
    return AdminRentalItem.model_validate(added)


@router.post("/rental-items/{tid}/deactivate", responses=refusals({404: "No item has this TID."}))
async def deactivate_item(
    tid: TidPath, db: DbDep, clock: ClockDep, principal: AdminDep
) -> AdminRentalItem:
    """Take an item out of service: no new rentals; if it is out, it can still be returned."""
    item = await rentals.deactivate(db, tid, actor=principal.actor, now=clock.now())
    return AdminRentalItem.model_validate(item)


@router.post("/rental-items/{tid}/activate", responses=refusals({404: "No item has this TID."}))
async def activate_item(
    tid: TidPath, db: DbDep, clock: ClockDep, principal: AdminDep
) -> AdminRentalItem:
    """Put a deactivated item back into service."""
    item = await rentals.reactivate(db, tid, actor=principal.actor, now=clock.now())
    return AdminRentalItem.model_validate(item)


@router.get("/rentals")
async def list_rentals(
    db: DbDep,
    paging: PagingDep,
    open_: Annotated[
        bool | None,
        Query(alias="open", description="true: only items still out; false: only returned."),
    ] = None,
) -> RentalPage:
    """Rentals newest first: who has (or had) which item, since when, until when."""
    page = await paging.fetch(
        partial(rentals.history, db, open_only=open_), lambda rental: rental.rental_id
    )
    return RentalPage.model_validate(page)


@router.get("/rental-permissions")
async def list_permissions(db: DbDep) -> list[RentalPermission]:
    """Every member who may rent items, by name."""
    return [RentalPermission.model_validate(found) for found in await rentals.permissions(db)]


@router.get(
    "/rental-permissions/{member_id}",
    responses=refusals({404: "The member may not rent (or does not exist)."}),
)
async def get_permission(member_id: Id, db: DbDep) -> RentalPermission:
    """Whether, since when and by whom a member may rent items."""
    return RentalPermission.model_validate(await rentals.permission(db, member_id))


@router.put("/rental-permissions/{member_id}", responses=refusals({404: "No such member."}))
async def grant_permission(
    member_id: Id, db: DbDep, clock: ClockDep, principal: AdminDep
) -> RentalPermission:
    """Let a member rent items (all of them); granting again records you and now as the grant."""
    await rentals.permit(db, member_id, actor=principal.actor, now=clock.now())
    return RentalPermission.model_validate(await rentals.permission(db, member_id))


@router.delete(
    "/rental-permissions/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals({404: "The member had no rental permission."}),
)
async def revoke_permission(member_id: Id, db: DbDep, clock: ClockDep, principal: AdminDep) -> None:
    """Stop a member renting; items they have out stay out until returned."""
    if not await rentals.revoke(db, member_id, actor=principal.actor, now=clock.now()):
        raise NotFound(f"member {member_id} has no rental permission")
