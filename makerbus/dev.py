"""`makerbus dev`: the whole stack on one machine, with demo data to play with.

A child mosquitto on a loopback port (never the system broker's 1883), SQLite under `var/`,
migrations, the broker reconciled with the database, demo devices and members, the handler
service. `var/demo.json` lists what the demo created, credentials included, for scripts.
Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from broker import provisioning
from broker.launcher import LocalBroker, free_port, init_local, wait_for_port
from core.logs import configure
from core.migrations import upgrade
from core.settings import Environment, Settings
from makerbus import demo
from makerbus.cli_services import serve_handlers
from makerbus.context import accounts_from, database, device_broker

VAR = Path("var")
DEMO_FILE = VAR / "demo.json"


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


async def _demo(settings: Settings, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    async with database(settings) as db, device_broker(settings) as broker:
        report = await provisioning.reconcile(db, broker, accounts_from(settings))
        # Accounts the broker had lost were recreated with new passwords: forget the old ones.
        still_valid = {s: c for s, c in known.items() if s not in report.needs_rotation}
        return await demo.ensure(db, broker, still_valid)


def _print_summary(settings: Settings, described: dict[str, Any]) -> None:
    click.echo("")
    click.echo("makerbus dev is up:")
    click.echo(
        f"  broker    mqtt://127.0.0.1:{settings.mqtt_port} (mosquitto, files in "
        f"{settings.broker_data_dir})"
    )
    click.echo(f"  database  {settings.database_url}")
    click.echo(f"  demo      {DEMO_FILE} (devices with credentials, members with cards)")
    for entry in described["devices"]:
        click.echo(f"    {entry['kind']:<9} {entry['username']:<12} password {entry['password']}")
    for entry in described["members"]:
        click.echo(
            f"    member    {entry['name']:<14} card {entry['card']} "
            f"balance {entry['balance_cents']} cents"
        )
    click.echo(
        f"  try:      makerbus-device machine --host 127.0.0.1 --port {settings.mqtt_port} "
        "--username laser-1 --password <see above>   (then type 04A1B2C3D4E5F6 and Enter)"
    )
    click.echo("Ctrl-C stops everything.")


async def _main(settings: Settings) -> None:
    described = await _demo(settings, demo.known_credentials(DEMO_FILE))
    demo.write(DEMO_FILE, described)
    _print_summary(settings, described)
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
