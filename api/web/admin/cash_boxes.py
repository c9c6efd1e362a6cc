"""Admin pages of the cash boxes: their balances, a new box, and a month's statement, on the
page and as a PDF. The figures are `core.cash_boxes.period_statement`'s, for both."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.admin.cash_boxes import NewCashBox
from api.auth import ClockDep
from api.deps import DbDep
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify, render
from api.web.statement_pdf import kind_words, month_name, statement_pdf
from api.web.viewer import AdminViewerDep, PageNotFound, Viewer
from core import cash_boxes
from core.clock import Clock
from core.errors import Conflict, UnknownTarget
from core.months import Month

router = APIRouter(include_in_schema=False)
SECTION = "/admin/cash-boxes"


async def _list_page(
    request: Request,
    viewer: Viewer,
    db: DbDep,
    *,
    form: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    boxes = await cash_boxes.all_boxes(db)
    context = {
        "admin_section": SECTION,
        "boxes": boxes,
        "total_cents": sum(box.balance_cents for box in boxes),
        "form": form or {},
        "errors": errors or {},
    }
    return render(request, viewer, "admin/cash_boxes/list.html", context, status=status)


@router.get(SECTION)
async def boxes_page(request: Request, viewer: AdminViewerDep, db: DbDep) -> Response:
    """Every box with its balance, their total, and a form for a new box."""
    return await _list_page(request, viewer, db)


@router.post(SECTION)
async def create_box(
    request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Create a box; its statement page is next."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    new, errors = validated(NewCashBox, form, viewer.formats)
    if new is None:
        return await _list_page(request, viewer, db, form=form, errors=errors, status=422)
    _ = gettext_for(viewer.language)
    try:
        async with db.begin_nested():
            box = await cash_boxes.create(db, slug=new.slug, name=new.name, now=clock.now())
    except Conflict:
        taken = {"slug": _("A cash box with this slug exists already.")}
        return await _list_page(request, viewer, db, form=form, errors=taken, status=409)
    notify(request, _("Cash box %(name)s created.") % {"name": box.name})
    return RedirectResponse(f"{SECTION}/{box.slug}", status_code=303)


async def _box(db: DbDep, viewer: Viewer, slug: str) -> cash_boxes.Box:
    try:
        return await cash_boxes.find(db, slug)
    except UnknownTarget:
        raise PageNotFound(viewer) from None


def _month(viewer: Viewer, text: str | None, clock: Clock) -> Month:
    """The month asked for; none (or an empty picker) is this month."""
    if not text:
        return Month.of(clock.now(), viewer.formats.zone)
    try:
        return Month.parse(text)
    except ValueError:
        raise PageNotFound(viewer) from None


async def _statement(
    db: DbDep, viewer: Viewer, slug: str, month: Month
) -> cash_boxes.PeriodStatement:
    start, end = month.span(viewer.formats.zone)
    return await cash_boxes.period_statement(db, await _box(db, viewer, slug), start, end)


def _pdf_path(slug: str, month: Month) -> str:
    return f"{SECTION}/{slug}/statement-{month}.pdf"


@router.get(SECTION + "/{slug}")
async def statement_page(
    slug: str,
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    clock: ClockDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    """A box's statement for one month (this month unless `?month=YYYY-MM`)."""
    shown = _month(viewer, month, clock)
    statement = await _statement(db, viewer, slug, shown)
    context = {
        "admin_section": SECTION,
        "statement": statement,
        "month": shown,
        "month_name": month_name(shown, viewer.formats),
        "previous_name": month_name(shown.previous, viewer.formats),
        "next_name": month_name(shown.next, viewer.formats),
        "kinds": kind_words(viewer.formats),
        "pdf_url": _pdf_path(slug, shown),
    }
    return render(request, viewer, "admin/cash_boxes/statement.html", context)


@router.get(SECTION + "/{slug}/statement-{month}.pdf")
async def statement_document(
    slug: str, month: str, request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """The month's statement as a PDF to download, in the viewer's language."""
    shown = _month(viewer, month, clock)
    statement = await _statement(db, viewer, slug, shown)
    space_name: str = request.app.state.settings.space_name
    pdf = await run_in_threadpool(
        statement_pdf, statement, shown, viewer.formats, space_name=space_name
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{statement.box.slug}-{shown}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
