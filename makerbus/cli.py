"""The `makerbus` command."""

from __future__ import annotations

import click

from core.settings import UnsafeSettingsError
from makerbus.cli_bank import cashbox
from makerbus.cli_broker import broker
from makerbus.cli_devices import device
from makerbus.cli_machines import machine, session
from makerbus.cli_members import member
from makerbus.cli_rentals import rental
from makerbus.cli_services import api, dev, handlers, migrate, simulate
from makerbus.cli_shop import product
from makerbus.cli_snipeit import snipeit
from makerbus.cli_tokens import token


@click.group()
@click.version_option(package_name="makerbus")
def cli() -> None:
    """makerbus: the backend of a makerspace whose devices speak MQTT."""


cli.add_command(migrate)
cli.add_command(handlers)
cli.add_command(api)
cli.add_command(dev)
cli.add_command(simulate)
cli.add_command(broker)
cli.add_command(device)
cli.add_command(member)
cli.add_command(machine)
cli.add_command(session)
cli.add_command(product)
cli.add_command(cashbox)
cli.add_command(rental)
cli.add_command(token)
cli.add_command(snipeit)


def main() -> None:
    try:
        cli()
    except UnsafeSettingsError as error:
        raise SystemExit(f"makerbus: {error}") from None
