"""Pages for everyone: the start page of the space, the product catalogue, and the welcome for
a login that has no member account yet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DbDep
from api.web.render import render
from api.web.site import home_of
from api.web.viewer import ViewerDep
from core import products
from core.products import ProductInfo

router = APIRouter(include_in_schema=False)

Group = tuple[str | None, list[ProductInfo]]


@router.get("/")
async def start(request: Request, viewer: ViewerDep) -> Response:
    """What the space is and how to log in; a logged-in person goes on to their own page."""
    if viewer.principal is not None and not viewer.principal.is_token:
        return RedirectResponse(home_of(viewer), status_code=303)
    return render(request, viewer, "public/start.html")


def by_category(listed: list[ProductInfo]) -> list[Group]:
    """The products under their category, categories by name, those without one last."""
    groups: dict[str | None, list[ProductInfo]] = {}
    for product in listed:
        groups.setdefault(product.category, []).append(product)
    return sorted(groups.items(), key=lambda group: (group[0] is None, group[0] or ""))


@router.get("/products")
async def catalogue(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    category: Annotated[str | None, Query()] = None,
) -> Response:
    """The active products with their prices and whether they are in stock, by category; the
    same catalogue as `/api/v1/products`. A category the shop does not have shows them all."""
    categories = [known.name for known in await products.categories(db)]
    chosen = category if category in categories else None
    listed = await products.catalogue(db, category=chosen)
    context = {"groups": by_category(listed), "categories": categories, "chosen": chosen}
    return render(request, viewer, "public/products.html", context)


@router.get("/welcome")
async def welcome(request: Request, viewer: ViewerDep) -> Response:
    """How to link a card, for a login without a member account (the site sends such logins
    here); for nobody, what this site is and the login. A member goes on to their page."""
    if viewer.member_id is not None:
        return RedirectResponse("/me", status_code=303)
    return render(request, viewer, "public/welcome.html")
