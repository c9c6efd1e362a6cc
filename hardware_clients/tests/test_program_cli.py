"""``makerbus-device checkout|bankomat|rental``: the reference programs on the console."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest

from makerbus_device.cli import CREDENTIAL_ENV, EXIT_DEVICE_ERROR, main

if TYPE_CHECKING:
    from conftest import Broker, EchoResponder


def run(program: str, port: int, *extra: str) -> int:
    connection = ["--host", "127.0.0.1", "--port", str(port), "--username", f"cli-{program}"]
    return main([program, *connection, "--password", "pw", *extra])


@pytest.mark.mqtt
@pytest.mark.parametrize(
    ("program", "usage"),
    [
        ("checkout", "commands: scan EAN, tap UID, link, clear; Ctrl-C stops"),
        ("rental", "commands: tid TID, tap UID; Ctrl-C stops"),
    ],
)
def test_program_at_end_of_input_exits_with_0_after_showing_its_commands(
    broker: Broker,
    responder: EchoResponder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    program: str,
    usage: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    status = run(program, broker.port)

    assert status == 0
    assert capsys.readouterr().out.splitlines()[0] == usage


@pytest.mark.mqtt
def test_bankomat_with_pin_typed_never_prints_it(
    broker: Broker,
    responder: EchoResponder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("pin 48151623\npin 9999999999\n"))

    status = run("bankomat", broker.port, "--mqtt", "3")

    out, err = capsys.readouterr()
    assert status == 0
    assert "no payout is waiting for a PIN" in out
    assert "a PIN is 4 to 8 digits" in out
    assert "4815" not in out + err
    assert "9999" not in out + err


@pytest.mark.mqtt
def test_checkout_with_bad_line_complains_on_stdout(
    broker: Broker,
    responder: EchoResponder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("scan abc\n"))

    run("checkout", broker.port)

    assert "'abc' is not an EAN (8 to 14 digits)" in capsys.readouterr().out


@pytest.mark.parametrize("program", ["checkout", "bankomat", "rental"])
def test_program_with_unreachable_broker_exits_with_3(
    unused_port: int, monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setenv(CREDENTIAL_ENV, "pw")
    connection = ["--host", "127.0.0.1", "--port", str(unused_port), "--username", "cli-x"]

    assert main([program, *connection]) == EXIT_DEVICE_ERROR
