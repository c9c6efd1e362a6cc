"""The audit trail's pages: who changed what, when, from what to what; filtered by entity and
by person (or device), paged like the JSON routes. Admins read all of it at /admin/audit; lab
technicians read the lending workflow's share at /lab/audit (as `GET /api/v1/lab/audit`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.audit import ENTITY_ID_MAX, ENTITY_MAX, ENTITY_PATTERN
from api.deps import DbDep
from api.fields import PRINTABLE, REQUEST, SUBJECT_PATTERN
from api.web.admin.member_page import BeforeIdDep
from api.web.forms import validated
from api.web.render import render
from api.web.viewer import AdminViewerDep, TechnicianViewerDep, Viewer
from core import audit
from core.formats import SUBJECT_MAX
from core.paging import PAGE_DEFAULT

router = APIRouter(include_in_schema=False)
SECTION = "/admin/audit"
LAB = "/lab/audit"


class Filters(BaseModel):
    """The filter form, with the JSON route's rules; an empty field filters nothing."""

    model_config = REQUEST
    entity: Annotated[str, StringConstraints(max_length=ENTITY_MAX, pattern=ENTITY_PATTERN)] = ""
    entity_id: Annotated[str, StringConstraints(max_length=ENTITY_ID_MAX, pattern=PRINTABLE)] = ""
    actor: Annotated[str, StringConstraints(max_length=SUBJECT_MAX, pattern=SUBJECT_PATTERN)] = ""


@router.get(SECTION)
async def audit_page(
    request: Request, viewer: AdminViewerDep, db: DbDep, before_id: BeforeIdDep
) -> Response:
    """The whole trail newest first, filtered by what (`entity`, `entity_id`) and who (`actor`)."""
    context, status = await _trail(request, viewer, db, before_id, among=None)
    context["admin_section"] = SECTION
    return render(request, viewer, "admin/audit/list.html", context, status=status)


@router.get(LAB)
async def lab_audit_page(
    request: Request, viewer: TechnicianViewerDep, db: DbDep, before_id: BeforeIdDep
) -> Response:
    """The rows about projects, equipment requests and rental items, filtered as above."""
    context, status = await _trail(request, viewer, db, before_id, among=audit.LENDING)
    return render(request, viewer, "lab/audit.html", context, status=status)


async def _trail(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    before_id: int | None,
    *,
    among: frozenset[str] | None,
) -> tuple[dict[str, Any], int]:
    """The page's context (the filter as typed, its errors, the choices, the rows found) and
    its status: 422 for a filter that breaks the JSON route's rules."""
    typed = {name: request.query_params.get(name, "") for name in Filters.model_fields}
    filters, errors = validated(Filters, typed, viewer.formats)
    found = None
    if filters is not None:
        found = await audit.events(
            db,
            limit=PAGE_DEFAULT,
            before_id=before_id,
            entity=filters.entity or None,
            entity_id=filters.entity_id or None,
            actor_id=filters.actor or None,
            among=among,
        )
    context = {
        "typed": typed,
        "errors": errors,
        "entities": await audit.entities(db, among=among),
        "found": found,
    }
    return context, 422 if errors else 200
