"""A running makerbus for end-to-end tests: mosquitto child + `makerbus handlers` subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from makerbus_device import DeviceClient

from broker import provisioning
from broker.launcher import LocalBroker, free_port, init_local
from broker.provisioning import Credentials
from core.clock import SystemClock
from core.members import NewMember
from core.models import DeviceKind
from core.settings import Environment, Settings
from makerbus.context import accounts_from, database, device_broker
from tests.factories import make_member, unique_slug, unique_uid

T = TypeVar("T")
PASSWORDS = {
    "broker_admin_password": "e2e-admin-" + "k" * 22,
    "broker_handler_password": "e2e-handler-" + "k" * 20,
    "broker_monitor_password": "e2e-monitor-" + "k" * 20,
}


def stack_settings(database_url: str, port: int, directory: Path) -> Settings:
    return Settings(
        env=Environment.PRODUCTION,
        database_url=database_url,
        mqtt_port=port,
        broker_data_dir=directory,
        _env_file=None,
        **PASSWORDS,  # type: ignore[arg-type]
    )


def settings_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKERBUS_")}
    env.update(
        MAKERBUS_ENV=settings.env.value,
        MAKERBUS_DATABASE_URL=settings.database_url,
        MAKERBUS_MQTT_HOST=settings.mqtt_host,
        MAKERBUS_MQTT_PORT=str(settings.mqtt_port),
        MAKERBUS_BROKER_DATA_DIR=str(settings.broker_data_dir),
        MAKERBUS_LOG_FORMAT="json",
        **{f"MAKERBUS_{key.upper()}": value for key, value in PASSWORDS.items()},
    )
    env.update(overrides)
    return env


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class Stack:
    settings: Settings
    broker: LocalBroker
    directory: Path
    metrics_port: int = field(default_factory=free_port)
    handler: subprocess.Popen[bytes] | None = None
    clients: list[DeviceClient] = field(default_factory=list)

    @classmethod
    def create(cls, database_url: str, directory: Path) -> Stack:
        port = free_port()
        settings = stack_settings(database_url, port, directory / "mosquitto")
        init_local(settings.broker_data_dir, port, accounts_from(settings))
        stack = cls(settings, LocalBroker(settings.broker_data_dir, port), directory)
        stack.broker.start()
        stack.start_handlers()
        return stack

    @property
    def handler_log(self) -> Path:
        return self.directory / "handlers.log"

    def env(self, **overrides: str) -> dict[str, str]:
        return settings_env(self.settings, **overrides)

    def start_handlers(self) -> None:
        with self.handler_log.open("ab") as log:
            self.handler = subprocess.Popen(
                [sys.executable, "-m", "makerbus", "handlers"],
                env=self.env(MAKERBUS_METRICS_PORT=str(self.metrics_port)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_for_log("serving requests")

    def wait_for_log(self, text: str, timeout: float = 20.0, after: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.handler_log.read_text()[after:]:
                return
            if self.handler is not None and self.handler.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"handler log never said {text!r}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.handler_log.read_text()[-3000:]

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.handler is not None and self.handler.poll() is None:
            self.handler.send_signal(signal.SIGTERM)
            try:
                self.handler.wait(15)
            except subprocess.TimeoutExpired:
                self.handler.kill()
                self.handler.wait()
        self.broker.stop()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real `makerbus` command against this stack."""
        return subprocess.run(
            [sys.executable, "-m", "makerbus", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def provision(
        self, kind: DeviceKind = DeviceKind.MACHINE, slug: str | None = None
    ) -> Credentials:
        async def go() -> Credentials:
            async with database(self.settings) as db, device_broker(self.settings) as broker:
                _, credentials = await provisioning.add(
                    db,
                    broker,
                    slug=slug or unique_slug(kind.value),
                    kind=kind,
                    name="e2e device",
                    now=SystemClock().now(),
                )
                return credentials

        return run_async(go())

    def add_member(
        self, *, name: str = "Ada Lovelace", balance_cents: int = 0, card: str | None = None
    ) -> NewMember:
        async def go() -> NewMember:
            async with database(self.settings) as db:
                return await make_member(
                    db, name=name, balance_cents=balance_cents, card=card or unique_uid()
                )

        return run_async(go())

    def device(
        self,
        credentials: Credentials,
        *,
        mqtt_version: int = 5,
        password: str | None = None,
        connect: bool = True,
    ) -> DeviceClient:
        client = DeviceClient(
            credentials.host,
            credentials.port,
            credentials.username,
            password if password is not None else credentials.password,
            mqtt_version=mqtt_version,
        )
        self.clients.append(client)
        if connect:
            client.connect()
        return client


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    """Poll `condition()` until it is true or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def disconnected(device: DeviceClient, timeout: float = 5.0) -> bool:
    return wait_until(lambda: not device.connected, timeout)
