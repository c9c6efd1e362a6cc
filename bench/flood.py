"""`python -m bench.flood`: what one flooding device costs another device.

One real mosquitto (the generated config), one `makerbus handlers` process with the default rate
limit, two machines with open sessions. The quiet machine sends heartbeats at a steady pace below
its limit; its latency is measured alone (the baseline), then while the other machine fires bursts
of 500 heartbeats at once, one burst a second. Every request of a burst must be answered
(`ok` while the flooder's bucket has tokens, `rate_limited` after). Not a test: it prints a table
(also written to bench/last-flood.md).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing import Process, Queue
from pathlib import Path
from typing import TYPE_CHECKING

from bench.load import BenchDevice, Result
from bench.run import ROOT, TARIFF, child_env, processes, settings_for
from broker.launcher import LocalBroker, free_port, init_local
from broker.provisioning import open_device_broker
from core.clock import SystemClock
from core.migrations import upgrade
from core.settings import Settings
from makerbus.context import accounts_from, database
from makerbus.fleet import provision_fleet
from tests.databases import fresh_postgres, postgres_reachable

QUIET_PER_S = 15.0  # below the default limit of 20 a second
BURST = 500
FLOOD_OPS = ("device/config", "session/heartbeat")  # a read; a write (SQLite: one writer)


async def paced(device: BenchDevice, session: object, seconds: float) -> Result:
    """Heartbeats at most QUIET_PER_S for `seconds` (a slow answer delays the next one, as on a
    device's timer, so it never exceeds its limit); the latency of each."""
    result = Result(seconds=seconds)
    period = 1 / QUIET_PER_S
    stop_at = time.perf_counter() + seconds
    while (began := time.perf_counter()) < stop_at:
        answer = await device.request("session/heartbeat", session_id=session)
        if answer.get("ok") is True:
            result.latencies.append(time.perf_counter() - began)
        else:
            result.errors += 1
        await asyncio.sleep(max(0.0, began + period - time.perf_counter()))
    return result


async def bursts(device: BenchDevice, op: str, session: object, seconds: float) -> Counter[str]:
    """A burst of BURST `op` requests at once, every second: how each was answered."""
    answers: Counter[str] = Counter()
    stop_at = time.perf_counter() + seconds

    async def one() -> None:
        try:
            fields = {"session_id": session} if op == "session/heartbeat" else {}
            answer = await device.request(op, **fields)
        except TimeoutError:
            answers["no answer"] += 1
        else:
            answers[str(answer.get("error") or "ok")] += 1

    while time.perf_counter() < stop_at:
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(BURST)))
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))
    return answers


Machine = tuple[str, str, str]  # slug, password, the member's card
if TYPE_CHECKING:
    Answers = multiprocessing.Queue[Counter[str]]


async def provision(settings: Settings, prefix: str) -> list[Machine]:
    """Two machines, each with a member rich enough for the run."""
    async with database(settings) as db, open_device_broker(settings, db) as broker:
        machines = await provision_fleet(
            db,
            broker,
            prefix=prefix,
            machine_count=2,
            member_count=2,
            tariff=TARIFF,
            balance_cents=10**12,
            now=SystemClock().now(),
        )
    return [(machine.slug, machine.password, machine.card) for machine in machines]


def flooder(
    op: str, port: int, slug: str, password: str, card: str, seconds: float, out: Answers
) -> None:
    """The flooding machine, in a process of its own: its answers cost the quiet one nothing."""

    async def go() -> Counter[str]:
        async with BenchDevice(port, slug, password) as loud:
            session = (await loud.request("session/start", card=card))["session_id"]
            return await bursts(loud, op, session, seconds)

    out.put(asyncio.run(go()))


async def measure(
    port: int, fleet: list[Machine], op: str, seconds: float
) -> tuple[Result, Result, Counter[str]]:
    (quiet_slug, quiet_password, quiet_card), loud = fleet
    async with BenchDevice(port, quiet_slug, quiet_password) as quiet:
        session = (await quiet.request("session/start", card=quiet_card))["session_id"]
        baseline = await paced(quiet, session, seconds)
        answers: Answers = Queue()
        flooding = Process(target=flooder, args=(op, port, *loud, seconds, answers))
        flooding.start()
        flooded = await paced(quiet, session, seconds)
        told = await asyncio.to_thread(answers.get, timeout=seconds + 60)
        flooding.join()
    return baseline, flooded, told


def run_backend(name: str, url: str, port: int, data_dir: Path, seconds: float) -> list[str]:
    settings = settings_for(url, port, data_dir)
    upgrade(url)
    env = child_env(settings)
    # The default per-device limit is the point here.
    del env["MAKERBUS_RATE_LIMIT_PER_S"], env["MAKERBUS_RATE_LIMIT_BURST"]
    rows = []
    with processes([sys.executable, "-m", "makerbus", "handlers"], env, 1, "serving requests"):
        for index, op in enumerate(FLOOD_OPS):
            fleet = asyncio.run(provision(settings, f"flood{index}"))
            baseline, flooded, answers = asyncio.run(measure(port, fleet, op, seconds))
            ratio = flooded.percentile(99) / baseline.percentile(99)
            told = ", ".join(f"{count:,} {kind}" for kind, count in answers.most_common())
            rows.append(
                f"| {name} | {op} "
                f"| {baseline.p50:.1f} / {baseline.percentile(99):.1f} "
                f"| {flooded.p50:.1f} / {flooded.percentile(99):.1f} | {ratio:.2f} "
                f"| {flooded.errors + baseline.errors} | {told} |"
            )
    return rows


def backends(skip_postgres: bool) -> Iterator[tuple[str, str]]:
    """(name, database URL) of each database to run on."""
    with tempfile.TemporaryDirectory() as tmp:
        yield "sqlite", f"sqlite:///{tmp}/flood.db"
    if not skip_postgres and postgres_reachable():
        with fresh_postgres() as url:
            yield "postgres", url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="baseline and flood, each")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    lines = [
        f"makerbus flood bench — {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.seconds:.0f} s each",
        "",
        f"Quiet machine: {QUIET_PER_S:.0f} heartbeats/s. Flooder: {BURST} requests at once, "
        "once a second.",
        "",
        "| database | flooder's op | quiet alone p50 / p99 ms | quiet during floods p50 / p99 ms "
        "| p99 ratio | quiet errors | flooder's answers |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, url in backends(args.skip_postgres):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            data_dir = Path(tmp) / "mosquitto"
            init_local(data_dir, port, accounts_from(settings_for(url, port, data_dir)))
            with LocalBroker(data_dir, port):
                lines += run_backend(name, url, port, data_dir, args.seconds)
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "last-flood.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
