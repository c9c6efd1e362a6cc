"""The public product catalogue: what the shop sells, for anyone."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.deps import DbDep
from api.fields import PRINTABLE
from core import products
from core.formats import CATEGORY_MAX

router = APIRouter(prefix="/api/v1", tags=["public"])


class CatalogueProduct(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ean: str
    name: str
    price_cents: int
    category: str | None
    in_stock: bool


@router.get("/products")
async def list_products(
    db: DbDep,
    category: str | None = Query(
        default=None,
        max_length=CATEGORY_MAX,
        pattern=PRINTABLE,
        description="Only products of this category.",
    ),
) -> list[CatalogueProduct]:
    """The active products, by name; money in integer cents."""
    return [
        CatalogueProduct.model_validate(product)
        for product in await products.catalogue(db, category=category)
    ]
