"""`make bench`: round trips per second, p50/p99 latency and CPU per answer of the hot operations.

Heartbeats, session start+end pairs and 3-item basket purchases.

One real mosquitto (the generated config), the real handler service as subprocesses, SQLite and
PostgreSQL, closed-loop devices at 1, 8 and 64 at once, and on the same broker three echo
responders without a database (aiomqtt, paho, a socket-level MQTT 5 codec) as the ceilings. The
CPU the responders, the load generator and mosquitto spent in each cell is read from /proc. Not a
test: it prints a table (also written to bench/last-run.md).
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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.echo import READY
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
OPS = ("heartbeat", "start+end", "purchase")
ROUND_TRIPS = {"heartbeat": 1, "start+end": 2, "purchase": 1}


@dataclass(frozen=True)
class Stack:
    """What answers the devices: an echo responder or the handler service on a database."""

    name: str  # as --only names it
    label: str
    echo: str | None = None  # the echo's module
    database: str | None = None  # sqlite or postgres, for the handler service
    workers: int = 1

    @property
    def ops(self) -> tuple[str, ...]:
        """An echo answers heartbeat-shaped requests only: the ceiling every op is read against."""
        return ("heartbeat",) if self.echo else OPS

    def command(self, port: int) -> tuple[list[str], str]:
        """The responder's command line and what it prints once it serves."""
        if self.echo:
            return [sys.executable, "-m", self.echo, str(port)], READY
        return [sys.executable, "-m", "makerbus", "handlers"], "serving requests"


STACKS = (
    Stack("aiomqtt-echo", "aiomqtt echo", echo="bench.echo_aiomqtt"),
    Stack("paho-echo", "paho echo", echo="bench.echo_paho"),
    Stack("socket-echo", "socket echo", echo="bench.echo_socket"),
    Stack("sqlite", "sqlite", database="sqlite"),
    Stack("postgres", "postgres", database="postgres"),
    Stack("postgres-x2", "postgres x2 workers", database="postgres", workers=2),
)
CEILING = STACKS[0]  # "of echo" reads every figure against the aiomqtt echo


