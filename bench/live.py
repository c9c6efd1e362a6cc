"""`python -m bench.live`: the live view under load — other pages' latency, the API's memory.

One real mosquitto (the generated config), one `makerbus handlers` worker and the API
(`makerbus api`, production settings, the monitor subscribed) as subprocesses. Machines with open
sessions send heartbeats open-loop at a steady total rate; viewers in a process of their own
read `/admin/live/events` (traffic, health, presence, and one that never reads); a prober in
another process times other pages every 0.25 s; the API's RSS and CPU are read from /proc.
Not a test: it prints a table per minute (also written to bench/last-live.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from multiprocessing import Queue, get_context
from pathlib import Path

import httpx

from bench.load import BenchDevice
from bench.run import ROOT, TARIFF, child_env, processes, settings_for
from broker.launcher import LocalBroker, free_port, init_local
from broker.provisioning import open_device_broker
from core import api_tokens
from core.audit import Actor
from core.clock import SystemClock
from core.migrations import upgrade
from core.settings import Settings
from makerbus.context import accounts_from, database
from makerbus.fleet import provision_fleet
from tests.databases import fresh_postgres

MINUTE_S = 60.0
SAMPLE_EVERY_S = 10.0
PROBE_EVERY_S = 0.25
LATE_S = 1.0  # an answer later than this counts as late (the publish-to-row bound)
START_IN_S = 3.0  # the helper processes start; everyone begins at the same moment
PAGES = ("/admin/devices", "/api/v1/admin/devices", "/health")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def minute_of(moment: float, t0: float) -> int:
    return int((moment - t0) // MINUTE_S)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass(frozen=True)
class Run:
    """What the helper processes need: where the API is, how to log in, when to start and stop."""

    url: str
    token: str
    t0: float  # time.monotonic(), which is one clock for every process on the machine
    seconds: float

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def ends(self) -> float:
        return self.t0 + self.seconds


# --- load: heartbeats, open loop ----------------------------------------------------------------


@dataclass
class Load:
    sent: int = 0
    answered: Counter[int] = field(default_factory=Counter)  # per minute
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    late: int = 0
    never: int = 0


async def heartbeats(devices: list[tuple[BenchDevice, object]], rate: float, run: Run) -> Load:
    """Each device sends on its own timer, whether or not the last answer came (open loop)."""
    load = Load()
    period = len(devices) / rate

    async def one(device: BenchDevice, session: object) -> None:
        began = time.monotonic()
        try:
            answer = await device.request("session/heartbeat", session_id=session)
        except TimeoutError:
            load.never += 1
            return
        ended = time.monotonic()
        load.late += ended - began > LATE_S
        if answer.get("ok") is True:
            load.answered[minute_of(ended, run.t0)] += 1
            load.latencies.append(ended - began)
        else:
            load.errors[str(answer.get("error"))] += 1

    async def pace(index: int, device: BenchDevice, session: object) -> None:
        pending: set[asyncio.Task[None]] = set()
        due = run.t0 + index * period / len(devices)
        while due < run.ends:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(one(device, session))
            pending.add(task)
            task.add_done_callback(pending.discard)
            load.sent += 1
            due += period
        await asyncio.gather(*pending)

    await asyncio.gather(*(pace(i, device, session) for i, (device, session) in enumerate(devices)))
    return load


# --- the API process seen from /proc --------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    at: float
    rss_kib: int
    cpu_s: float
    load: float  # the machine's 1-minute load average: was anything else running?


def sample(pid: int) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    # utime and stime are fields 14 and 15; the command name before them may hold spaces.
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    load = float(Path("/proc/loadavg").read_text().split()[0])
    return Sample(time.monotonic(), rss, (int(stat[11]) + int(stat[12])) / CLOCK_TICKS, load)


async def sampling(pid: int, run: Run) -> list[Sample]:
    samples = []
    due = run.t0
    while due <= run.ends:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        samples.append(sample(pid))
        due += SAMPLE_EVERY_S
    return samples


def child_pid(*command: str) -> int:
    """The pid of this process's child running `command` (bench.run.processes keeps its own)."""
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            if any(argv[i : i + len(command)] == list(command) for i in range(len(argv))):
                return int(pid)
    raise LookupError(f"no child runs {command}")


