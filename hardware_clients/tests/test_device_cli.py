"""The ``makerbus-device`` command line."""

from __future__ import annotations

import argparse
import json
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
