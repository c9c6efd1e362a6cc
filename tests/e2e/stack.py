"""A running makerbus for end-to-end tests: mosquitto child + `makerbus handlers` subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from makerbus_device import DeviceClient
from sqlalchemy import select, update

from broker import provisioning
from broker.address import BrokerAddress
from broker.dynsec import DynsecAdmin
from broker.identities import Login
from broker.launcher import LocalBroker, free_port, init_local
from broker.mqtt import client as mqtt_client
from broker.provisioning import Credentials, open_device_broker
from core import machines, members
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.clock import SystemClock
from core.formats import DeviceKind
from core.members import NewMember
from core.models import MachineSession, Member
from core.settings import Environment, Settings
from makerbus.context import accounts_from, database
from tests.factories import (
    T0,
    TESTER,
    assert_ledger_matches_balances,
    make_member,
    unique_slug,
    unique_uid,
)

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
        MAKERBUS_LOG_LEVEL="DEBUG",
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
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    clients: list[DeviceClient] = field(default_factory=list)
    # Extra MAKERBUS_* settings of the handler workers.
    handler_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        database_url: str,
        directory: Path,
        *,
        workers: int = 1,
        handler_env: dict[str, str] | None = None,
    ) -> Stack:
        port = free_port()
        settings = stack_settings(database_url, port, directory / "mosquitto")
        init_local(settings.broker_data_dir, port, accounts_from(settings))
        stack = cls(
            settings,
            LocalBroker(settings.broker_data_dir, port),
            directory,
            handler_env=handler_env or {},
        )
        stack.broker.start()
        for index in range(workers):
            stack.start_handlers(index)
        return stack

    @property
    def handler(self) -> subprocess.Popen[bytes]:
        """The first handler worker."""
        return self.workers[0]

    @property
    def handler_log(self) -> Path:
        return self.log_of(0)

    def log_of(self, index: int) -> Path:
        return self.directory / f"handlers-{index}.log"

    def env(self, **overrides: str) -> dict[str, str]:
        return settings_env(self.settings, **overrides)

    def start_handlers(self, index: int = 0) -> None:
        """Start handler worker `index` on broker account slot index + 1 (each has its own log;
        the first serves metrics)."""
        metrics = str(self.metrics_port) if index == 0 else "0"
        with self.log_of(index).open("ab") as log:
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "makerbus", "handlers", "--worker", str(index + 1)],
                    env=self.env(
                        MAKERBUS_METRICS_PORT=metrics,
                        MAKERBUS_SWEEP_INTERVAL_S="0.3",
                        **self.handler_env,
                    ),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        self.wait_for_log("serving requests", index=index)

    def wait_for_log(
        self, text: str, timeout: float = 20.0, after: int = 0, index: int = 0
    ) -> None:
        log = self.log_of(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in log.read_text()[after:]:
                return
            if self.workers[index].poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"handler log never said {text!r}:\n{log.read_text()[-3000:]}")

    def log_tail(self) -> str:
        return self.handler_log.read_text()[-3000:]

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.broker.stop()

    def cli(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `makerbus` command against this stack (a failure shows its stderr);
        `env` adds or overrides settings."""
        done = subprocess.run(
            [sys.executable, "-m", "makerbus", *args],
            env=self.env(**(env or {})),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if check and done.returncode:
            raise AssertionError(f"makerbus {' '.join(args)} failed:\n{done.stderr}")
        return done

    @asynccontextmanager
    async def admin(self) -> AsyncIterator[DynsecAdmin]:
        """The broker's admin API, taking turns with every other admin session."""
        async with database(self.settings) as db, open_device_broker(self.settings, db) as broker:
            yield broker.admin

    def connect_as(self, login: Login, client_id: str) -> None:
        """Connect with an account and a client id, then leave; MqttCodeError if refused."""

        async def go() -> None:
            address = BrokerAddress(self.settings.mqtt_host, self.settings.mqtt_port)
            async with mqtt_client(
                address, username=login.username, password=login.password, identifier=client_id
            ):
                pass

        run_async(go())

    def provision(
        self, kind: DeviceKind = DeviceKind.MACHINE, slug: str | None = None
    ) -> Credentials:
        async def go() -> Credentials:
            async with (
                database(self.settings) as db,
                open_device_broker(self.settings, db) as broker,
            ):
                _, credentials = await provisioning.add(
                    db,
                    broker,
                    slug=slug or unique_slug(kind.value),
                    kind=kind,
                    name="e2e device",
                    now=SystemClock().now(),
                    actor=TESTER,
                )
                return credentials

        return run_async(go())

    def add_member(
        self,
        *,
        name: str = "Ada Lovelace",
        balance_cents: int = 0,
        card: str | None = None,
        credit_limit_cents: int = 0,
    ) -> NewMember:
        async def go() -> NewMember:
            async with database(self.settings) as db:
                created = await make_member(
                    db, name=name, balance_cents=balance_cents, card=card or unique_uid()
                )
                if credit_limit_cents:
                    await members.set_credit_limit(
                        db, created.member_id, credit_limit_cents, actor=TESTER, now=T0
                    )
                return created

        return run_async(go())

    def machine(self, tariff: Tariff) -> Credentials:
        """A provisioned machine device with a tariff."""
        credentials = self.provision(DeviceKind.MACHINE)

        async def go() -> None:
            async with database(self.settings) as db:
                device_id = await machines.machine_id(db, credentials.username)
                await machines.set_tariff(
                    db, device_id, tariff, now=SystemClock().now(), actor=Actor.person("e2e")
                )

        run_async(go())
        return credentials

    def authorize(self, machine: Credentials, member: NewMember) -> None:
        async def go() -> None:
            async with database(self.settings) as db:
                device_id = await machines.machine_id(db, machine.username)
                await machines.authorize(
                    db,
                    device_id=device_id,
                    member_id=member.member_id,
                    override=TariffOverride(),
                    now=SystemClock().now(),
                    actor=Actor.person("e2e"),
                )

        run_async(go())

    def balance(self, member: NewMember) -> int:
        async def go() -> int:
            async with database(self.settings) as db:
                balance = await db.scalar(
                    select(Member.balance_cents).where(Member.id == member.member_id)
                )
                assert balance is not None
                return balance

        return run_async(go())

    def backdate_session(self, session_id: int, *, by: timedelta) -> None:
        """Move a session's times into the past: the handlers run on real time, tests cannot
        wait minutes for paid time to run short."""

        async def go() -> None:
            async with database(self.settings) as db:
                row = await db.get(MachineSession, session_id)
                assert row is not None
                await db.execute(
                    update(MachineSession)
                    .where(MachineSession.id == session_id)
                    .values(
                        started_at=row.started_at - by,
                        paid_until=row.paid_until - by,
                        last_heartbeat_at=row.last_heartbeat_at - by,
                    )
                )

        run_async(go())

    def check_ledger(self) -> None:
        """The invariant after a scenario: every balance equals the sum of its entries."""

        async def go() -> None:
            async with database(self.settings) as db:
                await assert_ledger_matches_balances(db)

        run_async(go())

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
