"""Admin of the shop (product-manager or admin role): products, alias EANs, categories, stock
and its history."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep, ProductManagerDep, require_product_manager
from api.deps import DbDep
from api.fields import REQUEST, Page, PagingDep, one_line, refusals
from core import products, stock
from core.audit import Actor
from core.formats import CATEGORY_MAX, EAN_PATTERN, NAME_MAX, PRICE_MAX_CENTS, STOCK_MAX
from core.origin import Origin
from core.paging import by_id
from core.products import ProductDetail, ProductInfo

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin: products"],
    dependencies=[Depends(require_product_manager)],
    responses=refusals(401, {403: "Needs the product-manager or admin role."}),
)

NOTE_MAX = 500

EAN_CHECK_DIGIT = "ean_check_digit"


def _with_check_digit(ean: str) -> str:
    if not products.has_valid_check_digit(ean):
        raise PydanticCustomError(EAN_CHECK_DIGIT, "the last digit is not the EAN's check digit")
    return ean


# A code that is about to be stored: a typo would otherwise name a product no scanner reads.
NewEan = Annotated[
    str,
    Field(
        pattern=EAN_PATTERN,
        examples=["4029764001807"],
        description="8 to 14 digits, the last one the GS1 check digit.",
    ),
    AfterValidator(_with_check_digit),
]
ProductName = Annotated[str, one_line(NAME_MAX)]
CategoryName = Annotated[str, one_line(CATEGORY_MAX)]
Note = Annotated[str, one_line(NOTE_MAX)]
PriceCents = Annotated[int, Field(ge=0, le=PRICE_MAX_CENTS)]
EanPath = Annotated[
    str, Path(pattern=EAN_PATTERN, description="The product's EAN or one of its aliases.")
]

_UNKNOWN = {404: "No product has this EAN (nor alias)."}


class AdminProduct(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ean: str = Field(description="The primary EAN.")
    aliases: list[str] = Field(description="Further EANs that name this product.")
    name: str
    price_cents: int
    category: str | None
    stock: int
    active: bool = Field(description="For sale; terminals answer product_inactive otherwise.")
    allow_negative_stock: bool


class NewProduct(BaseModel):
    model_config = REQUEST

    ean: NewEan
    name: ProductName
    price_cents: PriceCents
    category: CategoryName | None = Field(default=None, description="Created when new.")
    allow_negative_stock: bool = False


class ProductChanges(BaseModel):
    """Only the fields given change; null leaves a field as it is, except for `category`."""

    model_config = REQUEST

    name: ProductName | None = None
    price_cents: PriceCents | None = None
    category: CategoryName | None = Field(
        default=None, description="Created when new; an explicit null takes the product out."
    )
    active: bool | None = None
    allow_negative_stock: bool | None = Field(
        default=None, description="false is refused (409) while the stock is negative."
    )


class NewAlias(BaseModel):
    model_config = REQUEST

    alias: NewEan


class Restock(BaseModel):
    model_config = REQUEST

    count: int = Field(ge=1, le=STOCK_MAX, description="Units that arrived.")
    note: Note | None = None


class Stocktake(BaseModel):
    model_config = REQUEST

    counted: int = Field(ge=0, le=STOCK_MAX, description="Units found on the shelf.")
    note: Note | None = None


class StockChange(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ean: str
    delta: int = Field(description="Units added (negative: removed).")
    stock_after: int


class StockMovement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: stock.MovementKind
    delta: int
    stock_after: int
    member_id: int | None = Field(description="The member who bought (purchases).")
    device_id: int | None = Field(description="The terminal it came from (purchases).")
    request_id: str | None
    actor: str | None = Field(description="Who did it from the web or the CLI.")
    note: str | None
    created_at: datetime


class StockMovementPage(Page[StockMovement]):
    """A product's stock movements, newest first."""


