"""Admin: cash boxes (the Bankomat's booking targets) — list, create, statements."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.auth import ClockDep, require_admin
from api.deps import DbDep, SettingsDep
from api.fields import ADMIN_ONLY, REQUEST, Page, PagingDep, one_line, refusals
from core import cash_boxes
from core.formats import NAME_MAX, SLUG_PATTERN
from core.months import Month
from core.paging import by_id

router = APIRouter(
    prefix="/api/v1/admin/cash-boxes",
    tags=["admin: cash boxes"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]


class CashBoxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    slug: str
    name: str
    balance_cents: int


class NewCashBox(BaseModel):
    model_config = REQUEST
    slug: Slug = Field(description="What devices send as `target`: 2-40 of a-z, 0-9 and -.")
    name: Annotated[str, one_line(NAME_MAX)] = Field(
        description="What the Bankomat shows, e.g. 'Drinks fund'."
    )


class StatementEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    kind: str = Field(description="`topup`, `donation` or `payout`.")
    amount_cents: int
    balance_after_cents: int = Field(description="The box's balance after this entry.")
    member_id: int | None = Field(description="Who topped up or paid out.")
    device_id: int | None
    request_id: str | None
    actor: str | None
    note: str | None


class Statement(Page[StatementEntry]):
    """A cash box's balance and a page of its entries."""

    slug: str
    name: str
    balance_cents: int


@router.get("")
async def list_cash_boxes(db: DbDep) -> list[CashBoxOut]:
    """Every cash box with its balance, by slug."""
    return [CashBoxOut.model_validate(box) for box in await cash_boxes.all_boxes(db)]


@router.post("", status_code=201, responses=refusals(409))
async def create_cash_box(new: NewCashBox, db: DbDep, clock: ClockDep) -> CashBoxOut:
    """Create an empty cash box that Bankomats can book to; 409 if the slug is taken."""
    box = await cash_boxes.create(db, slug=new.slug, name=new.name, now=clock.now())
    return CashBoxOut.model_validate(box)


def _a_month(text: str) -> str:
    Month.parse(text)  # 2026-13 is no month
    return text


MonthQuery = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-\d{2}$",
        description="Only this month's entries (`2026-12`), in the space's time zone.",
    ),
    AfterValidator(_a_month),
]


@router.get("/{slug}/statement", responses=refusals(404))
async def statement(
    slug: Annotated[str, Path(pattern=SLUG_PATTERN)],
    db: DbDep,
    paging: PagingDep,
    settings: SettingsDep,
    month: MonthQuery = None,
) -> Statement:
    """The box's balance and its entries newest first, each with the balance after it;
    paged by `before_id`, optionally only one `month`'s."""
    box = await cash_boxes.find(db, slug)
    since, until = Month.parse(month).span(settings.zone) if month else (None, None)
    query = partial(cash_boxes.statement, db, box.id, since=since, until=until)
    page = await paging.fetch(query, by_id)
    return Statement.model_validate({**asdict(box), **asdict(page)})
