"""`makerbus device add|list|rotate|disable|enable|remove`."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from broker import provisioning
from broker.provisioning import Credentials, DeviceBroker
from core import devices
from core.clock import SystemClock, rfc3339
from core.formats import DeviceKind
from makerbus.cli_common import ACTOR, TEXT_LINE, echo_json, in_database, with_broker

KINDS = click.Choice([kind.value for kind in DeviceKind])


def _show_credentials(credentials: Credentials, as_json: bool, headline: str) -> None:
    if as_json:
        echo_json(credentials.as_json())
        return
    click.echo(headline)
    click.echo(f"  host:     {credentials.host}")
    click.echo(f"  port:     {credentials.port}")
    click.echo(f"  username: {credentials.username}  (also the MQTT client id)")
    click.echo(f"  password: {credentials.password}")
    click.echo("The password is shown only this once: put it into the device now.")


@click.group()
def device() -> None:
    """Provision devices: one broker account each."""


@device.command()
@click.argument("slug")
@click.option("--kind", type=KINDS, required=True)
@click.option("--name", type=TEXT_LINE, help="A human name; defaults to the slug.")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as JSON.")
def add(slug: str, kind: str, name: str | None, as_json: bool) -> None:
    """Register a device and create its broker account."""

    async def work(db: AsyncSession, broker: DeviceBroker) -> Credentials:
        _, credentials = await provisioning.add(
            db,
            broker,
            slug=slug,
            kind=DeviceKind(kind),
            name=name or slug,
            now=SystemClock().now(),
            actor=ACTOR,
        )
        return credentials

    _show_credentials(with_broker(work), as_json, f"Device {slug} ({kind}) provisioned.")


@device.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """List the registered devices."""
    rows = [
        {
            "slug": d.slug,
            "kind": d.kind,
            "name": d.name,
            "enabled": d.enabled,
            "last_seen": rfc3339(d.last_seen_at) if d.last_seen_at else None,
        }
        for d in in_database(devices.list_all)
    ]
    if as_json:
        echo_json(rows)
        return
    click.echo(f"{'SLUG':<24} {'KIND':<9} {'ENABLED':<8} {'LAST SEEN':<21} NAME")
    for row in rows:
        enabled = "yes" if row["enabled"] else "no"
        seen = row["last_seen"] or "never"
        click.echo(
            f"{row['slug']!s:<24} {row['kind']!s:<9} {enabled:<8} {seen!s:<21} {row['name']}"
        )


@device.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as JSON.")
def rotate(slug: str, as_json: bool) -> None:
    """Give a device a new password; the old one stops working at once."""
    credentials = with_broker(
        lambda db, broker: provisioning.rotate(
            db, broker, slug, now=SystemClock().now(), actor=ACTOR
        )
    )
    _show_credentials(credentials, as_json, f"Device {slug} has a new password.")


def _set_enabled(slug: str, enabled: bool) -> None:
    with_broker(
        lambda db, broker: provisioning.set_enabled(
            db, broker, slug, enabled=enabled, actor=ACTOR, now=SystemClock().now()
        )
    )
    click.echo(f"Device {slug} {'enabled' if enabled else 'disabled and disconnected'}.")


@device.command()
@click.argument("slug")
def disable(slug: str) -> None:
    """Disconnect a device and refuse it until enabled (a stolen or broken reader)."""
    _set_enabled(slug, False)


@device.command()
@click.argument("slug")
def enable(slug: str) -> None:
    """Let a disabled device connect again."""
    _set_enabled(slug, True)


@device.command()
@click.argument("slug")
@click.confirmation_option(prompt="Remove the device and its broker account?")
def remove(slug: str) -> None:
    """Remove a device and its broker account."""
    with_broker(
        lambda db, broker: provisioning.remove(
            db, broker, slug, actor=ACTOR, now=SystemClock().now()
        )
    )
    click.echo(f"Device {slug} removed.")
