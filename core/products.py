"""The catalogue: products, their categories and alias EANs, and looking a product up by any EAN.

Every EAN of a product (the primary one and its aliases) is a row of `product_codes`, so the
database itself keeps an EAN from naming two products.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core import audit
from core.audit import Actor
from core.db import run
from core.errors import Conflict, NotFound, ProductInactive, UnknownProduct
from core.formats import CATEGORY_MAX, EAN_PATTERN, NAME_MAX, PRICE_MAX_CENTS
from core.models import Category, Product, ProductCode

_EAN = re.compile(EAN_PATTERN)

# The scanned code and the product's primary code are two rows of the same table.
_Scanned = aliased(ProductCode)
_Primary = aliased(ProductCode)


@dataclass(frozen=True)
class ProductInfo:
    """A product as a terminal or an admin sees it; `ean` is always the primary EAN."""

    product_id: int
    ean: str
    name: str
    price_cents: int
    stock: int
    category: str | None
    active: bool
    allow_negative_stock: bool

    @property
    def in_stock(self) -> bool:
        """Whether a terminal can sell one now."""
        return self.stock > 0 or self.allow_negative_stock


@dataclass(frozen=True)
class ProductDetail(ProductInfo):
    """A product with the further EANs that name it, as the admin sees it."""

    aliases: tuple[str, ...]


def check_ean(raw: str) -> str:
    """An EAN is 8 to 14 digits, or ValueError."""
    ean = raw.strip()
    if not _EAN.match(ean):
        raise ValueError(f"EAN {raw!r} must be 8 to 14 digits")
    return ean


def check_digit(digits: str) -> str:
    """The GS1 check digit that completes `digits` (an EAN without its last digit): weights
    3 and 1 alternate from the right."""
    total = sum(
        int(digit) * (3 if place % 2 == 0 else 1) for place, digit in enumerate(reversed(digits))
    )
    return str(-total % 10)


def has_valid_check_digit(ean: str) -> bool:
    """Whether the last digit of an EAN (8 to 14 digits) is its GS1 check digit: a mistyped
    digit or two swapped neighbours are caught before a new code is stored."""
    return bool(_EAN.match(ean)) and check_digit(ean[:-1]) == ean[-1]


def _trimmed(text: str, max_length: int, what: str) -> str:
    """`text` without surrounding blanks, if that is 1 to `max_length` characters."""
    text = text.strip()
    if not 1 <= len(text) <= max_length:
        raise ValueError(f"{what} is 1 to {max_length} characters")
    return text


def _check_name(name: str) -> str:
    return _trimmed(name, NAME_MAX, "a product name")


def _check_price(price_cents: int) -> int:
    if price_cents < 0:
        raise ValueError("a price cannot be negative")
    if price_cents > PRICE_MAX_CENTS:
        raise ValueError(f"a price is at most {PRICE_MAX_CENTS} cents")
    return price_cents


def _check_category(name: str) -> str:
    return _trimmed(name, CATEGORY_MAX, "a category name")


@dataclass(frozen=True)
class CategoryInfo:
    """A category and how many products (active or not) it holds."""

    name: str
    product_count: int


# Labelled as ProductInfo's fields.
_INFO = (
    select(
        Product.id.label("product_id"),
        _Primary.ean.label("ean"),
        Product.name,
        Product.price_cents,
        Product.stock,
        Category.name.label("category"),
        Product.active,
        Product.allow_negative_stock,
    )
    .join(_Primary, (_Primary.product_id == Product.id) & _Primary.is_primary)
    .outerjoin(Category, Category.id == Product.category_id)
)


async def find_many(db: AsyncSession, eans: Sequence[str]) -> dict[str, ProductInfo]:
    """The products these EANs or aliases name, active or not, by the EAN asked for; an EAN
    that names no product is left out."""
    rows = await run(
        db,
        _INFO.add_columns(_Scanned.ean.label("scanned"))
        .join(_Scanned, _Scanned.product_id == Product.id)
        .where(_Scanned.ean.in_(eans)),
    )
    return {
        row.scanned: ProductInfo(**{k: v for k, v in row._mapping.items() if k != "scanned"})
        for row in rows.all()
    }


def _known(product: ProductInfo | None, ean: str) -> ProductInfo:
    if product is None:
        raise UnknownProduct(f"no product has EAN {ean}", ean=ean)
    return product


def for_sale(product: ProductInfo | None, ean: str) -> ProductInfo:
    """The product found under `ean` (None: nothing was) if it is for sale; UnknownProduct or
    ProductInactive otherwise."""
    product = _known(product, ean)
    if not product.active:
        raise ProductInactive(f"{product.name} is not for sale", ean=ean)
    return product


async def find(db: AsyncSession, ean: str) -> ProductInfo:
    """The product an EAN or alias names, active or not; UnknownProduct if none does."""
    return _known((await find_many(db, [ean])).get(ean), ean)


async def lookup(db: AsyncSession, ean: str) -> ProductInfo:
    """The product for sale under an EAN or alias; UnknownProduct or ProductInactive otherwise."""
    return for_sale((await find_many(db, [ean])).get(ean), ean)


async def list_all(db: AsyncSession, *, category: str | None = None) -> list[ProductInfo]:
    """Every product, active or not, by name; optionally of one category."""
    statement = _INFO if category is None else _INFO.where(Category.name == category)
    rows = await run(db, statement.order_by(Product.name, Product.id))
    return [ProductInfo(**row._mapping) for row in rows.all()]


async def aliases(db: AsyncSession, product_id: int) -> list[str]:
    """A product's alias EANs (not its primary one), sorted."""
    rows = await run(
        db,
        select(ProductCode.ean)
        .where(ProductCode.product_id == product_id, ProductCode.is_primary.is_(False))
        .order_by(ProductCode.ean),
    )
    return list(rows.scalars())