@dataclass(frozen=True)
class Cell:
    stack: Stack
    op: str
    devices: int
    result: Result
    servers: tuple[int, ...]  # the responders' process ids
    broker: int
    load: int  # this process: the simulated devices


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
def processes(
    command: list[str], env: dict[str, str], count: int, ready: str
) -> Iterator[list[int]]:
    """Start `count` copies of a command and wait until each printed `ready`.

    Copy i gets MAKERBUS_HANDLER_SLOT=i: handler workers running at once need one each. Yields
    their process ids.
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
        yield [child.pid for child in children]
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


async def provision(settings: Settings, count: int, *, checkouts: bool) -> Fleet:
    """Machines (and checkouts); members rich enough, products stocked for the whole run."""
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
        tills = []
        for index in range(count if checkouts else 0):
            _, credentials = await provisioning.add(
                db,
                broker,
                slug=f"bench-co-{index}",
                kind=DeviceKind.CHECKOUT,
                name=f"Bench checkout {index}",
                now=now,
                actor=ACTOR,
            )
            tills.append((credentials.username, credentials.password))
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
    return Fleet([(machine.slug, machine.password, machine.card) for machine in machines], tills)


Op = Callable[[BenchDevice], Awaitable[bool]]


async def measure(
    port: int,
    fleet: Fleet,
    ops: tuple[str, ...],
    counts: tuple[int, ...],
    seconds: float,
    *,
    echo: bool,
    watch: tuple[int, ...],
) -> dict[tuple[str, int], Result]:
    """Each op at each device count, in that order, on one set of connections."""
    results: dict[tuple[str, int], Result] = {}
    most = max(counts)
    cards = {slug: card for slug, _, card in fleet.machines}
    card_list = list(cards.values())
    async with AsyncExitStack() as stack:

        async def connect(accounts: list[tuple[str, str]]) -> list[BenchDevice]:
            return [
                await stack.enter_async_context(BenchDevice(port, slug, password))
                for slug, password in accounts[:most]
            ]

        machines = await connect([(slug, password) for slug, password, _ in fleet.machines])
        tills = await connect(fleet.checkouts) if "purchase" in ops else []
        sessions: dict[str, object] = {}

        async def heartbeat(device: BenchDevice) -> bool:
            answer = await device.request(
                "session/heartbeat", session_id=sessions.get(device.slug, 1)
            )
            return answer.get("ok") is True

        async def start_end(device: BenchDevice) -> bool:
            started = await device.request("session/start", card=cards[device.slug])
            ended = await device.request("session/end", session_id=started.get("session_id", 1))
            return started.get("ok") is True and ended.get("ok") is True

        async def purchase(till: BenchDevice) -> bool:
            items = [{"ean": ean, "qty": 1} for ean in BASKET]
            card = card_list[int(till.slug.rsplit("-", 1)[1]) % len(card_list)]
            answer = await till.request("checkout/purchase", card=card, items=items)
            return answer.get("ok") is True

        plan: dict[str, tuple[Op, list[BenchDevice]]] = {
            "heartbeat": (heartbeat, machines),
            "start+end": (start_end, machines),
            "purchase": (purchase, tills),
        }
        for op in ops:
            one, devices = plan[op]
            # Heartbeats need open sessions; a start+end pair needs them closed again.
            if op == "heartbeat" and not echo:
                for device in machines:
                    opened = await device.request("session/start", card=cards[device.slug])
                    sessions[device.slug] = opened["session_id"]
            for count in counts:
                results[op, count] = await closed_loop(
                    devices[:count], one, seconds=seconds, watch=watch
                )
            if op == "heartbeat" and not echo:
                for device in machines:
                    await device.request("session/end", session_id=sessions.pop(device.slug))
    return results


def run(
    picked: list[tuple[Stack, tuple[str, ...]]], counts: tuple[int, ...], seconds: float
) -> list[Cell]:
    """Measure the picked stacks' ops at each device count on one broker."""
    cells: list[Cell] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = settings_for("sqlite:///unused", port, Path(tmp) / "mosquitto")
        init_local(base.broker_data_dir, port, accounts_from(base))
        with LocalBroker(base.broker_data_dir, port) as broker:
            for stack, ops in picked:
                with _database(stack, tmp) as url:
                    settings = settings_for(url, port, base.broker_data_dir)
                    upgrade(url)
                    asyncio.run(_drop_devices(settings))
                    fleet = asyncio.run(
                        provision(settings, max(counts), checkouts="purchase" in ops)
                    )
                    command, ready = stack.command(port)
                    env = child_env(settings)
                    with processes(command, env, stack.workers, ready) as servers:
                        watch = (*servers, broker.pid, os.getpid())
                        measured = asyncio.run(
                            measure(
                                port,
                                fleet,
                                ops,
                                counts,
                                seconds,
                                echo=stack.echo is not None,
                                watch=watch,
                            )
                        )
                cells += [
                    Cell(stack, op, count, result, tuple(servers), broker.pid, os.getpid())
                    for (op, count), result in measured.items()
                ]
    return cells


@contextmanager
def _database(stack: Stack, tmp: str) -> Iterator[str]:
    """A fresh database for a stack (an echo's only holds the devices it answers)."""
    if stack.database == "postgres":
        with fresh_postgres() as url:
            yield url
    else:
        yield f"sqlite:///{tmp}/{stack.name}.db"


async def _drop_devices(settings: Settings) -> None:
    """The broker is shared between stacks: remove the previous stack's bench devices."""
    async with database(settings) as db, open_device_broker(settings, db) as broker:
        await provisioning.reconcile(db, broker, accounts_from(settings))


HEADER = (
    "| stack · op · devices | round trips/s | p50 ms | p99 ms | of echo "
    "| server CPU ms/answer | load gen ms/answer | mosquitto ms/answer |\n"
    "|---|---|---|---|---|---|---|---|"
)


