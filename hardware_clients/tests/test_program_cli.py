"""``makerbus-device checkout|bankomat|rental``: the reference programs on the console."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from makerbus_device.cli import CREDENTIAL_ENV, EXIT_DEVICE_ERROR, default_journal, main

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
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("pin 48151623\npin 9999999999\n"))

    status = run("bankomat", broker.port, "--mqtt", "3", "--journal", str(tmp_path / "j.json"))

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


@pytest.mark.mqtt
def test_bankomat_with_an_unreadable_journal_exits_with_3_and_leaves_it(
    broker: Broker,
    responder: EchoResponder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    journal = tmp_path / "cash.json"
    journal.write_text("{half a journal")
    monkeypatch.setattr("sys.stdin", io.StringIO("coin 200\n"))

    status = run("bankomat", broker.port, "--journal", str(journal))

    assert status == EXIT_DEVICE_ERROR
    assert f"the cash journal {journal} is not JSON" in capsys.readouterr().err
    assert journal.read_text() == "{half a journal"


def test_bankomat_journal_defaults_to_the_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    assert default_journal("bank-1") == tmp_path / "makerbus-device" / "bankomat-bank-1.json"