# --- viewers and prober, each in a process of its own --------------------------------------------


@dataclass
class Viewers:
    events: Counter[int] = field(default_factory=Counter)  # per minute, all viewers
    by_view: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    resets: int = 0  # snapshots after the first: the viewer fell behind and started over
    reconnects: int = 0
    lag: list[float] = field(default_factory=list)  # monitor's row time to the first viewer
    stalled_open: bool = False
    cpu_s: float = 0.0  # this process's own, to tell the load generator's share


async def view(client: httpx.AsyncClient, name: str, run: Run, seen: Viewers, timed: bool) -> None:
    kind = name.split("-")[0]
    clock = SystemClock()
    url = f"{run.url}/admin/live/events?view={kind}"
    while time.monotonic() < run.ends:
        async with client.stream("GET", url, headers=run.headers) as response:
            response.raise_for_status()
            snapshots = 0
            async for line in response.aiter_lines():
                now = time.monotonic()
                if now >= run.ends:
                    return
                seen.bytes += len(line) + 1
                if not line.startswith("data: "):
                    continue
                seen.events[minute_of(now, run.t0)] += 1
                seen.by_view[kind] += 1
                if '"type":"snapshot"' in line:
                    seen.resets += snapshots > 0
                    snapshots += 1
                elif timed and line.startswith('data: {"type":"row"'):
                    at = line.split('"at":"', 1)[1].split('"', 1)[0]
                    seen.lag.append((clock.now() - datetime.fromisoformat(at)).total_seconds())
        seen.reconnects += 1


async def stall(client: httpx.AsyncClient, run: Run, seen: Viewers) -> None:
    """Opens the traffic stream and never reads it."""
    url = f"{run.url}/admin/live/events?view=traffic"
    async with client.stream("GET", url, headers=run.headers) as response:
        seen.stalled_open = response.status_code == 200
        await asyncio.sleep(max(0.0, run.ends - time.monotonic()))


def viewers(run: Run, traffic: int, out: Queue[Viewers]) -> None:
    async def go() -> Viewers:
        seen = Viewers()
        names = [f"traffic-{i}" for i in range(traffic)] + ["health-0", "presence-0"]
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits) as c:
            await asyncio.sleep(max(0.0, run.t0 - time.monotonic()))
            await asyncio.gather(
                stall(c, run, seen),
                *(view(c, name, run, seen, timed=index == 0) for index, name in enumerate(names)),
            )
        seen.cpu_s = time.process_time()
        return seen

    out.put(asyncio.run(go()))


Probes = dict[str, list[tuple[int, float, int]]]  # page: (minute, seconds, status)


def prober(run: Run, out: Queue[Probes]) -> None:
    async def go() -> Probes:
        probes: Probes = {page: [] for page in PAGES}
        async with httpx.AsyncClient(base_url=run.url, headers=run.headers, timeout=30) as c:
            due = run.t0
            while due < run.ends and time.monotonic() < run.ends:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                for page in PAGES:
                    began = time.monotonic()
                    status = (await c.get(page)).status_code
                    probes[page].append(
                        (minute_of(began, run.t0), time.monotonic() - began, status)
                    )
                due += PROBE_EVERY_S
        return probes

    out.put(asyncio.run(go()))


# --- the stack -----------------------------------------------------------------------------------


async def provision(settings: Settings, devices: int) -> tuple[list[tuple[str, str, str]], str]:
    """Machines with members rich enough for the run, and an admin API token."""
    now = SystemClock().now()
    async with database(settings) as db, open_device_broker(settings, db) as broker:
        machines = await provision_fleet(
            db,
            broker,
            prefix="live",
            machine_count=devices,
            member_count=devices,
            tariff=TARIFF,
            balance_cents=10**12,
            now=now,
        )
        _, token = await api_tokens.create(
            db, name="bench", role="admin", now=now, actor=Actor.person("bench")
        )
    return [(machine.slug, machine.password, machine.card) for machine in machines], token


