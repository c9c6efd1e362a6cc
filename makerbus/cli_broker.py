"""`makerbus broker init|config|reconcile`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from broker.dynsec_file import write_initial
from broker.launcher import init_local
from broker.mosquitto_config import container_config, render
from broker.provisioning import ReconcileReport, reconcile
from core.settings import get_settings
from makerbus.cli_common import with_broker
from makerbus.context import accounts_from


@click.group()
def broker() -> None:
    """Set up the broker and keep its accounts in line with the database."""


@broker.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where mosquitto keeps its files (default: MAKERBUS_BROKER_DATA_DIR).",
)
@click.option("--port", type=int, help="Loopback port of the local broker (default: MQTT port).")
@click.option(
    "--container",
    is_flag=True,
    help="Only write dynsec.json, for the container's own mosquitto.conf.",
)
@click.option("--owner", help="UID:GID to own the files (the container's mosquitto is 1883:1883).")
@click.option("--force", is_flag=True, help="Overwrite an existing dynsec.json (drops devices).")
def init(
    data_dir: Path | None, port: int | None, container: bool, owner: str | None, force: bool
) -> None:
    """Write the broker's initial accounts (and a local mosquitto.conf)."""
    settings = get_settings()
    target = data_dir or settings.broker_data_dir
    dynsec = target / "dynsec.json"
    existed = dynsec.exists()
    if container:
        if force or not existed:
            write_initial(dynsec, accounts_from(settings))
    else:
        conf = init_local(
            target,
            port or settings.mqtt_port,
            accounts_from(settings),
            force=force,
            plugin=settings.broker_dynsec_plugin,
        )
        click.echo(f"Wrote {conf}; start the broker with: mosquitto -c {conf}")
    if owner:
        uid, _, gid = owner.partition(":")
        for path in (target, dynsec):
            os.chown(path, int(uid), int(gid or uid))
    if existed and not force:
        click.echo(f"Kept the existing {dynsec}; `makerbus broker reconcile` updates it.")
    else:
        click.echo(f"Wrote {dynsec} with the service accounts.")


@broker.command()
@click.option("--container", is_flag=True, help="The config of the docker-compose broker.")
def config(container: bool) -> None:
    """Print a mosquitto.conf (deploy/mosquitto/mosquitto.conf is this with --container)."""
    if not container:
        raise click.UsageError("only --container is printed; `broker init` writes a local one")
    click.echo(render(container_config()), nl=False)


def _print_report(report: ReconcileReport) -> None:
    for label, names in (
        ("service accounts created or repaired", report.services),
        ("device accounts created", report.created),
        ("device roles repaired", report.repaired),
        ("enabled", report.enabled),
        ("disabled", report.disabled),
        ("removed (not in the database)", report.removed),
        ("old service accounts bound to their own name (no longer used)", report.retired),
    ):
        if names:
            click.echo(f"{label}: {', '.join(names)}")
    if report.unbound:
        click.echo(
            "Warning: these accounts are not makerbus's and may connect with any client id, a "
            "device's too (which drops the device): " + ", ".join(report.unbound)
        )
    if report.needs_rotation:
        click.echo(
            "These devices got new accounts with unknown passwords; run "
            "`makerbus device rotate SLUG` for each: " + ", ".join(report.needs_rotation)
        )
    if not report.changed:
        click.echo("The broker matches the database.")


@broker.command(name="reconcile")
def reconcile_command() -> None:
    """Make the broker's accounts match the database's devices."""
    report = with_broker(lambda db, broker: reconcile(db, broker, accounts_from(get_settings())))
    _print_report(report)
