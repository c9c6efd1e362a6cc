"""`makerbus simulate`: a fleet of reference machine controllers with simulated readers and relays.

Each simulated member taps their card, works a random while (heartbeats keep the machine paid),
and taps again. A status line every few seconds shows what the fleet sees. Needs the
`makerbus-device` package (installed by `make`).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field

import click

from core.billing import Tariff
from core.clock import SystemClock
from core.settings import Settings
from makerbus.context import database, device_broker
from makerbus.fleet import FleetMachine, provision_fleet

STATUS_EVERY_S = 5.0


@dataclass
class Tally:
    """What the simulated machines saw, updated from their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    lines: dict[str, int] = field(default_factory=dict)

    def count(self, text: str) -> None:
        key = text.split(":")[0].split(",")[0][:40]
        with self.lock:
            self.lines[key] = self.lines.get(key, 0) + 1

    def summary(self) -> str:
        with self.lock:
            top = sorted(self.lines.items(), key=lambda item: -item[1])[:4]
        return "; ".join(f"{text} x{n}" for text, n in top)


async def _provision(
    settings: Settings, count: int, members: int, tariff: Tariff, balance: int, prefix: str
) -> list[FleetMachine]:
    async with database(settings) as db, device_broker(settings) as broker:
        return await provision_fleet(
            db,
            broker,
            prefix=prefix,
            machine_count=count,
            member_count=members,
            tariff=tariff,
            balance_cents=balance,
            now=SystemClock().now(),
        )


def run_simulation(
    settings: Settings,
    *,
    machines: int,
    members: int,
    seconds: float,
    work_s: tuple[float, float],
    tariff: Tariff,
    balance: int,
    prefix: str,
) -> None:
    try:
        from makerbus_device import (
            DeviceClient,
            MachineController,
            SimulatedReader,
            SimulatedRelay,
        )
    except ImportError:  # pragma: no cover - a deployment without the device package
        raise click.ClickException(
            "makerbus simulate needs makerbus-device: pip install ./hardware_clients"
        ) from None
    fleet = asyncio.run(_provision(settings, machines, members, tariff, balance, prefix))
    click.echo(
        f"{len(fleet)} simulated machines, {members} members; "
        f"sessions of {work_s[0]:.0f}-{work_s[1]:.0f} s; Ctrl-C stops."
    )
    stop = threading.Event()
    tally = Tally()
    rigs = []
    for machine in fleet:
        client = DeviceClient(
            settings.device_host, settings.device_port, machine.slug, machine.password
        )
        client.connect()
        reader, relay = SimulatedReader(), SimulatedRelay()
        controller = MachineController(client, reader, relay, display=tally.count)
        thread = threading.Thread(target=controller.run, args=(stop,), daemon=True)
        thread.start()
        rigs.append((machine, client, reader, relay, controller, thread))
    began = time.monotonic()
    next_tap = {machine.slug: began + random.uniform(0, 3) for machine, *_ in rigs}
    next_status = began + STATUS_EVERY_S
    try:
        while time.monotonic() - began < seconds:
            now = time.monotonic()
            for machine, _, reader, _, controller, _ in rigs:
                if now >= next_tap[machine.slug]:
                    reader.tap(machine.card)
                    pause = (
                        random.uniform(*work_s)
                        if controller.state == "idle"
                        else (random.uniform(1, 5))
                    )
                    next_tap[machine.slug] = now + pause
            if now >= next_status:
                on = sum(relay.is_on for *_, relay, _, _ in rigs)
                click.echo(f"{now - began:5.0f} s  relays on {on}/{len(rigs)}  {tally.summary()}")
                next_status += STATUS_EVERY_S
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for _, client, _, _, _, thread in rigs:
            thread.join(5)
            client.close()
    click.echo(f"done: {tally.summary()}")
