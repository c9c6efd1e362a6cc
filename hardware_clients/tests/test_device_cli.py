"""The ``makerbus-device`` command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from makerbus_device.cli import CREDENTIAL_ENV, main, parse_field

if TYPE_CHECKING:
    from conftest import Broker, EchoResponder


def run(broker: Broker, *args: str) -> int:
    connection = ["--host", "127.0.0.1", "--port", str(broker.port), "--username", "cli-device"]
    return main(["request", *connection, "--password", "pw", "--timeout", "2", *args])


def test_parse_field_decodes_json_values() -> None:
    assert parse_field("qty=2") == ("qty", 2)
    assert parse_field('items=[{"ean": "1", "qty": 1}]') == ("items", [{"ean": "1", "qty": 1}])


def test_parse_field_keeps_other_values_as_strings() -> None:
    assert parse_field("card=04A1B2C3") == ("card", "04A1B2C3")
    assert parse_field('card="12345678"') == ("card", "12345678")


def test_parse_field_rejects_an_item_without_equals_sign() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_field("card")


@pytest.mark.mqtt
def test_request_prints_the_answer_json(
    broker: Broker, responder: EchoResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(broker, "--id", "cli-1", "test/echo", "card=04A1B2C3", "qty=2")

    assert status == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"id": "cli-1", "ok": True, "echo": {"card": "04A1B2C3", "qty": 2}}


@pytest.mark.mqtt
def test_error_answer_exits_with_1(broker: Broker, responder: EchoResponder) -> None:
    assert run(broker, "test/fail") == 1


@pytest.mark.mqtt
def test_missing_answer_exits_with_3(
    broker: Broker, responder: EchoResponder, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(broker, "--timeout", "0.2", "--retries", "0", "test/silent")

    assert status == 3
    assert "no answer to test/silent" in capsys.readouterr().err


@pytest.mark.mqtt
def test_password_comes_from_the_environment(
    broker: Broker, responder: EchoResponder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CREDENTIAL_ENV, broker.AUTH_PASSWORD)
    connection = ["--host", "127.0.0.1", "--port", str(broker.auth_port)]

    status = main(["request", *connection, "--username", broker.AUTH_USER, "test/echo"])

    assert status == 0


@pytest.mark.mqtt
def test_credentials_file_gives_the_whole_connection(
    broker: Broker, responder: EchoResponder, tmp_path: Path
) -> None:
    stored = {
        "host": "127.0.0.1",
        "port": broker.auth_port,
        "username": broker.AUTH_USER,
        "password": broker.AUTH_PASSWORD,
    }
    (tmp_path / "device.json").write_text(json.dumps(stored))

    status = main(["request", "--credentials", str(tmp_path / "device.json"), "test/echo"])

    assert status == 0


@pytest.mark.mqtt
def test_options_override_the_credentials_file(
    broker: Broker, responder: EchoResponder, tmp_path: Path
) -> None:
    stored = {"host": "127.0.0.1", "port": 1, "username": broker.AUTH_USER, "password": "wrong"}
    (tmp_path / "device.json").write_text(json.dumps(stored))
    file = ["--credentials", str(tmp_path / "device.json")]
    overrides = ["--port", str(broker.auth_port), "--password", broker.AUTH_PASSWORD]

    status = main(["request", *file, *overrides, "test/echo"])

    assert status == 0


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"host": "h", "port": "1883", "username": "u", "password": "p"}', "port a number"),
        ('{"host": "h", "password": "p"}', "--port --username"),
    ],
)
def test_a_bad_credentials_file_is_a_usage_error(
    tmp_path: Path, content: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "device.json").write_text(content)

    with pytest.raises(SystemExit) as exited:
        main(["request", "--credentials", str(tmp_path / "device.json"), "test/echo"])

    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_a_missing_credentials_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["request", "--credentials", str(tmp_path / "absent.json"), "test/echo"])

    assert "cannot read" in capsys.readouterr().err
