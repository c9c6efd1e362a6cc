"""The devices of `makerbus simulate`: each runs a reference program in one thread, while
another thread acts out the members who use it (taps, scans, coins, tags).

Inputs are put with `put_and_wait`, so a program reads them in the order the members made
them: a coin inserted after a tap is always that member's top-up.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from makerbus_device import (
    Bankomat,
    CheckoutTerminal,
    DeviceClient,
    Key,
    MachineController,
    RentalStation,
    SimulatedCashAcceptor,
    SimulatedKeypad,
    SimulatedPinPad,
    SimulatedRelay,
    SimulatedScanner,
    SimulatedTagReader,
)
from makerbus_device.peripherals import Feed

from core.settings import Settings

COINS_CENTS = (100, 200, 300, 500)
RNG = random.Random()  # noqa: S311 - simulated members, not secrets
TAG_QUIET_S = 4.0  # a tag presented again sooner would be the same presentation to a station


class Cards(Feed[str]):
    """A card reader whose taps can be waited for, like the other simulated inputs."""

    def tap(self, uid: str) -> None:
        self.put(uid)


@dataclass
class Tally:
    """What the simulated devices showed, updated from their threads.

    `lines` counts display lines (numbers blanked, so that lines of one kind add up);
    `events` counts the lines that mark a purchase, top-up, donation, rental or return.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    lines: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)

    def display(self, markers: dict[str, str]) -> Callable[[str], None]:
        """A display that counts its lines, and as `markers[m]` each line containing `m`."""

        def show(text: str) -> None:
            key = re.sub(r"\d[\d.,]*", "n", re.split(r"[:|,]", text)[0].strip())[:40]
            with self.lock:
                self.lines[key] = self.lines.get(key, 0) + 1
                for marker, event in markers.items():
                    if marker in text:
                        self.events[event] = self.events.get(event, 0) + 1

        return show

    def event(self, name: str) -> int:
        with self.lock:
            return self.events.get(name, 0)

    def summary(self) -> str:
        with self.lock:
            top = sorted(self.lines.items(), key=lambda item: -item[1])[:4]
        return "; ".join(f"{text} x{n}" for text, n in top)


def stopped(stop: threading.Event, low: float, high: float) -> bool:
    """Wait a random while; whether the simulation was stopped meanwhile."""
    return stop.wait(RNG.uniform(low, high))


class Simulated(Protocol):
    """A device's program and the members who use it."""

    def program(self, client: DeviceClient) -> Callable[[threading.Event], None]:
        """Build the device's program on `client`; what runs it until the event is set."""
        ...

    def members(self, stop: threading.Event) -> None:
        """Act out the members who use the device until `stop` is set."""
        ...


@dataclass
class Rig:
    """One simulated device: its connection, its program's thread and its members' thread."""

    client: DeviceClient
    threads: list[threading.Thread]

    def close(self) -> None:
        for thread in self.threads:
            thread.join(5)
        self.client.close()


def start_rig(
    settings: Settings,
    slug: str,
    password: str,
    program: Callable[[DeviceClient], Callable[[threading.Event], None]],
    members: Callable[[threading.Event], None],
    stop: threading.Event,
) -> Rig:
    """Connect as the device, then run `program(client)` and `members` until `stop`."""
    client = DeviceClient(settings.device_host, settings.device_port, slug, password)
    client.connect()
    threads = [
        threading.Thread(target=target, args=(stop,), daemon=True)
        for target in (program(client), members)
    ]
    for thread in threads:
        thread.start()
    return Rig(client, threads)


class Machine:
    """A member taps, works a random while (heartbeats keep it paid), and taps again."""

    def __init__(self, card: str, work_s: tuple[float, float], tally: Tally) -> None:
        self.card, self.work_s, self.tally = card, work_s, tally
        self.reader, self.relay = Cards(), SimulatedRelay()
        self.controller: MachineController | None = None

    def program(self, client: DeviceClient) -> Callable[[threading.Event], None]:
        display = self.tally.display({})
        self.controller = MachineController(client, self.reader, self.relay, display=display)
        return self.controller.run

    def members(self, stop: threading.Event) -> None:
        assert self.controller is not None
        if stopped(stop, 0, 3):
            return
        while True:
            starting = self.controller.state == "idle"
            self.reader.put_and_wait(self.card, stop)
            if stopped(stop, *(self.work_s if starting else (1, 5))):
                return


