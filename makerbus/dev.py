"""`makerbus dev`: the whole stack on one machine, with demo data to play with.

A child mosquitto on a loopback port (never the system broker's 1883), SQLite under `var/`,
migrations, a local login provider, the API as a child process, the broker reconciled with the
database, the demo data (`makerbus.demo`), then the handler service in this process.
`var/demo.json` lists what the demo created, credentials included, for scripts, and
`var/devices/` holds one credentials file per demo device. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from broker import provisioning
from broker.launcher import LocalBroker, free_port, init_local, stop_child, wait_for_port
from broker.provisioning import open_device_broker
from core.logs import configure
from core.migrations import upgrade
from core.settings import Environment, Settings
from makerbus import demo
from makerbus.context import accounts_from, database
from makerbus.login_provider import LocalLoginProvider
from makerbus.serving import serve_handlers

VAR = Path("var")
DEMO_FILE = VAR / "demo.json"
DEVICE_FILES = VAR / "devices"
API_START_TIMEOUT_S = 60.0


def dev_settings(port: int, api_port: int, login_provider: LocalLoginProvider) -> Settings:
    return Settings(
        env=Environment.DEV,
        database_url=f"sqlite:///{VAR / 'makerbus.db'}",
        mqtt_host="127.0.0.1",
        mqtt_port=port,
        broker_data_dir=VAR / "mosquitto",
        public_url=f"http://127.0.0.1:{api_port}",
        oidc_discovery_url=login_provider.discovery_url,
        log_format="console",
        metrics_port=0,
    )


def child_env(values: dict[str, str]) -> dict[str, str]:
    """This process's environment without its MAKERBUS_ settings, plus `values` as
    MAKERBUS_<NAME>: a child `makerbus` process reads exactly these settings."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MAKERBUS_")}
    return inherited | {f"MAKERBUS_{name}": value for name, value in values.items()}


def _dev_env(settings: Settings) -> dict[str, str]:
    """The dev settings as environment variables, for the API child process."""
    values = {
        "ENV": settings.env.value,
        "DATABASE_URL": settings.database_url,
        "MQTT_HOST": settings.mqtt_host,
        "MQTT_PORT": str(settings.mqtt_port),
        "PUBLIC_URL": settings.public_url,
        "OIDC_DISCOVERY_URL": settings.oidc_discovery_url or "",
        "LOG_FORMAT": settings.log_format,
    }
    return child_env(values)


@contextmanager
def _api_process(settings: Settings, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`makerbus api` as a child: it gets Ctrl-C with us and is stopped when we stop."""
    process = subprocess.Popen(  # noqa: S603 - our interpreter running our own command
        [sys.executable, "-m", "makerbus", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=_dev_env(settings),
    )
    try:
        yield process
    finally:
        stop_child(process, 15)


def _login_users(provider: LocalLoginProvider) -> None:
    for subject, (name, groups) in demo.LOGINS.items():
        provider.set_user(
            subject, {"name": name, "email": f"{subject}@example.org", "groups": list(groups)}
        )


def _port_is_free(port: int) -> bool:
    return not wait_for_port("127.0.0.1", port, timeout=0.1)


async def _demo(settings: Settings, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    async with database(settings) as db, open_device_broker(settings, db) as broker:
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
        click.echo(
            f"    {entry['kind']:<9} {entry['username']:<12} password {entry['password']}  "
            f"(--credentials {DEVICE_FILES / entry['slug']}.json)"
        )
    for entry in described["members"]:
        click.echo(
            f"    member    {entry['name']:<14} card {entry['card']} "
            f"balance {entry['balance_cents']} cents, login {entry['login']}"
        )
    click.echo(f"  pages     {settings.public_url}/ (English or German, as the browser asks)")
    click.echo(
        f"  api docs  {settings.public_url}/api/docs (the OpenAPI document is "
        f"{settings.public_url}/api/openapi.json)"
    )
    click.echo(
        f"  login     {settings.public_url}/auth/login: at the dev login provider type "
        "ada (admin, shop) or grace (member, sub-admin of lathe-1) and press Authorize"
    )
    click.echo(
        f"  try:      .venv/bin/makerbus-device machine --credentials {DEVICE_FILES}/laser-1.json"
        "   (then type 04A1B2C3D4E5F6 and Enter)"
    )
    click.echo("Ctrl-C stops everything.")


def _write_device_files(described: dict[str, Any]) -> None:
    """One credentials file per demo device, for `makerbus-device ... --credentials FILE`."""
    DEVICE_FILES.mkdir(exist_ok=True)
    for entry in described["devices"]:
        credentials = {key: entry[key] for key in ("host", "port", "username", "password")}
        demo.write(DEVICE_FILES / f"{entry['slug']}.json", credentials)


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


async def _api_answers(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until the API child answers its health check; fail if it exits or never does."""
    deadline = time.monotonic() + API_START_TIMEOUT_S
    while not await asyncio.to_thread(_healthy, port):
        if process.poll() is not None:
            raise click.ClickException(f"the API exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"the API did not answer on port {port} within {API_START_TIMEOUT_S:.0f} s"
            )
        await asyncio.sleep(0.2)


async def _main(settings: Settings, api_port: int, api: subprocess.Popen[bytes]) -> None:
    described = await _demo(settings, demo.known_credentials(DEMO_FILE))
    demo.write(DEMO_FILE, described)
    _write_device_files(described)
    await _api_answers(api_port, api)
    _print_summary(settings, described)
    await serve_handlers(settings)


def _free_or_other(port: int, what: str) -> int:
    if _port_is_free(port):
        return port
    chosen = free_port()
    click.echo(f"Port {port} is taken; the dev {what} uses {chosen}.")
    return chosen


def run_dev(port: int, api_port: int, login_port: int) -> None:
    port = _free_or_other(port, "broker")
    api_port = _free_or_other(api_port, "API")
    login_provider = LocalLoginProvider(_free_or_other(login_port, "login provider"))
    settings = dev_settings(port, api_port, login_provider)
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
        with login_provider:
            _login_users(login_provider)
            upgrade(settings.database_url)
            with _api_process(settings, api_port) as api:
                asyncio.run(_main(settings, api_port, api))
    finally:
        broker.stop()
        click.echo("Stopped the API, the handlers, the login provider and the broker.")