def web_env(settings: Settings, api_port: int) -> dict[str, str]:
    """The handlers' environment plus the web side's secrets, random for the run."""
    return child_env(settings) | {
        "MAKERBUS_SESSION_SECRET": secrets.token_urlsafe(48),
        "MAKERBUS_OIDC_CLIENT_SECRET": secrets.token_urlsafe(24),
        "MAKERBUS_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
    }


@dataclass
class Measured:
    load: Load
    samples: list[Sample]
    handler: tuple[Sample, Sample]
    viewers: Viewers
    probes: Probes


async def drive(
    port: int, fleet: list[tuple[str, str, str]], args: argparse.Namespace, url: str, token: str
) -> Measured:
    api = child_pid("-m", "makerbus", "api")
    handler = child_pid("-m", "makerbus", "handlers")
    async with AsyncExitStack() as stack:
        devices = []
        for slug, password, card in fleet:
            device = await stack.enter_async_context(BenchDevice(port, slug, password))
            opened = await device.request("session/start", card=card)
            devices.append((device, opened["session_id"]))
        run = Run(url, token, time.monotonic() + START_IN_S, args.seconds)
        spawn = get_context("spawn")  # a fresh interpreter: none of this loop's sockets
        seen: Queue[Viewers] = spawn.Queue()
        probed: Queue[Probes] = spawn.Queue()
        helpers = [
            spawn.Process(target=viewers, args=(run, args.viewers, seen)),
            spawn.Process(target=prober, args=(run, probed)),
        ]
        for helper in helpers:
            helper.start()
        handler_before = sample(handler)
        load, samples = await asyncio.gather(
            heartbeats(devices, args.rate, run), sampling(api, run)
        )
        wait = args.seconds + 60
        measured = Measured(
            load,
            samples,
            (handler_before, sample(handler)),
            await asyncio.to_thread(seen.get, timeout=wait),
            await asyncio.to_thread(probed.get, timeout=wait),
        )
        for helper in helpers:
            helper.join(30)
    return measured


# --- the report ----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def rss_by_minute(samples: list[Sample]) -> dict[int, float]:
    """The largest RSS sampled in each minute, MiB."""
    t0 = samples[0].at
    by_minute: dict[int, float] = defaultdict(float)
    for one in samples:
        minute = minute_of(one.at, t0)
        by_minute[minute] = max(by_minute[minute], one.rss_kib / 1024)
    return by_minute


def cpu_share(pairs: list[tuple[Sample, Sample]]) -> float:
    """The API's CPU time over wall time, in % of one core."""
    wall = sum(b.at - a.at for a, b in pairs)
    return 100 * sum(b.cpu_s - a.cpu_s for a, b in pairs) / wall if wall else float("nan")