class Checkout:
    """A member scans 1-3 random products and taps to pay; then the next member comes."""

    def __init__(self, products: list[str], cards: list[str], tally: Tally) -> None:
        self.products, self.cards, self.tally = products, cards, tally
        self.scanner, self.reader, self.keypad = SimulatedScanner(), Cards(), SimulatedKeypad()
        self.terminal: CheckoutTerminal | None = None

    def program(self, client: DeviceClient) -> Callable[[threading.Event], None]:
        display = self.tally.display({"paid ": "purchases"})
        self.terminal = CheckoutTerminal(
            client, self.scanner, self.reader, self.keypad, display=display
        )
        return self.terminal.run

    def members(self, stop: threading.Event) -> None:
        assert self.terminal is not None
        pause = (0.0, 2.0)
        while not stopped(stop, *pause):
            pause = (1.0, 4.0)
            if self.terminal.basket:  # the last member could not pay
                self.keypad.put_and_wait(Key.CLEAR, stop)
            for _ in range(RNG.randint(1, 3)):
                self.scanner.put_and_wait(RNG.choice(self.products), stop)
                if stopped(stop, 0.2, 0.6):
                    return
            self.reader.put_and_wait(RNG.choice(self.cards), stop)


class Cashpoint:
    """A Bankomat: mostly a member taps and inserts coins (a top-up); sometimes someone
    presses *done* (ending the last member's turn) and inserts coins (a donation)."""

    def __init__(self, cash_box: str, cards: list[str], tally: Tally) -> None:
        self.cash_box, self.cards, self.tally = cash_box, cards, tally
        self.reader, self.cash, self.keypad = Cards(), SimulatedCashAcceptor(), SimulatedKeypad()

    def program(self, client: DeviceClient) -> Callable[[threading.Event], None]:
        display = self.tally.display({"topped up": "top-ups", "for donating": "donations"})
        bankomat = Bankomat(
            client,
            self.reader,
            self.cash,
            SimulatedPinPad(),
            self.keypad,
            display=display,
            target=self.cash_box,
        )
        return bankomat.run

    def members(self, stop: threading.Event) -> None:
        pause = (0.0, 2.0)
        while not stopped(stop, *pause):
            pause = (1.0, 4.0)
            if RNG.random() < 0.75:
                self.reader.put_and_wait(RNG.choice(self.cards), stop)
            else:
                self.keypad.put_and_wait(Key.DONE, stop)
            for _ in range(RNG.randint(1, 2)):
                if stopped(stop, 0.3, 1.0):
                    return
                self.cash.put_and_wait(RNG.choice(COINS_CENTS), stop)


class Rentals:
    """A rental station with its own items: a permitted member presents an item that is in
    and taps their card; later the item is presented again and so returned."""

    def __init__(self, items: dict[str, bool], renters: list[str], tally: Tally) -> None:
        self.items, self.renters, self.tally = dict(items), renters, tally
        self.tags, self.reader = SimulatedTagReader(), Cards()
        self.presented: dict[str, float] = {}

    def program(self, client: DeviceClient) -> Callable[[threading.Event], None]:
        display = self.tally.display({" is yours": "rented", " returned after": "returned"})
        return RentalStation(client, self.tags, self.reader, display=display).run

    def members(self, stop: threading.Event) -> None:
        pause = (0.0, 2.0)
        while not stopped(stop, *pause):
            pause = (1.0, 4.0)
            now = time.monotonic()
            ready = [t for t in self.items if now - self.presented.get(t, -math.inf) > TAG_QUIET_S]
            out = [tid for tid in ready if self.items[tid]]
            waiting = [tid for tid in ready if not self.items[tid]]
            if out and (not waiting or RNG.random() < 0.4):
                self.present(RNG.choice(out), stop)  # a return
            elif waiting:
                tid = RNG.choice(waiting)
                self.present(tid, stop)
                if stopped(stop, 0.3, 1.0):
                    return
                self.reader.put_and_wait(RNG.choice(self.renters), stop)

    def present(self, tid: str, stop: threading.Event) -> None:
        self.tags.put_and_wait(tid, stop)
        self.presented[tid] = time.monotonic()
        self.items[tid] = not self.items[tid]
