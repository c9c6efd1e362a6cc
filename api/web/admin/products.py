"""Admin pages of the shop, for product managers and admins: the products with their price,
stock and category, adding a product, and the categories; one product's page is
`api.web.admin.product`.

The rules are the JSON API's: its request models and functions (`api.admin.products`) on
`core.products` and `core.stock`; `api.web.admin.shop_forms` handles the forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.products import NewCategory, NewProduct, add_product
from api.auth import ClockDep
from api.deps import DbDep
from api.fields import PRINTABLE
from api.web.admin import product
from api.web.admin.shop_forms import LIST, Done, origin_of, submitted
from api.web.forms import FieldErrors
from api.web.render import gettext_for, render
from api.web.viewer import ProductManagerViewerDep, Viewer
from core import products, stock
from core.errors import Conflict
from core.formats import CATEGORY_MAX, STOCK_MAX

router = APIRouter(include_in_schema=False)
router.include_router(product.router)

CategoryFilter = Annotated[str | None, Query(max_length=CATEGORY_MAX, pattern=PRINTABLE)]


class NewProductForm(NewProduct):
    """The page adds what the JSON API leaves to a restock: the units already on the shelf."""

    initial_stock: int | None = Field(default=None, ge=0, le=STOCK_MAX)


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
    _ = gettext_for(viewer.language)

    async def add(new: NewProductForm) -> Done:
        created = await add_product(db, new, actor=viewer.actor, now=clock.now())
        if new.initial_stock:
            await stock.restock(db, created.ean, new.initial_stock, origin_of(viewer, clock))
        return Done(f"{LIST}/{created.ean}", _("%(name)s added.") % {"name": created.name})

    return await submitted(
        request,
        viewer,
        db,
        form="new",
        model=NewProductForm,
        act=add,
        redo=partial(_list_page, request, viewer, db),
        refusals={Conflict: ("new-ean", _("This EAN already names a product."))},
    )


@router.post("/admin/categories")
async def category_add(
    request: Request, viewer: ProductManagerViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    _ = gettext_for(viewer.language)

    async def add(new: NewCategory) -> Done:
        created = await products.create_category(db, new.name, actor=viewer.actor, now=clock.now())
        return Done(f"{LIST}#categories", _("Category %(name)s added.") % {"name": created.name})

    return await submitted(
        request,
        viewer,
        db,
        form="category",
        model=NewCategory,
        act=add,
        redo=partial(_list_page, request, viewer, db),
        refusals={Conflict: ("category-name", _("A category of this name exists."))},
    )