def report(measured: Measured, seconds: float) -> list[str]:
    load, samples, seen, probes = (
        measured.load,
        measured.samples,
        measured.viewers,
        measured.probes,
    )
    t0 = samples[0].at
    pairs = list(pairwise(samples))
    rss = rss_by_minute(samples)
    page_times: dict[int, list[float]] = defaultdict(list)
    for visits in probes.values():
        for minute, took, _ in visits:
            page_times[minute].append(took)
    every_page = [took for visits in probes.values() for _, took, _ in visits]
    lines = [
        "| minute | API RSS MiB (max) | API CPU % of a core | heartbeats answered/s "
        "| events/s to viewers | page p50 ms | page p99 ms | load avg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    minutes = int(-(-seconds // MINUTE_S))
    for minute in range(minutes):
        length = min(MINUTE_S, seconds - minute * MINUTE_S)
        in_minute = [(a, b) for a, b in pairs if minute_of(a.at, t0) == minute]
        cpu = cpu_share(in_minute)
        busy = max((b.load for _, b in in_minute), default=float("nan"))
        times = page_times[minute]
        lines.append(
            f"| {minute + 1} | {rss[minute]:.1f} | {cpu:.0f} "
            f"| {load.answered[minute] / length:.0f} "
            f"| {seen.events[minute] / length:,.0f} | {ms(percentile(times, 50))} "
            f"| {ms(percentile(times, 99))} | {busy:.1f} |"
        )
    lines.append(
        f"| all | {max(rss.values()):.1f} | {cpu_share(pairs):.0f} "
        f"| {sum(load.answered.values()) / seconds:.0f} "
        f"| {sum(seen.events.values()) / seconds:,.0f} | {ms(percentile(every_page, 50))} "
        f"| {ms(percentile(every_page, 99))} | {max(one.load for one in samples):.1f} |"
    )
    answered = len(load.latencies)
    errors = ", ".join(f"{n} {code}" for code, n in load.errors.most_common()) or "none"
    lines += [
        "",
        f"Heartbeats: {load.sent:,} sent ({load.sent / seconds:.0f}/s), {answered:,} answered ok "
        f"({answered / seconds:.0f}/s), p50 {ms(percentile(load.latencies, 50))} ms, "
        f"p99 {ms(percentile(load.latencies, 99))} ms; later than {LATE_S:.0f} s: {load.late:,}; "
        f"never answered: {load.never:,}; error answers: {errors}.",
        "",
        "| page (every 0.25 s) | probes | not 200 | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for page, visits in probes.items():
        times = [took for _, took, _ in visits]
        failed = sum(status != 200 for _, _, status in visits)
        lines.append(
            f"| {page} | {len(visits):,} | {failed} | {ms(percentile(times, 50))} "
            f"| {ms(percentile(times, 99))} | {ms(max(times, default=float('nan')))} |"
        )
    by_view = ", ".join(f"{kind} {count:,}" for kind, count in sorted(seen.by_view.items()))
    lines += [
        "",
        f"Viewers: events read {by_view} ({seen.bytes / 2**20:.1f} MiB); started over after "
        f"falling behind: {seen.resets:,}; reconnects: {seen.reconnects}; the stalled viewer "
        f"{'was connected' if seen.stalled_open else 'was REFUSED'} and read nothing. "
        f"Monitor's row time to the first traffic viewer: p50 {ms(percentile(seen.lag, 50))} ms, "
        f"p99 {ms(percentile(seen.lag, 99))} ms.",
        "",
        f"CPU, % of one core over the run: API {cpu_share(pairs):.0f}, handler worker "
        f"{cpu_share([measured.handler]):.0f}, "
        f"the viewers' process {100 * seen.cpu_s / seconds:.0f}.",
        "",
        flatness(rss, minutes),
    ]
    return lines


def flatness(rss: dict[int, float], minutes: int) -> str:
    if minutes < 3:
        return "Memory: too short a run to compare the second minute with the last."
    second, last = rss[1], rss[minutes - 1]
    return (
        f"Memory: RSS {second:.1f} MiB in minute 2, {last:.1f} MiB in minute {minutes} "
        f"({last - second:+.1f} MiB)."
    )


# --- main ----------------------------------------------------------------------------------------


@contextmanager
def database_url(backend: str, tmp: str) -> Iterator[str]:
    if backend == "postgres":
        with fresh_postgres() as url:
            yield url
    else:
        yield f"sqlite:///{tmp}/live.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=200.0, help="heartbeats/s, all devices")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--viewers", type=int, default=20, help="traffic viewers")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    header = (
        f"makerbus live bench — {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.database}, "
        f"{args.seconds:.0f} s, {args.rate:.0f} heartbeats/s over {args.devices} machines, "
        f"{args.viewers} traffic viewers + 1 health + 1 presence + 1 stalled"
    )
    with tempfile.TemporaryDirectory() as tmp, database_url(args.database, tmp) as url:
        port, api_port = free_port(), free_port()
        settings = settings_for(url, port, Path(tmp) / "mosquitto")
        init_local(settings.broker_data_dir, port, accounts_from(settings))
        with LocalBroker(settings.broker_data_dir, port):
            upgrade(url)
            fleet, token = asyncio.run(provision(settings, args.devices))
            handlers = [sys.executable, "-m", "makerbus", "handlers"]
            api = [sys.executable, "-m", "makerbus", "api", "--port", str(api_port)]
            with (
                processes(handlers, child_env(settings), 1, "serving requests"),
                processes(api, web_env(settings, api_port), 1, "watching the broker"),
            ):
                measured = asyncio.run(
                    drive(port, fleet, args, f"http://127.0.0.1:{api_port}", token)
                )
    text = "\n".join([header, "", *report(measured, args.seconds)])
    print(text)
    (ROOT / "bench" / "last-live.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
