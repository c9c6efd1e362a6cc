"""One product's admin page, for product managers and admins: its edit, aliases, restock,
stocktake and stock movements, on the JSON API's request models and functions
(`api.admin.products`) and `core.products` and `core.stock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.products import NewAlias, ProductChanges, Restock, Stocktake, change_product
from api.auth import ClockDep
from api.deps import DbDep
from api.fields import DEFAULT_LIMIT, Paging, PagingDep
from api.web.admin.shop_forms import LIST, Done, NoFields, Redo, origin_of, submitted
from api.web.forms import FieldErrors
from api.web.render import gettext_for, render
from api.web.viewer import PageNotFound, ProductManagerViewerDep, Viewer
from core import products, stock
from core.errors import Conflict, DomainError
from core.formats import STOCK_MAX
from core.paging import by_id
from core.products import ProductInfo

router = APIRouter(include_in_schema=False)

FIRST_PAGE = Paging(DEFAULT_LIMIT, None)


def _ean(viewer: Viewer, text: str) -> str:
    """An EAN from the address; an address with something else is no page."""
    try:
        return products.check_ean(text)
    except ValueError:
        raise PageNotFound(viewer) from None


async def _product(db: AsyncSession, viewer: Viewer, ean: str) -> ProductInfo:
    try:
        return await products.find(db, _ean(viewer, ean))
    except DomainError:
        raise PageNotFound(viewer) from None


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
    context: dict[str, Any] = {
        "admin_section": LIST,
        "product": await products.detail(db, product),
        "categories": await products.categories(db),
        "movements": await paging.fetch(history, by_id),
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


def _again(request: Request, viewer: Viewer, db: AsyncSession, product: ProductInfo) -> Redo:
    return partial(_product_page, request, viewer, db, product)


@router.post(LIST + "/{ean}")
async def product_edit(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    product = await _product(db, viewer, ean)
    _ = gettext_for(viewer.language)
    form = await request.form()
    # An unticked box is not posted at all: here that means "no".
    ticked = {box: str(f"edit-{box}" in form).lower() for box in ("active", "allow_negative_stock")}

    async def save(changes: ProductChanges) -> Done:
        # The empty choice is "no category", not "leave it as it is".
        await change_product(
            db,
            product.ean,
            changes.model_copy(update={"category": changes.category}),
            origin_of(viewer, clock),
        )
        return Done(f"{LIST}/{product.ean}", _("Saved."))

    negative = ("edit-allow_negative_stock", _("The stock is below 0: count it first."))
    return await submitted(
        request,
        viewer,
        db,
        form="edit",
        model=ProductChanges,
        act=save,
        redo=_again(request, viewer, db, product),
        refusals={Conflict: negative},
        fixed=ticked,
    )


@router.post(LIST + "/{ean}/aliases")
async def alias_add(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    product = await _product(db, viewer, ean)
    _ = gettext_for(viewer.language)

    async def add(new: NewAlias) -> Done:
        await products.add_alias(db, product.ean, new.alias, actor=viewer.actor, now=clock.now())
        return Done(f"{LIST}/{product.ean}", _("Alias %(ean)s added.") % {"ean": new.alias})

    return await submitted(
        request,
        viewer,
        db,
        form="alias",
        model=NewAlias,
        act=add,
        redo=_again(request, viewer, db, product),
        refusals={Conflict: ("alias-alias", _("This EAN already names a product."))},
    )


@router.post(LIST + "/{ean}/aliases/{alias}/remove")
async def alias_remove(
    request: Request,
    ean: str,
    alias: str,
    viewer: ProductManagerViewerDep,
    db: DbDep,
    clock: ClockDep,
) -> Response:
    product = await _product(db, viewer, ean)
    alias = _ean(viewer, alias)
    _ = gettext_for(viewer.language)

    async def remove(_nothing: NoFields) -> Done:
        await products.remove_alias(db, product.ean, alias, actor=viewer.actor, now=clock.now())
        return Done(f"{LIST}/{product.ean}", _("Alias %(ean)s removed.") % {"ean": alias})

    not_an_alias = ("", _("%(ean)s is not an alias of this product.") % {"ean": alias})
    return await submitted(
        request,
        viewer,
        db,
        form="remove",
        model=NoFields,
        act=remove,
        redo=_again(request, viewer, db, product),
        refusals={DomainError: not_an_alias},
    )


@router.post(LIST + "/{ean}/restock")
async def restock(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    product = await _product(db, viewer, ean)
    _ = gettext_for(viewer.language)
    number = viewer.formats.number

    async def book(arrived: Restock) -> Done:
        origin = origin_of(viewer, clock)
        change = await stock.restock(db, product.ean, arrived.count, origin, reason=arrived.note)
        text = _("%(count)s added: %(stock)s in stock.") % {
            "count": number(change.delta),
            "stock": number(change.stock_after),
        }
        return Done(f"{LIST}/{product.ean}", text)

    too_many = _("The stock would pass %(limit)s.") % {"limit": number(STOCK_MAX)}
    return await submitted(
        request,
        viewer,
        db,
        form="restock",
        model=Restock,
        act=book,
        redo=_again(request, viewer, db, product),
        refusals={Conflict: ("restock-count", too_many)},
    )


@router.post(LIST + "/{ean}/stocktake")
async def stocktake(
    request: Request, ean: str, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    product = await _product(db, viewer, ean)
    _ = gettext_for(viewer.language)

    async def count(counted: Stocktake) -> Done:
        origin = origin_of(viewer, clock)
        change = await stock.stocktake(
            db, product.ean, counted.counted, origin, reason=counted.note
        )
        shown = viewer.formats.number(change.stock_after)
        if change.delta == 0:
            text = _("Counted %(count)s, as expected.") % {"count": shown}
        else:
            text = _("Counted %(count)s: the stock was corrected by %(delta)s.") % {
                "count": shown,
                "delta": f"{change.delta:+d}",
            }
        return Done(f"{LIST}/{product.ean}", text)

    return await submitted(
        request,
        viewer,
        db,
        form="stocktake",
        model=Stocktake,
        act=count,
        redo=_again(request, viewer, db, product),
    )
