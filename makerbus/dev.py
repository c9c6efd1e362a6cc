"""`makerbus dev`: the whole stack on one machine, with demo data to play with.

A child mosquitto on a loopback port (never the system broker's 1883), SQLite under `var/`,
migrations, the broker reconciled with the database, demo devices and members, the handler
service. `var/demo.json` lists what the demo created, credentials included, for scripts.
Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import click
from sqlalchemy import select

from broker import provisioning
from broker.launcher import LocalBroker, free_port, init_local, wait_for_port
from core import members
from core.clock import SystemClock
from core.logs import configure
from core.migrations import upgrade
from core.models import Card, Device, DeviceKind
from core.settings import Environment, Settings
from makerbus.cli_services import serve_handlers
from makerbus.context import accounts_from, database, device_broker

VAR = Path("var")
DEMO_FILE = VAR / "demo.json"
DEMO_DEVICES = (
    ("laser-1", DeviceKind.MACHINE, "Laser cutter"),
    ("checkout-1", DeviceKind.CHECKOUT, "Shop checkout"),
    ("bankomat-1", DeviceKind.BANKOMAT, "Bankomat"),
    ("rental-1", DeviceKind.RENTAL, "Rental station"),
)
DEMO_MEMBERS = (
    ("Ada Lovelace", "04A1B2C3D4E5F6", 5000),
    ("Grace Hopper", "04B2C3D4E5F607", 250),
)


def dev_settings(port: int) -> Settings:
    return Settings(
        env=Environment.DEV,
        database_url=f"sqlite:///{VAR / 'makerbus.db'}",
        mqtt_host="127.0.0.1",
        mqtt_port=port,
        broker_data_dir=VAR / "mosquitto",
        log_format="console",
        metrics_port=0,
    )


def _port_is_free(port: int) -> bool:
    return not wait_for_port("127.0.0.1", port, timeout=0.1)


async def _demo(settings: Settings) -> dict[str, object]:
    """Create the demo data once; later runs reuse it (and its credentials) from demo.json."""
    async with database(settings) as db, device_broker(settings) as broker:
        await provisioning.reconcile(db, broker, accounts_from(settings))
        known = set((await db.scalars(select(Device.slug))).all())
        if DEMO_FILE.exists() and all(slug in known for slug, _, _ in DEMO_DEVICES):
            demo: dict[str, object] = json.loads(DEMO_FILE.read_text())
            demo["broker"] = {"host": settings.device_host, "port": settings.device_port}
            return demo
        now = SystemClock().now()
        devices = []
        for slug, kind, name in DEMO_DEVICES:
            if slug in known:
                credentials = await provisioning.rotate(db, broker, slug, now=now)
            else:
                _, credentials = await provisioning.add(
                    db, broker, slug=slug, kind=kind, name=name, now=now
                )
            devices.append({"kind": kind.value, "name": name, **credentials.as_json()})
        people = []
        for name, uid, balance in DEMO_MEMBERS:
            if await db.scalar(select(Card.id).where(Card.uid == uid)) is None:
                await members.add_member(
                    db,
                    name=name,
                    card_uid=uid,
                    opening_balance_cents=balance,
                    now=now,
                    actor="demo",
                )
            people.append({"name": name, "card": uid, "balance_cents": balance})
        return {
            "broker": {"host": settings.device_host, "port": settings.device_port},
            "devices": devices,
            "members": people,
        }


def _write_demo(demo: dict[str, object]) -> None:
    fd = os.open(DEMO_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)


def _print_summary(settings: Settings, demo: dict[str, object]) -> None:
    click.echo("")
    click.echo("makerbus dev is up:")
    click.echo(
        f"  broker    mqtt://127.0.0.1:{settings.mqtt_port} (mosquitto, files in "
        f"{settings.broker_data_dir})"
    )
    click.echo(f"  database  {settings.database_url}")
    click.echo(f"  demo      {DEMO_FILE} (devices with credentials, members with cards)")
    for entry in demo.get("devices", []):  # type: ignore[attr-defined]
        click.echo(f"    {entry['kind']:<9} {entry['username']:<12} password {entry['password']}")
    click.echo(
        "  try:      makerbus-device request --host 127.0.0.1 "
        f"--port {settings.mqtt_port} --username laser-1 --password <see above> "
        "card/identify card=04A1B2C3D4E5F6"
    )
    click.echo("Ctrl-C stops everything.")


async def _main(settings: Settings) -> None:
    demo = await _demo(settings)
    _write_demo(demo)
    _print_summary(settings, demo)
    await serve_handlers(settings)


def run_dev(port: int) -> None:
    if not _port_is_free(port):
        chosen = free_port()
        click.echo(f"Port {port} is taken; the dev broker uses {chosen}.")
        port = chosen
    settings = dev_settings(port)
    configure("INFO", "console")
    VAR.mkdir(exist_ok=True)
    init_local(
        settings.broker_data_dir,
        port,
        accounts_from(settings),
        plugin=settings.broker_dynsec_plugin,
    )
    broker = LocalBroker(settings.broker_data_dir, port)
    broker.start()
    try:
        upgrade(settings.database_url)
        asyncio.run(_main(settings))
    finally:
        broker.stop()
        click.echo("Stopped the handlers and the broker.")
