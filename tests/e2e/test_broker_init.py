"""`makerbus broker init` writes a config and accounts that a real mosquitto accepts."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiomqtt

from broker.address import BrokerAddress
from broker.dynsec import DynsecAdmin
from broker.launcher import LocalBroker, free_port
from tests.e2e.stack import PASSWORDS, settings_env, stack_settings


def _init(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    settings = stack_settings("sqlite:///unused.db", 1883, directory)
    return subprocess.run(
        [sys.executable, "-m", "makerbus", "broker", "init", "--data-dir", str(directory), *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


async def _service_accounts_work(port: int) -> list[str]:
    address = BrokerAddress("127.0.0.1", port)
    async with DynsecAdmin(address, "makerbus-admin", PASSWORDS["broker_admin_password"]) as admin:
        (listing,) = await admin.run({"command": "listClients"})
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        username="makerbus-handlers-2",
        password=PASSWORDS["broker_handler_password"],
        identifier="makerbus-handlers-2",
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as handler:
        granted = await handler.subscribe("$share/makerbus/mkr/v1/+/req/#", qos=1)
        assert [getattr(code, "value", code) for code in granted] == [1]  # granted QoS 1
    clients: list[str] = listing["clients"]
    return clients


def test_broker_init_writes_a_working_broker(tmp_path: Path) -> None:
    port = free_port()

    result = _init(tmp_path, "--port", str(port))

    assert "Wrote" in result.stdout
    dynsec = tmp_path / "dynsec.json"
    assert oct(dynsec.stat().st_mode & 0o777) == "0o600"
    assert PASSWORDS["broker_admin_password"] not in dynsec.read_text()
    with LocalBroker(tmp_path, port):
        clients = asyncio.run(_service_accounts_work(port))
    handlers = [f"makerbus-handlers-{slot}" for slot in range(1, 9)]
    monitors = ["makerbus-monitor-1", "makerbus-monitor-2"]
    assert sorted(clients) == sorted(["makerbus-admin", *handlers, *monitors])


def test_broker_init_keeps_an_existing_accounts_file(tmp_path: Path) -> None:
    _init(tmp_path, "--container")
    before = (tmp_path / "dynsec.json").read_text()

    result = _init(tmp_path, "--container")

    assert "Kept the existing" in result.stdout
    assert (tmp_path / "dynsec.json").read_text() == before
    assert json.loads(before)["defaultACLAccess"]["subscribe"] is False
