"""`make bench`: round trips per second and p50/p99 latency of the hot operations.

Heartbeats, session start+end pairs and 3-item basket purchases.

One real mosquitto (the generated config), the real handler service as subprocesses, SQLite and
PostgreSQL, closed-loop devices at 1, 8 and 64 at once, and on the same broker a bare echo
responder as the ceiling. Not a test: it prints a table (also written to bench/last-run.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.load import BenchDevice, Result, closed_loop
from broker import provisioning
from broker.launcher import LocalBroker, free_port, init_local
from broker.provisioning import open_device_broker
from core import products, stock
from core.audit import Actor
from core.billing import Tariff
from core.clock import SystemClock
from core.formats import STOCK_MAX, DeviceKind
from core.migrations import upgrade
from core.origin import Origin
from core.settings import Environment, Settings
from makerbus.context import accounts_from, database
from makerbus.fleet import provision_fleet
from tests.databases import fresh_postgres, postgres_reachable

ACTOR = Actor.person("bench")
CONCURRENCY = (1, 8, 64)
TARIFF = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)
BASKET = ("2000000000015", "2000000000022", "2000000000039")  # a 3-item basket
PASSWORDS = {
    "broker_admin_password": "bench-admin-" + "b" * 20,
    "broker_handler_password": "bench-handler-" + "b" * 20,
    "broker_monitor_password": "bench-monitor-" + "b" * 20,
}
ROOT = Path(__file__).resolve().parents[1]


def settings_for(url: str, port: int, data_dir: Path) -> Settings:
    return Settings(
        env=Environment.PRODUCTION,
        database_url=url,
        mqtt_port=port,
        broker_data_dir=data_dir,
        broker_admin_password=PASSWORDS["broker_admin_password"],
        broker_handler_password=PASSWORDS["broker_handler_password"],
        broker_monitor_password=PASSWORDS["broker_monitor_password"],
        _env_file=None,
    )


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKERBUS_")}
    env.update(
        MAKERBUS_ENV="production",
        MAKERBUS_DATABASE_URL=settings.database_url,
        MAKERBUS_MQTT_PORT=str(settings.mqtt_port),
        MAKERBUS_METRICS_PORT="0",
        # A closed-loop device is meant to go as fast as the stack lets it.
        MAKERBUS_RATE_LIMIT_PER_S="1000000",
        MAKERBUS_RATE_LIMIT_BURST="1000000",
        **{f"MAKERBUS_{k.upper()}": v for k, v in PASSWORDS.items()},
    )
    return env


@contextmanager
def processes(command: list[str], env: dict[str, str], count: int, ready: str) -> Iterator[None]:
    """Start `count` copies of a command and wait until each printed `ready`.

    Copy i gets MAKERBUS_HANDLER_SLOT=i: handler workers running at once need one each.
    """
    children = []
    logs = []
    try:
        for index in range(count):
            log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
            logs.append(log)
            children.append(
                subprocess.Popen(  # noqa: S603
                    command,
                    env=env | {"MAKERBUS_HANDLER_SLOT": str(index + 1)},
                    stdout=log,
                    stderr=log,
                    cwd=ROOT,
                )
            )
        for log, child in zip(logs, children, strict=True):
            deadline = time.monotonic() + 30
            while ready not in Path(log.name).read_text():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command} did not start:\n{Path(log.name).read_text()}")
                time.sleep(0.05)
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(30)
        for log in logs:
            log.close()
            os.unlink(log.name)


@dataclass(frozen=True)
class Fleet:
    machines: list[tuple[str, str, str]]  # slug, password, the member's card
    checkouts: list[tuple[str, str]]  # slug, password


async def provision(settings: Settings, count: int) -> Fleet:
    """Machines and checkouts; members rich enough, products stocked for the whole run."""
    now = SystemClock().now()
    async with database(settings) as db, open_device_broker(settings, db) as broker:
        machines = await provision_fleet(
            db,
            broker,
            prefix="bench",
            machine_count=count,
            member_count=count,
            tariff=TARIFF,
            balance_cents=10**12,
            now=now,
        )
        checkouts = []
        for index in range(count):
            _, credentials = await provisioning.add(
                db,
                broker,
                slug=f"bench-co-{index}",
                kind=DeviceKind.CHECKOUT,
                name=f"Bench checkout {index}",
                now=now,
                actor=ACTOR,
            )
            checkouts.append((credentials.username, credentials.password))
        for index, ean in enumerate(BASKET):
            await products.create(
                db,
                ean=ean,
                name=f"Bench product {index}",
                price_cents=100 + index,
                now=now,
                actor=ACTOR,
            )
            await stock.restock(db, ean, STOCK_MAX, Origin.of(ACTOR, now=now))
    return Fleet(
        [(machine.slug, machine.password, machine.card) for machine in machines], checkouts
    )


async def measure(
    port: int, fleet: Fleet, seconds: float, *, echo: bool
) -> dict[str, dict[int, Result]]:
    results: dict[str, dict[int, Result]] = {"heartbeat": {}, "start+end": {}, "purchase": {}}
    async with AsyncExitStack() as stack:
        devices = [
            await stack.enter_async_context(BenchDevice(port, slug, password))
            for slug, password, _ in fleet.machines
        ]
        tills = [
            await stack.enter_async_context(BenchDevice(port, slug, password))
            for slug, password in fleet.checkouts
        ]
        cards = {slug: card for slug, _, card in fleet.machines}
        card_list = list(cards.values())
        sessions: dict[str, object] = {}
        if not echo:
            for device in devices:
                opened = await device.request("session/start", card=cards[device.slug])
                sessions[device.slug] = opened["session_id"]

        async def heartbeat(device: BenchDevice) -> bool:
            answer = await device.request(
                "session/heartbeat", session_id=sessions.get(device.slug, 1)
            )
            return answer.get("ok") is True

        for count in CONCURRENCY:
            results["heartbeat"][count] = await closed_loop(
                devices[:count], heartbeat, seconds=seconds
            )
        if not echo:
            for device in devices:
                await device.request("session/end", session_id=sessions[device.slug])

        async def start_end(device: BenchDevice) -> bool:
            started = await device.request("session/start", card=cards[device.slug])
            ended = await device.request("session/end", session_id=started.get("session_id", 1))
            return started.get("ok") is True and ended.get("ok") is True

        for count in CONCURRENCY:
            results["start+end"][count] = await closed_loop(
                devices[:count], start_end, seconds=seconds
            )

        async def purchase(till: BenchDevice) -> bool:
            items = [{"ean": ean, "qty": 1} for ean in BASKET]
            card = card_list[int(till.slug.rsplit("-", 1)[1]) % len(card_list)]
            answer = await till.request("checkout/purchase", card=card, items=items)
            return answer.get("ok") is True

        for count in CONCURRENCY:
            results["purchase"][count] = await closed_loop(tills[:count], purchase, seconds=seconds)
    return results


def row(label: str, result: Result, ceiling: Result | None) -> str:
    ratio = f"{result.rate / ceiling.rate:.2f}" if ceiling and ceiling.rate else "—"
    errors = f" ({result.errors} errors)" if result.errors else ""
    return (
        f"| {label} | {result.rate:,.0f} | {result.p50:.1f} | {result.percentile(99):.1f} "
        f"| {ratio} |{errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per cell")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite"] + ([] if args.skip_postgres or not postgres_reachable() else ["postgres"])
    lines = [
        f"makerbus bench — {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.seconds:.0f} s per cell",
        "",
        "| stack · op · devices | round trips/s | p50 ms | p99 ms | of echo |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = settings_for("sqlite:///unused", port, Path(tmp) / "mosquitto")
        init_local(base.broker_data_dir, port, accounts_from(base))
        with LocalBroker(base.broker_data_dir, port):
            echo_settings = settings_for(f"sqlite:///{tmp}/echo.db", port, base.broker_data_dir)
            upgrade(echo_settings.database_url)
            fleet = asyncio.run(provision(echo_settings, max(CONCURRENCY)))
            with processes(
                [sys.executable, "-m", "bench.echo", str(port)],
                child_env(echo_settings),
                1,
                "echo ready",
            ):
                ceiling = asyncio.run(measure(port, fleet, args.seconds, echo=True))
            for count in CONCURRENCY:
                lines.append(row(f"echo · request · {count}", ceiling["heartbeat"][count], None))
            for backend in backends:
                for workers in (1, 2) if backend == "postgres" else (1,):
                    lines += run_backend(backend, tmp, port, base, args.seconds, workers, ceiling)
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "last-run.md").write_text(text + "\n")


def run_backend(
    backend: str,
    tmp: str,
    port: int,
    base: Settings,
    seconds: float,
    workers: int,
    ceiling: dict[str, dict[int, Result]],
) -> list[str]:
    with _database(backend, tmp, workers) as url:
        settings = settings_for(url, port, base.broker_data_dir)
        upgrade(url)
        asyncio.run(_drop_devices(settings))
        fleet = asyncio.run(provision(settings, max(CONCURRENCY)))
        command = [sys.executable, "-m", "makerbus", "handlers"]
        with processes(command, child_env(settings), workers, "serving requests"):
            measured = asyncio.run(measure(port, fleet, seconds, echo=False))
    label = f"{backend}{' x2 workers' if workers > 1 else ''}"
    lines = []
    for op, by_count in measured.items():
        for count, result in by_count.items():
            base_rate = ceiling["heartbeat"][count]
            # A start+end pair is two round trips: compare pairs with half the echo rate.
            reference = (
                base_rate
                if op == "heartbeat"
                else Result(
                    latencies=base_rate.latencies[: len(base_rate.latencies) // 2],
                    seconds=base_rate.seconds,
                )
            )
            lines.append(row(f"{label} · {op} · {count}", result, reference))
    return lines


@contextmanager
def _database(backend: str, tmp: str, workers: int) -> Iterator[str]:
    if backend == "postgres":
        with fresh_postgres() as url:
            yield url
    else:
        yield f"sqlite:///{tmp}/bench-{workers}.db"


async def _drop_devices(settings: Settings) -> None:
    """The broker is shared between runs: remove the previous run's bench devices."""
    async with database(settings) as db, open_device_broker(settings, db) as broker:
        await provisioning.reconcile(db, broker, accounts_from(settings))


if __name__ == "__main__":
    main()
