"""Admin: finding the member to grant a machine to, for its sub-admins as for admins.

A sub-admin needs a member's id to grant them the machine. This answers only that, the name,
the last digits of their cards (to tell namesakes apart) and whether they may use the machine
already: never a balance, an e-mail address or a whole card UID.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.admin.machines import ManagedMachineDep
from api.deps import DbDep
from api.fields import PRINTABLE, Page, PagingDep, refusals
from core import sub_admins
from core.formats import NAME_MAX
from core.paging import by_id

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin: machines"],
    responses=refusals(
        {
            401: "Not logged in.",
            403: "Neither an admin nor a sub-admin of this machine.",
            404: "No such machine.",
        }
    ),
)


LookFor = Annotated[
    str,
    Query(
        min_length=sub_admins.LOOKUP_MIN_CHARS,
        max_length=NAME_MAX,
        pattern=PRINTABLE,
        description="Part of a name, or a whole card UID (case-insensitive; separators `:`, "
        "`-` or spaces allowed). At least 2 characters besides surrounding blanks.",
    ),
    AfterValidator(sub_admins.lookup_query),
]


class MemberMatch(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    card_endings: list[str] = Field(
        description=f"The last {sub_admins.CARD_ENDING_CHARS} hex digits of each unblocked card."
    )
    authorized: bool = Field(description="Whether the member may use this machine already.")


class MemberMatchPage(Page[MemberMatch]):
    """Matching members, newest first."""


@router.get("/machines/{slug}/members")
async def find_members(
    device_id: ManagedMachineDep, db: DbDep, paging: PagingDep, q: LookFor
) -> MemberMatchPage:
    """Members to grant the machine to, by part of the name or a whole card UID, newest first:
    for the machine's sub-admins and admins. Only what granting needs: no balances or contact."""
    page = await paging.fetch(
        partial(sub_admins.find_members, db, device_id=device_id, query=q), by_id
    )
    return MemberMatchPage.model_validate(page)