class ProductCategory(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    product_count: int


class NewCategory(BaseModel):
    model_config = REQUEST

    name: CategoryName


@router.get("/products")
async def list_products(db: DbDep) -> list[AdminProduct]:
    """Every product, active or not, by name, with its aliases and stock."""
    return [AdminProduct.model_validate(found) for found in await products.all_details(db)]


@router.post(
    "/products",
    status_code=status.HTTP_201_CREATED,
    responses=refusals({409: "The EAN already names a product (as its EAN or alias)."}),
)
async def create_product(
    body: NewProduct, db: DbDep, clock: ClockDep, principal: ProductManagerDep
) -> AdminProduct:
    """Add an active product with no stock; stock arrives by a restock."""
    created = await add_product(db, body, actor=principal.actor, now=clock.now())
    return AdminProduct.model_validate(await products.detail(db, created))


async def add_product(
    db: AsyncSession, body: NewProduct, *, actor: Actor, now: datetime
) -> ProductInfo:
    """Create the product `body` describes (the JSON route's and the page's)."""
    return await products.create(
        db,
        ean=body.ean,
        name=body.name,
        price_cents=body.price_cents,
        category=body.category,
        allow_negative_stock=body.allow_negative_stock,
        actor=actor,
        now=now,
    )


@router.get("/products/{ean}", responses=refusals(_UNKNOWN))
async def get_product(ean: EanPath, db: DbDep) -> AdminProduct:
    """One product, looked up by its EAN or an alias."""
    return AdminProduct.model_validate(await products.detail(db, await products.find(db, ean)))


@router.patch(
    "/products/{ean}",
    responses=refusals(_UNKNOWN, {409: "Negative stock may not be forbidden now."}),
)
async def update_product(
    ean: EanPath, body: ProductChanges, db: DbDep, clock: ClockDep, principal: ProductManagerDep
) -> AdminProduct:
    """Change name, price, category, whether it is for sale and whether stock may go below 0.

    The stock itself changes only by restock, stocktake and sales.
    """
    changed = await change_product(db, ean, body, Origin.of(principal.actor, now=clock.now()))
    return AdminProduct.model_validate(changed)


async def change_product(
    db: AsyncSession, ean: str, body: ProductChanges, origin: Origin
) -> ProductDetail:
    """Apply `body` to the product `ean` names (the JSON route's and the page's edit), as
    the person `origin` names."""
    actor, now = origin.who, origin.now
    product = await products.update_product(
        db,
        ean,
        name=body.name,
        price_cents=body.price_cents,
        category=body.category,
        clear_category="category" in body.model_fields_set and body.category is None,
        allow_negative_stock=body.allow_negative_stock,
        actor=actor,
        now=now,
    )
    if body.active is not None:
        product = await products.set_active(
            db, product.ean, active=body.active, actor=actor, now=now
        )
    return await products.detail(db, product)


@router.post(
    "/products/{ean}/aliases",
    status_code=status.HTTP_201_CREATED,
    responses=refusals(_UNKNOWN, {409: "The alias already names a product."}),
)
async def add_alias(
    ean: EanPath, body: NewAlias, db: DbDep, clock: ClockDep, principal: ProductManagerDep
) -> AdminProduct:
    """Let another EAN (a multipack, a new label) name this product."""
    product = await products.add_alias(db, ean, body.alias, actor=principal.actor, now=clock.now())
    return AdminProduct.model_validate(await products.detail(db, product))


@router.delete(
    "/products/{ean}/aliases/{alias}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(
        {
            404: "No such product, or the alias is not one of its aliases.",
            409: "That is the product's primary EAN.",
        }
    ),
)
async def remove_alias(
    ean: EanPath,
    alias: Annotated[str, Path(pattern=EAN_PATTERN)],
    db: DbDep,
    clock: ClockDep,
    principal: ProductManagerDep,
) -> None:
    """Stop an alias naming this product (the primary EAN stays)."""
    await products.remove_alias(db, ean, alias, actor=principal.actor, now=clock.now())


@router.post(
    "/products/{ean}/restock",
    responses=refusals(_UNKNOWN, {409: f"The stock would pass {STOCK_MAX}."}),
)
async def restock(
    ean: EanPath, body: Restock, db: DbDep, clock: ClockDep, principal: ProductManagerDep
) -> StockChange:
    """Book units that arrived; recorded as a `restock` movement with you as its actor."""
    origin = Origin.of(principal.actor, now=clock.now())
    change = await stock.restock(db, ean, body.count, origin, reason=body.note)
    return StockChange.model_validate(change)


@router.post("/products/{ean}/stocktake", responses=refusals(_UNKNOWN))
async def stocktake(
    ean: EanPath, body: Stocktake, db: DbDep, clock: ClockDep, principal: ProductManagerDep
) -> StockChange:
    """Set the stock to the units counted on the shelf; the `stocktaking` movement records the
    difference to the stock the system expected."""
    origin = Origin.of(principal.actor, now=clock.now())
    change = await stock.stocktake(db, ean, body.counted, origin, reason=body.note)
    return StockChange.model_validate(change)


@router.get("/products/{ean}/movements", responses=refusals(_UNKNOWN))
async def list_movements(ean: EanPath, db: DbDep, paging: PagingDep) -> StockMovementPage:
    """The product's stock history, newest first: sales, restocks, stocktakes, corrections."""
    product = await products.find(db, ean)
    page = await paging.fetch(partial(stock.movements, db, product.product_id), by_id)
    return StockMovementPage.model_validate(page)


@router.get("/categories")
async def list_categories(db: DbDep) -> list[ProductCategory]:
    """Every category by name, with how many products (active or not) it holds."""
    return [ProductCategory.model_validate(found) for found in await products.categories(db)]


@router.post(
    "/categories",
    status_code=status.HTTP_201_CREATED,
    responses=refusals({409: "A category of that name exists."}),
)
async def create_category(
    body: NewCategory, db: DbDep, clock: ClockDep, principal: ProductManagerDep
) -> ProductCategory:
    """Add an empty category (products can also create one by naming it)."""
    created = await products.create_category(db, body.name, actor=principal.actor, now=clock.now())
    return ProductCategory.model_validate(created)