def table(cells: list[Cell]) -> str:
    """One row per cell; "of echo" against the aiomqtt echo at the same device count."""
    ceilings = {cell.devices: cell.result for cell in cells if cell.stack == CEILING}
    rows = [HEADER]
    for cell in cells:
        ceiling = ceilings.get(cell.devices)
        op = "request" if cell.stack.echo else cell.op
        rows.append(
            f"| {cell.stack.label} · {op} · {cell.devices} | {cell.result.rate:,.0f} "
            f"| {cell.result.p50:.1f} | {cell.result.percentile(99):.1f} "
            f"| {_of_echo(cell, ceiling)} | {_server_cpu(cell)} "
            f"| {_cpu_ms(cell.result, [cell.load])} | {_cpu_ms(cell.result, [cell.broker])} |"
            + (f" ({cell.result.errors} errors)" if cell.result.errors else "")
        )
    return "\n".join(rows)


def _of_echo(cell: Cell, ceiling: Result | None) -> str:
    """A start+end pair is two round trips: it is read against half the echo's rate."""
    if cell.stack == CEILING or ceiling is None or not ceiling.rate:
        return "—"
    return f"{cell.result.rate * ROUND_TRIPS[cell.op] / ceiling.rate:.2f}"


def _cpu_ms(result: Result, pids: list[int]) -> str:
    if not result.answers:
        return "—"
    return f"{sum(result.cpu[pid] for pid in pids) * 1000 / result.answers:.2f}"


def _server_cpu(cell: Cell) -> str:
    """The responders' CPU per answer; with two or more, how it split between them."""
    total = _cpu_ms(cell.result, list(cell.servers))
    spent = [cell.result.cpu[pid] for pid in cell.servers]
    if len(spent) < 2 or not sum(spent):
        return total
    return f"{total} ({'/'.join(f'{share * 100 / sum(spent):.0f}' for share in spent)} %)"


def pick(only: str | None, *, postgres: bool) -> list[tuple[Stack, tuple[str, ...]]]:
    """The stacks and ops that `--only` names ("stack" or "stack:op", comma-separated), all
    without it; PostgreSQL's only with `postgres`."""
    by_name = {stack.name: stack for stack in STACKS}
    wanted: dict[str, list[str]] = {}
    for item in (only or ",".join(by_name)).split(","):
        name, _, op = item.strip().partition(":")
        if name not in by_name or (op and op not in by_name[name].ops):
            known = ", ".join(f"{s.name}[:{'|'.join(s.ops)}]" for s in STACKS)
            raise ValueError(f"{item!r} is not a cell of the bench; it has {known}")
        wanted.setdefault(name, []).extend([op] if op else by_name[name].ops)
    return [
        (stack, tuple(op for op in stack.ops if op in wanted[stack.name]))
        for stack in STACKS
        if stack.name in wanted and (postgres or stack.database != "postgres")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per cell")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--only",
        help="cells to run, e.g. 'aiomqtt-echo,sqlite:heartbeat' (stacks: "
        + ", ".join(stack.name for stack in STACKS)
        + "; ops: "
        + ", ".join(OPS)
        + ")",
    )
    parser.add_argument(
        "--devices",
        default=",".join(map(str, CONCURRENCY)),
        help="device counts, comma-separated (default: %(default)s)",
    )
    args = parser.parse_args()
    counts = tuple(int(count) for count in args.devices.split(","))
    try:
        picked = pick(args.only, postgres=not args.skip_postgres and postgres_reachable())
    except ValueError as error:
        parser.error(str(error))
    cells = run(picked, counts, args.seconds)
    text = "\n".join(
        [
            f"makerbus bench — {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{args.seconds:g} s per cell, load average {os.getloadavg()[0]:.1f} at the end",
            "",
            table(cells),
        ]
    )
    print(text)
    (ROOT / "bench" / "last-run.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
