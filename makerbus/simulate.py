"""`makerbus simulate`: a mixed fleet of reference device programs with simulated inputs.

Machines: a member taps, works a random while (heartbeats keep the machine paid), and taps
again. Checkouts: members scan products and tap to pay. Bankomats: members tap and insert coins
(top-ups), or insert coins without a tap (donations). Rental stations: permitted members rent
items by tag and card, and return them later. A status line every few seconds shows what the
fleet sees. Needs the `makerbus-device` package (installed by `make`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import click

from broker.provisioning import open_device_broker
from core.billing import Tariff
from core.clock import SystemClock
from core.settings import Settings
from makerbus.context import database
from makerbus.fleet import FleetMachine, FleetShop, provision_fleet, provision_shop
from makerbus.simulate_fleet import (
    Cashpoint,
    Checkout,
    Machine,
    Rentals,
    Rig,
    Simulated,
    Tally,
    start_rig,
)

STATUS_EVERY_S = 5.0


@dataclass(frozen=True)
class Plan:
    """What to simulate, from the command line."""

    machines: int
    checkouts: int
    bankomats: int
    rentals: int
    members: int
    seconds: float
    work_s: tuple[float, float]
    tariff: Tariff
    balance: int
    prefix: str


async def _provision(settings: Settings, plan: Plan) -> tuple[list[FleetMachine], FleetShop]:
    now = SystemClock().now()
    async with database(settings) as db, open_device_broker(settings, db) as broker:
        machines = await provision_fleet(
            db,
            broker,
            prefix=plan.prefix,
            machine_count=plan.machines,
            member_count=plan.members,
            tariff=plan.tariff,
            balance_cents=plan.balance,
            now=now,
        )
        shop = await provision_shop(
            db,
            broker,
            prefix=plan.prefix,
            checkouts=plan.checkouts,
            bankomats=plan.bankomats,
            rentals_count=plan.rentals,
            member_count=plan.members,
            balance_cents=plan.balance,
            now=now,
        )
        return machines, shop


def run_simulation(settings: Settings, plan: Plan) -> None:
    machines, shop = asyncio.run(_provision(settings, plan))
    kinds = [
        (len(shop.checkouts), "checkouts"),
        (len(shop.bankomats), "Bankomats"),
        (len(shop.rentals), f"rental stations with {len(shop.items)} items"),
    ]
    others = "".join(f", {count} {kind}" for count, kind in kinds if count)
    sessions = f"sessions of {plan.work_s[0]:.0f}-{plan.work_s[1]:.0f} s; " if machines else ""
    click.echo(
        f"{len(machines)} simulated machines{others}, {plan.members} members; "
        f"{sessions}Ctrl-C stops."
    )
    stop, tally = threading.Event(), Tally()
    fleet = _Fleet(settings, stop, tally)
    try:
        fleet.start(machines, shop, plan.work_s)
        began = time.monotonic()
        next_status = began + STATUS_EVERY_S
        while (now := time.monotonic()) - began < plan.seconds:
            if now >= next_status:
                click.echo(f"{now - began:5.0f} s  {fleet.status()}")
                next_status += STATUS_EVERY_S
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        fleet.close()
    click.echo(f"done: {fleet.status()}")


class _Fleet:
    """The running rigs, and the status line over all kinds of device."""

    def __init__(self, settings: Settings, stop: threading.Event, tally: Tally) -> None:
        self.settings, self.stop, self.tally = settings, stop, tally
        self.machines: list[Machine] = []
        self.rigs: list[Rig] = []
        self.sims: list[Simulated] = []
        self.out_at_start = 0

    def start(
        self, machines: list[FleetMachine], shop: FleetShop, work_s: tuple[float, float]
    ) -> None:
        for machine in machines:
            sim = Machine(machine.card, work_s, self.tally)
            self.machines.append(sim)
            self._start(machine.slug, machine.password, sim)
        for device in shop.checkouts:
            self._start(
                device.slug, device.password, Checkout(shop.products, shop.cards, self.tally)
            )
        for device in shop.bankomats:
            self._start(
                device.slug, device.password, Cashpoint(shop.cash_box, shop.cards, self.tally)
            )
        tids = list(shop.items)
        for index, device in enumerate(shop.rentals):
            own = {tid: shop.items[tid] for tid in tids[index :: len(shop.rentals)]}
            self.out_at_start += sum(own.values())
            self._start(device.slug, device.password, Rentals(own, shop.renters, self.tally))

    def _start(self, slug: str, password: str, sim: Simulated) -> None:
        self.sims.append(sim)
        self.rigs.append(
            start_rig(self.settings, slug, password, sim.program, sim.members, self.stop)
        )

    def running(self, kind: type) -> bool:
        return any(isinstance(sim, kind) for sim in self.sims)

    def status(self) -> str:
        tally, parts = self.tally, []
        if self.machines:
            on = sum(machine.relay.is_on for machine in self.machines)
            parts.append(f"relays on {on}/{len(self.machines)}")
        if self.running(Checkout):
            parts.append(f"purchases {tally.event('purchases')}")
        if self.running(Cashpoint):
            parts.append(f"top-ups {tally.event('top-ups')} donations {tally.event('donations')}")
        if self.running(Rentals):
            out = self.out_at_start + tally.event("rented") - tally.event("returned")
            parts.append(f"rentals out {out} (returned {tally.event('returned')})")
        return "  ".join([*parts, tally.summary()])

    def close(self) -> None:
        for rig in self.rigs:
            rig.close()
