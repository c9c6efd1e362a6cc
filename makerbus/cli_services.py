"""The commands that run makerbus: `migrate`, `handlers`, `api`, `dev` and `simulate`."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import click
from prometheus_client import start_http_server
from sqlalchemy.exc import OperationalError

from core import migrations
from core.billing import Tariff
from core.logs import configure
from core.settings import MAX_SLOTS, get_settings
from makerbus.dev import run_dev
from makerbus.serving import serve_handlers
from makerbus.workers import plan, supervise

GRACEFUL_SHUTDOWN_S = 3


@click.command()
def migrate() -> None:
    """Apply the database migrations (`alembic upgrade head`)."""
    settings = get_settings()
    try:
        migrations.upgrade(settings.database_url)
    except OperationalError as error:
        raise click.ClickException(f"cannot reach the database: {error.orig}") from None
    click.echo("Database is at the newest revision.")


def _serve_metrics(port: int) -> None:
    if not port:
        return
    try:
        start_http_server(port)
    except OSError as error:
        raise click.ClickException(
            f"cannot serve metrics on port {port}: {error.strerror}. Is another `makerbus "
            "handlers` running here? Give each its own MAKERBUS_METRICS_PORT and "
            "MAKERBUS_HANDLER_SLOT, or run one with --processes N."
        ) from None


@click.command()
@click.option(
    "--processes",
    type=click.IntRange(1, MAX_SLOTS),
    default=1,
    show_default=True,
    help="Run this many workers (e.g. one per core) as child processes, each on its own "
    "broker account slot and metrics port (MAKERBUS_METRICS_PORT + i).",
)
@click.option(
    "--worker",
    "slot",
    type=click.IntRange(1, MAX_SLOTS),
    help="This worker's broker account slot, the first one with --processes "
    "(default: MAKERBUS_HANDLER_SLOT). Each running worker needs its own.",
)
def handlers(processes: int, slot: int | None) -> None:
    """Run the MQTT handler service (several workers share the requests)."""
    settings = get_settings()
    if slot is not None:
        settings = settings.model_copy(update={"handler_slot": slot})
    try:
        workers = plan(settings, processes)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    configure(settings.log_level, settings.log_format)
    if processes > 1:
        settings.require_secrets("broker_handler_password")
        sys.exit(asyncio.run(supervise(workers)))
    _serve_metrics(settings.metrics_port)
    asyncio.run(serve_handlers(settings))


@click.command()
@click.option(
    "--port",
    type=int,
    default=18830,
    show_default=True,
    help="Loopback port for the child mosquitto (1883 is left to a system broker).",
)
@click.option("--api-port", type=int, default=8000, show_default=True, help="The web API's port.")
@click.option(
    "--login-port", type=int, default=9400, show_default=True, help="The dev login provider's port."
)
def dev(port: int, api_port: int, login_port: int) -> None:
    """Everything on one machine: mosquitto child, SQLite, migrations, handlers, the API with a
    local login provider, demo data."""
    run_dev(port, api_port, login_port)


@click.command()
@click.option("--machines", type=click.IntRange(0, 500), default=10, show_default=True)
@click.option("--checkouts", type=click.IntRange(0, 100), default=0, show_default=True)
@click.option("--bankomats", type=click.IntRange(0, 100), default=0, show_default=True)
@click.option(
    "--rentals",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="Rental stations (each with 3 items of its own).",
)
@click.option(
    "--members",
    type=click.IntRange(1, 500),
    default=None,
    help="Members sharing the devices (default: one per machine, at least 4).",
)
@click.option("--seconds", type=float, default=300, show_default=True, help="How long to run.")
@click.option("--work-min-s", type=float, default=20, show_default=True)
@click.option("--work-max-s", type=float, default=120, show_default=True)
@click.option(
    "--balance-cents",
    type=int,
    default=5000,
    show_default=True,
    help="Each member is topped up to this balance.",
)
@click.option("--prefix", default="sim", show_default=True, help="Slug prefix of the devices.")
def simulate(
    machines: int,
    checkouts: int,
    bankomats: int,
    rentals: int,
    members: int | None,
    seconds: float,
    work_min_s: float,
    work_max_s: float,
    balance_cents: int,
    prefix: str,
) -> None:
    """Run a fleet of simulated machines, checkouts, Bankomats and rental stations."""
    if importlib.util.find_spec("makerbus_device") is None:  # pragma: no cover
        raise click.ClickException(
            "makerbus simulate needs makerbus-device: pip install ./hardware_clients"
        )
    from makerbus.simulate import Plan, run_simulation

    plan = Plan(
        machines=machines,
        checkouts=checkouts,
        bankomats=bankomats,
        rentals=rentals,
        members=members or max(machines, 4),
        seconds=seconds,
        work_s=(work_min_s, work_max_s),
        tariff=Tariff(50, 10, 1),
        balance=balance_cents,
        prefix=prefix,
    )
    run_simulation(get_settings(), plan)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def api(host: str, port: int) -> None:
    """Serve the HTTP API (docs at /api/docs)."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    configure(settings.log_level, settings.log_format)
    app = create_app(settings)  # refuses default or short secrets outside dev mode
    # access_log=False: uvicorn would log raw paths, which can hold tokens (see api/access.py).
    # A live page's event stream never ends by itself: on shutdown uvicorn waits this long for
    # the open requests, then cancels them (the browser reconnects to the next process).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
