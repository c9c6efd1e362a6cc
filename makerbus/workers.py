"""`makerbus handlers --processes N`: N handler workers as child processes of one command.

Each child is a plain `makerbus handlers --worker <slot>`: its own broker account slot and its
own metrics port (the base port + i), so it is exactly the worker one would start by hand, and
Prometheus scrapes each like any other. SIGTERM or Ctrl-C stops them all, each finishing the
requests it holds. A worker that exits on its own is not restarted: the others are stopped and
the command fails, so the failure is seen and the supervisor (systemd, docker) restarts the set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass

import click

from broker.identities import handler_login
from core.settings import Settings

# A worker drains for up to 10 s (handlers.service.DRAIN_TIMEOUT_S) before it disconnects.
STOP_TIMEOUT_S = 20.0
MAX_PORT = 65535


@dataclass(frozen=True)
class Worker:
    slot: int
    account: str
    metrics_port: int  # 0: no metrics endpoint

    def describe(self) -> str:
        metrics = f"metrics on port {self.metrics_port}" if self.metrics_port else "no metrics"
        return f"worker {self.slot}: broker account {self.account}, {metrics}"


def plan(settings: Settings, processes: int) -> list[Worker]:
    """Slots from MAKERBUS_HANDLER_SLOT on, metrics ports from MAKERBUS_METRICS_PORT on.

    SlotError when the pool is too small, ValueError when a port would not exist.
    """
    base = settings.metrics_port
    if base and base + processes - 1 > MAX_PORT:
        raise ValueError(f"metrics ports {base}..{base + processes - 1} do not all exist")
    return [
        Worker(slot, handler_login(settings, slot).username, base + index if base else 0)
        for index, slot in enumerate(
            range(settings.handler_slot, settings.handler_slot + processes)
        )
    ]


async def _start(worker: Worker) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "makerbus",
        "handlers",
        "--worker",
        str(worker.slot),
        env=os.environ | {"MAKERBUS_METRICS_PORT": str(worker.metrics_port)},
    )


async def _stop(children: list[asyncio.subprocess.Process]) -> None:
    for child in children:
        if child.returncode is None:
            child.terminate()
    waits = [asyncio.create_task(child.wait()) for child in children]
    _, late = await asyncio.wait(waits, timeout=STOP_TIMEOUT_S)
    for child in children:
        if child.returncode is None:
            child.kill()
    if late:
        await asyncio.wait(late)


async def supervise(workers: list[Worker]) -> int:
    """Run the workers until a signal (exit code 0) or until one of them exits (1)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    children = []
    for worker in workers:
        child = await _start(worker)
        children.append(child)
        click.echo(f"{worker.describe()}, pid {child.pid}")
    exits = {asyncio.create_task(c.wait()): w for c, w in zip(children, workers, strict=True)}
    signalled = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait({signalled, *exits}, return_when=asyncio.FIRST_COMPLETED)
    failed = [] if stopping.is_set() else [task for task in done if task in exits]
    for task in failed:
        click.echo(
            f"worker {exits[task].slot} exited with code {task.result()}; stopping the others",
            err=True,
        )
    signalled.cancel()
    await _stop(children)
    return 1 if failed else 0