async def category_id(db: AsyncSession, name: str) -> int:
    """The id of the category with this name, created when new."""
    name = _check_category(name)
    found = await db.scalar(select(Category.id).where(Category.name == name))
    if found is not None:
        return int(found)
    try:
        async with db.begin_nested():
            created = await run(db, insert(Category).values(name=name).returning(Category.id))
            return int(created.scalar_one())
    except IntegrityError:
        # Another transaction created it first.
        return int((await run(db, select(Category.id).where(Category.name == name))).scalar_one())


async def _add_code(db: AsyncSession, ean: str, product_id: int, *, primary: bool) -> None:
    try:
        async with db.begin_nested():
            await run(
                db, insert(ProductCode).values(ean=ean, product_id=product_id, is_primary=primary)
            )
    except IntegrityError:
        raise Conflict(f"EAN {ean} already names a product", ean=ean) from None


async def create(
    db: AsyncSession,
    *,
    ean: str,
    name: str,
    price_cents: int,
    now: datetime,
    actor: Actor,
    category: str | None = None,
    allow_negative_stock: bool = False,
) -> ProductInfo:
    """A new active product with no stock (stock arrives as a restock movement)."""
    ean = check_ean(ean)
    values = {
        "name": _check_name(name),
        "price_cents": _check_price(price_cents),
        "category_id": None if category is None else await category_id(db, category),
        "stock": 0,
        "active": True,
        "allow_negative_stock": allow_negative_stock,
        "created_at": now,
    }
    product_id = (
        await run(db, insert(Product).values(**values).returning(Product.id))
    ).scalar_one()
    await _add_code(db, ean, product_id, primary=True)
    created = await find(db, ean)
    fields = asdict(created)
    new = audit.values(**{name: fields[name] for name in _AUDITED_FIELDS})
    await audit.PRODUCT.record(db, ean, "create", actor=actor, now=now, new=new)
    return created


async def add_alias(
    db: AsyncSession, ean: str, alias: str, *, actor: Actor, now: datetime
) -> ProductInfo:
    """Let another EAN (a multipack, a new label) name the product that `ean` names."""
    product = await find(db, check_ean(ean))
    alias = check_ean(alias)
    await _add_code(db, alias, product.product_id, primary=False)
    new = audit.values(alias=alias)
    await audit.PRODUCT.record(db, product.ean, "add_alias", actor=actor, now=now, new=new)
    return product


async def update_product(
    db: AsyncSession,
    ean: str,
    *,
    name: str | None = None,
    price_cents: int | None = None,
    category: str | None = None,
    clear_category: bool = False,
    allow_negative_stock: bool | None = None,
    actor: Actor,
    now: datetime,
) -> ProductInfo:
    """Change what is given (`clear_category` leaves it in none); the stock changes only
    through `core.stock`."""
    product = await find(db, check_ean(ean))
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = _check_name(name)
    if price_cents is not None:
        values["price_cents"] = _check_price(price_cents)
    if category is not None:
        values["category_id"] = await category_id(db, category)
    elif clear_category:
        values["category_id"] = None
    condition = Product.id == product.product_id
    if allow_negative_stock is not None:
        values["allow_negative_stock"] = allow_negative_stock
        if not allow_negative_stock:
            # Checked in the UPDATE: the stock may have gone negative since `find`.
            condition = condition & (Product.stock >= 0)
    if values:
        result = await run(db, update(Product).where(condition).values(**values))
        if not result.rowcount:
            raise Conflict(
                f"{product.name} has negative stock: count it before forbidding that", ean=ean
            )
    return await _audited(db, product, "update", actor=actor, now=now)


