"""`makerbus product add|alias|restock|stocktake|deactivate|list`: the shop from the shell
(the admin web pages and product managers' tokens do the same)."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core import products, stock
from core.clock import SystemClock
from core.origin import Origin
from core.products import ProductInfo
from makerbus.cli_common import ACTOR, TEXT_LINE, echo_json, in_database


def _ean(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return products.check_ean(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from None


def _origin() -> Origin:
    return Origin.of(ACTOR, now=SystemClock().now())


def _describe(product: ProductInfo) -> str:
    state = "" if product.active else ", inactive"
    return (
        f"{product.ean} {product.name!r}: {product.price_cents} cents, stock {product.stock}{state}"
    )


@click.group()
def product() -> None:
    """Products, categories, aliases and stock."""


@product.command()
@click.argument("ean", callback=_ean)
@click.option("--name", required=True, type=TEXT_LINE)
@click.option("--price-cents", type=click.IntRange(min=0), required=True)
@click.option("--category", type=TEXT_LINE, help="Created when new.")
@click.option("--stock", "initial", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--allow-negative-stock", is_flag=True, help="Keep selling when the count says 0.")
def add(
    ean: str,
    name: str,
    price_cents: int,
    category: str | None,
    initial: int,
    allow_negative_stock: bool,
) -> None:
    """Add a product; an initial stock is booked as a restock."""

    async def work(db: AsyncSession) -> ProductInfo:
        await products.create(
            db,
            ean=ean,
            name=name,
            price_cents=price_cents,
            category=category,
            allow_negative_stock=allow_negative_stock,
            actor=ACTOR,
            now=SystemClock().now(),
        )
        if initial:
            await stock.restock(db, ean, initial, _origin(), reason="initial stock")
        return await products.find(db, ean)

    click.echo(f"Added {_describe(in_database(work))}.")


@product.command()
@click.argument("ean", callback=_ean)
@click.argument("alias_ean", callback=_ean)
def alias(ean: str, alias_ean: str) -> None:
    """Let ALIAS_EAN name the product EAN names."""
    found = in_database(
        lambda db: products.add_alias(db, ean, alias_ean, actor=ACTOR, now=SystemClock().now())
    )
    click.echo(f"{alias_ean} now names {found.ean} {found.name!r}.")


@product.command()
@click.argument("ean", callback=_ean)
@click.argument("qty", type=click.IntRange(min=1))
@click.option("--reason", type=TEXT_LINE)
def restock(ean: str, qty: int, reason: str | None) -> None:
    """Add QTY units that arrived."""
    change = in_database(lambda db: stock.restock(db, ean, qty, _origin(), reason=reason))
    click.echo(f"{ean}: +{change.delta}, stock {change.stock_after}.")


@product.command()
@click.argument("ean", callback=_ean)
@click.argument("count", type=click.IntRange(min=0))
@click.option("--reason", type=TEXT_LINE)
def stocktake(ean: str, count: int, reason: str | None) -> None:
    """Set the stock to the COUNT found on the shelf."""
    change = in_database(lambda db: stock.stocktake(db, ean, count, _origin(), reason=reason))
    click.echo(f"{ean}: counted {change.stock_after} ({change.delta:+d}).")


@product.command()
@click.argument("ean", callback=_ean)
def deactivate(ean: str) -> None:
    """Take a product off sale (terminals answer product_inactive)."""
    found = in_database(
        lambda db: products.set_active(db, ean, active=False, actor=ACTOR, now=SystemClock().now())
    )
    click.echo(f"Deactivated {_describe(found)}.")


@product.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_products(as_json: bool) -> None:
    """Every product with its stock, aliases and whether it is for sale."""

    async def work(db: AsyncSession) -> list[tuple[ProductInfo, list[str]]]:
        return [(p, await products.aliases(db, p.product_id)) for p in await products.list_all(db)]

    listed = in_database(work)
    if as_json:
        echo_json(
            [
                {
                    "ean": p.ean,
                    "aliases": codes,
                    "name": p.name,
                    "price_cents": p.price_cents,
                    "category": p.category,
                    "stock": p.stock,
                    "active": p.active,
                    "allow_negative_stock": p.allow_negative_stock,
                }
                for p, codes in listed
            ]
        )
        return
    for p, codes in listed:
        also = f" (also {', '.join(codes)})" if codes else ""
        click.echo(f"{_describe(p)}{also}")
