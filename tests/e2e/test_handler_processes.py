"""`makerbus handlers` on one host: several workers of one command, and clear refusals."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.launcher import free_port
from tests.e2e.stack import Stack, wait_until

WORKER_LINE = re.compile(r"worker (\d+): broker account (\S+), metrics on port (\d+), pid (\d+)")


def _free_port_pair() -> int:
    """A port p with p + 1 free too (the second worker's metrics)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("0.0.0.0", port + 1))  # noqa: S104 - where the metrics server binds
            except OSError:
                continue
        return port


def _requests_served(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("makerbus_requests_total{")
    )


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Supervisor:
    """`makerbus handlers --processes N` as a subprocess, its workers' lines parsed."""

    def __init__(self, stack: Stack, processes: int, metrics_port: int, log: Path) -> None:
        self.log = log
        with log.open("wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "makerbus", "handlers", "--processes", str(processes)],
                env=stack.env(MAKERBUS_METRICS_PORT=str(metrics_port)),
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        assert self.process.stdout is not None
        self.workers = [
            WORKER_LINE.search(self.process.stdout.readline()) for _ in range(processes)
        ]
        assert all(self.workers), log.read_text()
        assert wait_until(
            lambda: log.read_text().count("serving requests") == processes, timeout=30
        ), log.read_text()[-3000:]

    def field(self, index: int, group: int) -> str:
        found = self.workers[index]
        assert found is not None
        return found.group(group)

    def pid(self, index: int) -> int:
        return int(self.field(index, 4))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        for index in range(len(self.workers)):
            if not _gone(self.pid(index)):
                os.kill(self.pid(index), signal.SIGKILL)


@pytest.fixture
def bare_stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    """A broker and a database, no handler running."""
    running = Stack.create(database_url, tmp_path, workers=0)
    yield running
    running.stop()


@pytest.fixture
def two_processes(bare_stack: Stack, tmp_path: Path) -> Iterator[Supervisor]:
    supervisor = Supervisor(bare_stack, 2, _free_port_pair(), tmp_path / "supervisor.log")
    yield supervisor
    supervisor.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_processes_run_workers_on_their_own_slots_and_ports_until_a_signal(
    bare_stack: Stack, two_processes: Supervisor, signum: signal.Signals
) -> None:
    device = bare_stack.device(bare_stack.provision())
    ports = [int(two_processes.field(i, 3)) for i in range(2)]

    answers = [device.request("device/config").ok for _ in range(10)]
    served = [_requests_served(port) for port in ports]
    two_processes.process.send_signal(signum)
    code = two_processes.process.wait(60)

    assert all(answers)
    assert ports[1] == ports[0] + 1
    assert [two_processes.field(i, 2) for i in range(2)] == [
        "makerbus-handlers-1",
        "makerbus-handlers-2",
    ]
    broker_log = (bare_stack.settings.broker_data_dir / "mosquitto.log").read_text()
    assert " as makerbus-handlers-1 " in broker_log
    assert " as makerbus-handlers-2 " in broker_log
    assert all(count > 0 for count in served), served
    assert code == 0
    assert all(_gone(two_processes.pid(i)) for i in range(2))


def test_a_worker_that_dies_stops_the_others_and_the_command_fails(
    two_processes: Supervisor,
) -> None:
    os.kill(two_processes.pid(1), signal.SIGKILL)

    code = two_processes.process.wait(60)

    assert code == 1
    assert "worker 2 exited with code -9; stopping the others" in two_processes.log.read_text()
    assert wait_until(lambda: _gone(two_processes.pid(0)))


def test_processes_beyond_the_broker_slots_are_a_clear_error(stack: Stack) -> None:
    result = stack.cli(
        "handlers", "--processes", "3", check=False, env={"MAKERBUS_BROKER_HANDLER_SLOTS": "2"}
    )

    assert result.returncode == 1
    assert "slot 3 does not exist" in result.stderr
    assert "MAKERBUS_BROKER_HANDLER_SLOTS" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_handlers_on_a_busy_metrics_port_is_a_clear_error(stack: Stack) -> None:
    busy = str(stack.metrics_port)  # the stack's worker serves it
    logged = len(stack.handler_log.read_text())

    result = stack.cli("handlers", check=False, env={"MAKERBUS_METRICS_PORT": busy})

    assert result.returncode == 1
    assert f"port {stack.metrics_port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "connection lost" not in stack.handler_log.read_text()[logged:]


def test_processes_with_a_busy_port_stop_and_fail_clearly(bare_stack: Stack) -> None:
    base = _free_port_pair()
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", base + 1))  # noqa: S104 - where the metrics server binds
        squatter.listen()

        result = bare_stack.cli(
            "handlers", "--processes", "2", check=False, env={"MAKERBUS_METRICS_PORT": str(base)}
        )

    assert result.returncode == 1
    assert f"cannot serve metrics on port {base + 1}" in result.stderr
    assert "worker 2 exited with code 1; stopping the others" in result.stderr
    assert "Traceback" not in result.stderr