async def set_active(
    db: AsyncSession, ean: str, *, active: bool, actor: Actor, now: datetime
) -> ProductInfo:
    """Take a product off sale (terminals then answer `product_inactive`) or back on."""
    product = await find(db, check_ean(ean))
    await run(db, update(Product).where(Product.id == product.product_id).values(active=active))
    action = "activate" if active else "deactivate"
    return await _audited(db, product, action, actor=actor, now=now)


_AUDITED_FIELDS = ("name", "price_cents", "category", "active", "allow_negative_stock")


async def _audited(
    db: AsyncSession, before: ProductInfo, action: str, *, actor: Actor, now: datetime
) -> ProductInfo:
    """The product after a change, with an audit row of the fields it changed (if any)."""
    after = await find(db, before.ean)
    old, new = asdict(before), asdict(after)
    changed = [name for name in _AUDITED_FIELDS if old[name] != new[name]]
    if changed:
        await audit.PRODUCT.record(
            db,
            after.ean,
            action,
            actor=actor,
            now=now,
            old=audit.values(**{name: old[name] for name in changed}),
            new=audit.values(**{name: new[name] for name in changed}),
        )
    return after


async def catalogue(db: AsyncSession, *, category: str | None = None) -> list[ProductInfo]:
    """The active products, by name; optionally of one category."""
    statement = _INFO.where(Product.active.is_(True))
    if category is not None:
        statement = statement.where(Category.name == category)
    rows = await run(db, statement.order_by(Product.name, Product.id))
    return [ProductInfo(**row._mapping) for row in rows.all()]


def _detail(product: ProductInfo, aliases: Iterable[str]) -> ProductDetail:
    return ProductDetail(**asdict(product), aliases=tuple(aliases))


async def detail(db: AsyncSession, product: ProductInfo) -> ProductDetail:
    """The product with its alias EANs."""
    return _detail(product, await aliases(db, product.product_id))


async def all_details(db: AsyncSession, *, category: str | None = None) -> list[ProductDetail]:
    """Every product, active or not, by name, with its alias EANs; optionally of one category."""
    rows = await run(
        db,
        select(ProductCode.product_id, ProductCode.ean)
        .where(ProductCode.is_primary.is_(False))
        .order_by(ProductCode.product_id, ProductCode.ean),
    )
    codes: dict[int, list[str]] = {}
    for row in rows.all():
        codes.setdefault(row.product_id, []).append(row.ean)
    listed = await list_all(db, category=category)
    return [_detail(product, codes.get(product.product_id, ())) for product in listed]


async def remove_alias(
    db: AsyncSession, ean: str, alias: str, *, actor: Actor, now: datetime
) -> ProductInfo:
    """Stop `alias` naming the product that `ean` names; its primary EAN cannot be removed."""
    product = await find(db, check_ean(ean))
    alias = check_ean(alias)
    if alias == product.ean:
        raise Conflict(f"{alias} is the primary EAN of {product.name}, not an alias", ean=alias)
    result = await run(
        db,
        delete(ProductCode).where(
            ProductCode.ean == alias,
            ProductCode.product_id == product.product_id,
            ProductCode.is_primary.is_(False),
        ),
    )
    if not result.rowcount:
        raise NotFound(f"{alias} is not an alias of {product.name}", ean=alias)
    old = audit.values(alias=alias)
    await audit.PRODUCT.record(db, product.ean, "remove_alias", actor=actor, now=now, old=old)
    return product


async def categories(db: AsyncSession) -> list[CategoryInfo]:
    """Every category by name, with how many products (active or not) it holds."""
    rows = await run(
        db,
        select(Category.name, func.count(Product.id).label("product_count"))
        .outerjoin(Product, Product.category_id == Category.id)
        .group_by(Category.id, Category.name)
        .order_by(Category.name),
    )
    return [CategoryInfo(**row._mapping) for row in rows.all()]


async def create_category(
    db: AsyncSession, name: str, *, actor: Actor, now: datetime
) -> CategoryInfo:
    """A new, empty category; Conflict if the name is taken."""
    name = _check_category(name)
    try:
        async with db.begin_nested():
            await run(db, insert(Category).values(name=name))
    except IntegrityError:
        raise Conflict(f"category {name!r} exists already", category=name) from None
    await audit.CATEGORY.record(db, name, "create", actor=actor, now=now)
    return CategoryInfo(name, 0)
