"""Admin pages of the shop, for product managers and admins: the products with their stock and
categories, and one product's edit, aliases, restock, stocktake and stock movements.

Every form posts to an address of its own and goes back (303) to its page when done; a refused
form is its page again, the error beside the field. The rules are the JSON API's: its request
models and functions (`api.admin.products`) on `core.products` and `core.stock`. A page holds
several forms, so each form's fields are posted as `<form>-<field>` (two of them have a `note`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from api.admin.products import (
    EAN_CHECK_DIGIT,
    NewAlias,
    NewCategory,
    NewProduct,
    ProductChanges,
    Restock,
    Stocktake,
    add_product,
    change_product,
)
from api.auth import ClockDep
from api.deps import DbDep
from api.fields import DEFAULT_LIMIT, Paging, PagingDep
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify, render
from api.web.viewer import PageNotFound, ProductManagerViewerDep, Viewer
from core import products, stock
from core.errors import Conflict, DomainError, NotFound
from core.formats import CATEGORY_MAX, STOCK_MAX
from core.origin import Origin
from core.paging import by_id
from core.products import ProductInfo

router = APIRouter(include_in_schema=False)

LIST = "/admin/products"
M = TypeVar("M", bound=BaseModel)
FIRST_PAGE = Paging(DEFAULT_LIMIT, None)
CategoryFilter = Annotated[str | None, Query(max_length=CATEGORY_MAX)]


class NewProductForm(NewProduct):
    """The page adds what the JSON API leaves to a restock: the units already on the shelf."""

    initial_stock: int | None = Field(default=None, ge=0, le=STOCK_MAX)


def _checked(
    model: type[M], form: FormData, viewer: Viewer, prefix: str, **fixed: str
) -> tuple[M | None, FieldErrors, dict[str, str]]:
    """Form `prefix`'s fields (with `fixed` put in) as `model`; its errors and the values
    to show again keyed by the posted names."""
    fields = {
        key.removeprefix(f"{prefix}-"): value
        for key, value in form.items()
        if key.startswith(f"{prefix}-") and isinstance(value, str)
    } | fixed
    _ = gettext_for(viewer.language)
    messages = {EAN_CHECK_DIGIT: _("The last digit does not fit: please check the EAN.")}
    checked, errors = validated(
        model, fields, viewer.formats, money=("price_cents",), messages=messages
    )
    posted = {f"{prefix}-{key}": value for key, value in fields.items()}
    return checked, {f"{prefix}-{key}": text for key, text in errors.items()}, posted


async def _product(db: AsyncSession, viewer: Viewer, ean: str) -> ProductInfo:
    try:
        return await products.find(db, products.check_ean(ean))
    except (ValueError, DomainError):
        raise PageNotFound(viewer) from None


def _back(request: Request, to: str, text: str) -> Response:
    notify(request, text)
    return RedirectResponse(to, status_code=303)


async def _list_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    *,
    category: str | None = None,
    errors: FieldErrors | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "admin_section": LIST,
        "products": await products.all_details(db, category=category),
        "categories": await products.categories(db),
        "category": category,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, viewer, "admin/products/list.html", context, status=status)


@router.get(LIST)
async def product_list(
    request: Request, viewer: ProductManagerViewerDep, db: DbDep, category: CategoryFilter = None
) -> Response:
    """Every product with its price and stock, optionally of one category; a product and a
    category can be added here."""
    return await _list_page(request, viewer, db, category=category or None)


@router.post(LIST)
async def product_add(
    request: Request, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    new, errors, values = _checked(NewProductForm, await request.form(), viewer, "new")
    _ = gettext_for(viewer.language)
    if new is None:
        return await _list_page(request, viewer, db, errors=errors, values=values, status=422)
    try:
        async with db.begin_nested():
            created = await add_product(db, new, now=clock.now())
            if new.initial_stock:
                origin = Origin(now=clock.now(), actor=_actor(viewer))
                await stock.restock(db, created.ean, new.initial_stock, origin)
    except Conflict:
        errors = {"new-ean": _("This EAN already names a product.")}
        return await _list_page(request, viewer, db, errors=errors, values=values, status=409)
    return _back(request, f"{LIST}/{created.ean}", _("%(name)s added.") % {"name": created.name})


@router.post("/admin/categories")
async def category_add(request: Request, viewer: ProductManagerViewerDep, db: DbDep) -> Response:
    new, errors, values = _checked(NewCategory, await request.form(), viewer, "category")
    _ = gettext_for(viewer.language)
    if new is None:
        return await _list_page(request, viewer, db, errors=errors, values=values, status=422)
    try:
        async with db.begin_nested():
            created = await products.create_category(db, new.name)
    except Conflict:
        errors = {"category-name": _("A category of this name exists.")}
        return await _list_page(request, viewer, db, errors=errors, values=values, status=409)
    return _back(
        request, f"{LIST}#categories", _("Category %(name)s added.") % {"name": created.name}
    )


def _actor(viewer: Viewer) -> str | None:
    return None if viewer.principal is None else viewer.principal.subject


async def _product_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    product: ProductInfo,
    *,
    paging: Paging = FIRST_PAGE,
    errors: FieldErrors | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    history = partial(stock.movements, db, product.product_id)
    movements = await paging.fetch(history, by_id)
    context: dict[str, Any] = {
        "admin_section": LIST,
        "product": await products.detail(db, product),
        "categories": await products.categories(db),
        "movements": movements,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, viewer, "admin/products/product.html", context, status=status)


@router.get(LIST + "/{ean}")
async def product_page(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, paging: PagingDep
) -> Response:
    """One product: its edit, aliases, restock, stocktake and stock movements (newest first)."""
    product = await _product(db, viewer, ean)
    return await _product_page(request, viewer, db, product, paging=paging)


@router.post(LIST + "/{ean}")
async def product_edit(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep
) -> Response:
    product = await _product(db, viewer, ean)
    form = await request.form()
    # An unticked checkbox is not posted at all: here it means "no".
    ticked = {box: str(f"edit-{box}" in form).lower() for box in ("active", "allow_negative_stock")}
    changes, errors, values = _checked(ProductChanges, form, viewer, "edit", **ticked)
    _ = gettext_for(viewer.language)
    if changes is None:
        return await _product_page(
            request, viewer, db, product, errors=errors, values=values, status=422
        )
    if changes.category is None:
        changes = changes.model_copy(update={"category": None})
    try:
        async with db.begin_nested():
            await change_product(db, product.ean, changes)
    except Conflict:
        errors = {"edit-allow_negative_stock": _("The stock is below 0: count it first.")}
        return await _product_page(
            request, viewer, db, product, errors=errors, values=values, status=409
        )
    return _back(request, f"{LIST}/{product.ean}", _("Saved."))


@router.post(LIST + "/{ean}/aliases")
async def alias_add(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep
) -> Response:
    product = await _product(db, viewer, ean)
    new, errors, values = _checked(NewAlias, await request.form(), viewer, "alias")
    _ = gettext_for(viewer.language)
    if new is not None:
        try:
            async with db.begin_nested():
                await products.add_alias(db, product.ean, new.alias)
        except Conflict:
            errors = {"alias-alias": _("This EAN already names a product.")}
        else:
            return _back(
                request, f"{LIST}/{product.ean}", _("Alias %(ean)s added.") % {"ean": new.alias}
            )
    return await _product_page(
        request, viewer, db, product, errors=errors, values=values, status=409 if new else 422
    )


@router.post(LIST + "/{ean}/aliases/{alias}/remove")
async def alias_remove(
    request: Request, ean: str, alias: str, viewer: ProductManagerViewerDep, db: DbDep
) -> Response:
    product = await _product(db, viewer, ean)
    _ = gettext_for(viewer.language)
    try:
        async with db.begin_nested():
            await products.remove_alias(db, product.ean, alias)
    except (ValueError, NotFound, Conflict):
        errors = {"": _("%(ean)s is not an alias of this product.") % {"ean": alias}}
        return await _product_page(request, viewer, db, product, errors=errors, status=404)
    return _back(request, f"{LIST}/{product.ean}", _("Alias %(ean)s removed.") % {"ean": alias})


@router.post(LIST + "/{ean}/restock")
async def restock(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    product = await _product(db, viewer, ean)
    arrived, errors, values = _checked(Restock, await request.form(), viewer, "restock")
    _ = gettext_for(viewer.language)
    if arrived is not None:
        origin = Origin(now=clock.now(), actor=_actor(viewer))
        try:
            async with db.begin_nested():
                change = await stock.restock(
                    db, product.ean, arrived.count, origin, reason=arrived.note
                )
        except Conflict:
            limit = viewer.formats.number(STOCK_MAX)
            errors = {"restock-count": _("The stock would pass %(limit)s.") % {"limit": limit}}
        else:
            text = _("%(count)s added: %(stock)s in stock.") % {
                "count": viewer.formats.number(change.delta),
                "stock": viewer.formats.number(change.stock_after),
            }
            return _back(request, f"{LIST}/{product.ean}", text)
    return await _product_page(
        request, viewer, db, product, errors=errors, values=values, status=409 if arrived else 422
    )


@router.post(LIST + "/{ean}/stocktake")
async def stocktake(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    product = await _product(db, viewer, ean)
    count, errors, values = _checked(Stocktake, await request.form(), viewer, "stocktake")
    _ = gettext_for(viewer.language)
    if count is None:
        return await _product_page(
            request, viewer, db, product, errors=errors, values=values, status=422
        )
    origin = Origin(now=clock.now(), actor=_actor(viewer))
    change = await stock.stocktake(db, product.ean, count.counted, origin, reason=count.note)
    counted = viewer.formats.number(change.stock_after)
    if change.delta == 0:
        text = _("Counted %(count)s, as expected.") % {"count": counted}
    else:
        text = _("Counted %(count)s: the stock was corrected by %(delta)s.") % {
            "count": counted,
            "delta": f"{change.delta:+d}",
        }
    return _back(request, f"{LIST}/{product.ean}", text)
