"""``makerbus-device machine``: the console machine controller."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest

from makerbus_device.cli import EXIT_DEVICE_ERROR, main

if TYPE_CHECKING:
    from conftest import Broker, EchoResponder


def machine(port: int) -> int:
    connection = ["--host", "127.0.0.1", "--port", str(port), "--username", "cli-machine"]
    return main(["machine", *connection, "--password", "pw"])


@pytest.mark.mqtt
def test_machine_at_end_of_input_exits_with_relay_off(
    broker: Broker,
    responder: EchoResponder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    status = machine(broker.port)

    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "RELAY OFF"


def test_machine_with_unreachable_broker_exits_with_3(
    unused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    assert machine(unused_port) == EXIT_DEVICE_ERROR
