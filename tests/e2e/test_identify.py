"""A provisioned device identifies a card over MQTT 5 and 3.1.1 and gets the documented answer."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from core.formats import DeviceKind
from tests.e2e.stack import Stack

SCHEMAS = Path(__file__).resolve().parents[2] / "hardware_clients" / "schemas"


def assert_matches_schema(name: str, document: object) -> None:
    jsonschema.validate(document, json.loads((SCHEMAS / name).read_text()))  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_device_identifies_a_card(stack: Stack, mqtt_version: int) -> None:
    member = stack.add_member(name="Ada Lovelace", balance_cents=4200)
    device = stack.device(stack.provision(DeviceKind.CHECKOUT), mqtt_version=mqtt_version)

    answer = device.request("card/identify", card=member.card_uid)

    assert answer.raw == {
        "id": answer.id,
        "ok": True,
        "member_id": member.member_id,
        "name": "Ada Lovelace",
        "balance_cents": 4200,
        "has_pin": False,
    }
    assert_matches_schema("card.identify.answer.schema.json", answer.raw)


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_device_gets_its_config(stack: Stack, mqtt_version: int) -> None:
    credentials = stack.provision()
    device = stack.device(credentials, mqtt_version=mqtt_version)

    answer = device.request("device/config")

    assert answer.ok
    assert (answer["slug"], answer["kind"], answer["heartbeat_s"]) == (
        credentials.username,
        "machine",
        30,
    )
    assert_matches_schema("device.config.answer.schema.json", answer.raw)


def test_unknown_card_answer_is_documented(stack: Stack) -> None:
    device = stack.device(stack.provision())

    answer = device.request("card/identify", card="04FFFFFFFFFFFF")

    assert (answer.ok, answer.error) == (False, "unknown_card")
    assert_matches_schema("card.identify.answer.schema.json", answer.raw)
