"""Handler CPU per request, in-process: the runtime's handle path without MQTT.

`python -m bench.hotpath [--database sqlite|postgres] [--devices N] [--heartbeats M]
[--op heartbeat|start-end] [--cadence fixed|real] [--concurrency K] [--path hot|general]
[--profile ROWS]`: a fresh migrated database, N machines with open sessions, then M heartbeats
(or M session ends, each followed by a start) round robin through `Runtime.handle`, K at a
time. It reports the process's CPU (user+sys, the aiosqlite thread included; PostgreSQL's own
processes not) per request. `--cadence real` moves a frozen clock so that each machine's
heartbeats are 30 s apart (an interval falls due every ~28th heartbeat, last-seen is written
every 2nd); `fixed` keeps the clock still, as a closed-loop `make bench` run of a few seconds
sees it. `--path general` runs every op without the hot ops of `core.hotpath`;
`--path hot,general` alternates the two in rounds, for a before/after under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import json
import pstats
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from core import machines, members
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.clock import FrozenClock, SystemClock
from core.db import async_session_factory, make_async_engine
from core.devices import create
from core.formats import DeviceKind
from core.migrations import upgrade
from core.settings import Environment, Settings
from handlers.registry import OPS, Op
from handlers.runtime import Incoming, Runtime
from tests.databases import fresh_postgres, fresh_sqlite

ACTOR = Actor.person("bench")
TARIFF = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)
WARMUP = 200


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with fresh_postgres() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as directory, fresh_sqlite(Path(directory)) as url:
        yield url


class Fleet:
    """Machines with an open session each, and the messages their heartbeats are."""

    def __init__(self, slugs: list[str], cards: list[str]) -> None:
        self.slugs = slugs
        self.cards = cards
        self.sessions: list[int] = []
        self.sent = 0

    def request(self, index: int, op: str, **fields: object) -> Incoming:
        self.sent += 1
        payload = json.dumps({"id": f"r-{self.sent}", **fields}).encode()
        return Incoming(topic=f"mkr/v1/{self.slugs[index]}/req/{op}", payload=payload)

    def heartbeat(self, index: int) -> Incoming:
        return self.request(index, "session/heartbeat", session_id=self.sessions[index])

    def start(self, index: int) -> Incoming:
        return self.request(index, "session/start", card=self.cards[index])

    def end(self, index: int) -> Incoming:
        return self.request(index, "session/end", session_id=self.sessions[index])


async def send(runtime: Runtime, message: Incoming) -> dict[str, object]:
    reply = await runtime.handle(message, runtime.topics.parse_request(message.topic))
    assert reply is not None
    answer: dict[str, object] = json.loads(reply.payload)
    return answer


async def seed(runtime: Runtime, settings: Settings, count: int, clock: FrozenClock) -> Fleet:
    engine = make_async_engine(settings.database_url)
    now = clock.now()
    slugs, cards = [], []
    async with async_session_factory(engine)() as db, db.begin():
        for index in range(count):
            device = await create(
                db, slug=f"hot-{index}", kind=DeviceKind.MACHINE, name="m", now=now, actor=ACTOR
            )
            await machines.set_tariff(db, device.id, TARIFF, now=now, actor=ACTOR)
            card = f"04{index:012X}"
            member = await members.add_member(
                db, name="m", card_uid=card, opening_balance_cents=10**9, now=now, actor=ACTOR
            )
            await machines.authorize(
                db,
                device_id=device.id,
                member_id=member.member_id,
                override=TariffOverride(),
                now=now,
                actor=ACTOR,
            )
            slugs.append(device.slug)
            cards.append(card)
    await engine.dispose()
    fleet = Fleet(slugs, cards)
    for index in range(count):
        fleet.sessions.append(await started(runtime, fleet, index))
    return fleet


async def started(runtime: Runtime, fleet: Fleet, index: int) -> int:
    answer = await send(runtime, fleet.start(index))
    session_id = answer["session_id"]
    assert isinstance(session_id, int), answer
    return session_id


@dataclasses.dataclass
class Tally:
    """What one path spent: heartbeats, process CPU, event-loop thread CPU, wall seconds."""

    heartbeats: int = 0
    cpu: float = 0.0
    loop: float = 0.0
    wall: float = 0.0
    failed: int = 0


async def beat(
    runtime: Runtime,
    fleet: Fleet,
    clock: FrozenClock,
    count: int,
    step: timedelta,
    lanes: int,
    tally: Tally,
    op: str = "heartbeat",
) -> None:
    """`count` requests (heartbeats, or ends and starts by turns), `lanes` at a time, added to
    `tally`."""
    devices = len(fleet.slugs)
    cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()

    async def lane(first: int) -> None:
        for number in range(first, count, lanes):
            clock.advance(step)
            index = number % devices
            if op == "heartbeat":
                answer = await send(runtime, fleet.heartbeat(index))
            else:
                answer = await send(runtime, fleet.end(index))
                fleet.sessions[index] = await started(runtime, fleet, index)
            tally.failed += answer.get("ok") is not True

    await asyncio.gather(*(lane(first) for first in range(lanes)))
    tally.heartbeats += count if op == "heartbeat" else 2 * count
    tally.cpu += time.process_time() - cpu
    tally.loop += time.thread_time() - loop
    tally.wall += time.perf_counter() - wall


def ops_for(path: str) -> dict[str, Op]:
    if path == "general":
        return {name: dataclasses.replace(op, hot=None) for name, op in OPS.items()}
    return OPS


async def measure(args: argparse.Namespace, url: str) -> None:
    upgrade(url)
    settings = Settings(env=Environment.DEV, database_url=url, _env_file=None)
    clock = FrozenClock(SystemClock().now())
    engine = make_async_engine(url, pool_size=max(2, args.concurrency))
    paths = args.path.split(",")
    runtimes = {
        path: Runtime(settings, async_session_factory(engine), clock, ops_for(path))
        for path in paths
    }
    fleet = await seed(runtimes[paths[0]], settings, args.devices, clock)
    period = timedelta(seconds=settings.heartbeat_period_s)
    step = period / args.devices if args.cadence == "real" else timedelta(0)
    tallies = {path: Tally() for path in paths}
    for runtime in runtimes.values():
        await beat(runtime, fleet, clock, WARMUP, step, args.concurrency, Tally())
    profile = cProfile.Profile() if args.profile else None
    # Paths take turns, so that what else runs on the machine weighs on each alike.
    for _ in range(args.rounds):
        for path, runtime in runtimes.items():
            if profile and path == paths[0]:
                profile.enable()
            count = args.heartbeats // args.rounds
            await beat(runtime, fleet, clock, count, step, args.concurrency, tallies[path], args.op)
            if profile:
                profile.disable()
    await engine.dispose()
    for path, tally in tallies.items():
        print(
            f"{args.database} · {path} path · {args.devices} devices · cadence {args.cadence} · "
            f"{args.concurrency} at a time: {tally.heartbeats} {args.op} requests, "
            f"{tally.cpu / tally.heartbeats * 1000:.3f} ms CPU each "
            f"({tally.loop / tally.heartbeats * 1000:.3f} in the event loop's thread), "
            f"{tally.heartbeats / tally.wall:,.0f}/s, {tally.failed} not ok"
        )
    if profile:
        stats = pstats.Stats(profile).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--devices", type=int, default=64)
    parser.add_argument("--heartbeats", type=int, default=5000)
    parser.add_argument("--op", choices=("heartbeat", "start-end"), default="heartbeat")
    parser.add_argument("--cadence", choices=("fixed", "real"), default="fixed")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--path",
        choices=("hot", "general", "hot,general", "general,hot"),
        default="hot",
        help="general: every op without core.hotpath (the before figure); two take turns",
    )
    parser.add_argument("--rounds", type=int, default=5, help="turns of each path")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="ROWS", help="print cProfile's top ROWS"
    )
    args = parser.parse_args()
    with database(args.database) as url:
        asyncio.run(measure(args, url))


if __name__ == "__main__":
    main()
