"""The contract's edges over a real broker: integers out of range, odd op names, invisible text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.formats import DeviceKind
from tests.e2e.stack import Stack
from tests.factories import unique_uid


def _raw(stack: Stack, kind: DeviceKind, op: str, payload: bytes) -> dict[str, object]:
    """Send `payload` as it is to `req/<op>` and return the answer."""
    credentials = stack.provision(kind)
    device = stack.device(credentials)
    device.publish_raw(f"mkr/v1/{credentials.username}/req/{op}", payload)
    _, body, _ = device.wait_for_message(f"mkr/v1/{credentials.username}/res/#", 5.0)
    answer: dict[str, object] = json.loads(body)
    return answer


OUT_OF_RANGE = [
    pytest.param(DeviceKind.MACHINE, "session/heartbeat", "session_id", 2**63, id="id-2^63"),
    pytest.param(DeviceKind.MACHINE, "session/end", "session_id", 10**30, id="id-10^30"),
    pytest.param(DeviceKind.MACHINE, "session/end", "session_id", 0, id="id-0"),
    pytest.param(DeviceKind.BANKOMAT, "bank/history", "limit", 10**30, id="limit-10^30"),
]


@pytest.mark.parametrize(("kind", "op", "field", "value"), OUT_OF_RANGE)
def test_an_integer_out_of_range_is_a_bad_request_naming_the_field_on_every_retry(
    stack: Stack, kind: DeviceKind, op: str, field: str, value: int
) -> None:
    device = stack.device(stack.provision(kind))
    fields: dict[str, Any] = {field: value}
    if op == "bank/history":
        fields["card"] = unique_uid()

    first = device.request(op, request_id="range-1", **fields)
    retried = device.request(op, request_id="range-1", **fields)

    for answer in (first, retried):
        assert (answer.ok, answer.error) == (False, "bad_request")
        assert str(answer.message).startswith(f"{field}:")


def test_a_money_amount_out_of_range_is_a_bad_request_naming_the_field(stack: Stack) -> None:
    device = stack.device(stack.provision(DeviceKind.CHECKOUT))

    answer = device.request(
        "checkout/purchase", card=unique_uid(), items=[{"ean": "4029764001807", "qty": 2**64}]
    )

    assert (answer.ok, answer.error) == (False, "bad_request")
    assert str(answer.message).startswith("items.0.qty:")


def test_a_4000_digit_number_is_refused_cleanly(stack: Stack) -> None:
    payload = b'{"id": "digits-1", "session_id": ' + b"9" * 4000 + b"}"

    answer = _raw(stack, DeviceKind.MACHINE, "session/end", payload)

    assert (answer["id"], answer["ok"], answer["error"]) == ("digits-1", False, "bad_request")
    assert "digits" in str(answer["message"])


def test_an_empty_op_is_a_bad_request(stack: Stack) -> None:
    answer = _raw(stack, DeviceKind.MACHINE, "", b'{"id": "empty-op-1"}')

    assert (answer["id"], answer["ok"], answer["error"]) == ("empty-op-1", False, "bad_request")
    assert str(answer["message"]).startswith("op:")


def test_an_unknown_op_is_echoed_at_most_64_characters(stack: Stack) -> None:
    op = "x" * 200

    answer = _raw(stack, DeviceKind.MACHINE, op, b'{"id": "long-op-1"}')

    assert (answer["ok"], answer["error"]) == (False, "unknown_op")
    assert "x" * 64 in str(answer["message"])
    assert "x" * 65 not in str(answer["message"])


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Eve\u202egnp.exe", id="bidi-override"),
        pytest.param("Ev\u200be", id="zero-width-space"),
        pytest.param("Eve\x00", id="nul"),
        pytest.param("Ev\u0085e", id="c1-next-line"),
        pytest.param("Eve\U000e0041", id="tag-character"),
        pytest.param("Eve\ue000", id="private-use"),
    ],
)
def test_a_name_with_invisible_characters_is_a_bad_request_naming_the_field(
    stack: Stack, name: str
) -> None:
    device = stack.device(stack.provision(DeviceKind.CHECKOUT))

    answer = device.request("card/register", card=unique_uid(), name=name)

    assert (answer.ok, answer.error) == (False, "bad_request")
    assert str(answer.message).startswith("name:")


def test_a_name_with_a_lone_surrogate_is_a_bad_request_naming_the_field(stack: Stack) -> None:
    payload = b'{"id": "surrogate-1", "card": "%s", "name": "Eve\\ud800"}' % unique_uid().encode()

    answer = _raw(stack, DeviceKind.CHECKOUT, "card/register", payload)

    assert (answer["ok"], answer["error"]) == (False, "bad_request")
    assert str(answer["message"]).startswith("name:")


def test_a_name_in_another_script_is_registered(stack: Stack) -> None:
    device = stack.device(stack.provision(DeviceKind.CHECKOUT))

    answer = device.request("card/register", card=unique_uid(), name="Łukasz Ōta 李")

    assert answer.ok
    assert answer["name"] == "Łukasz Ōta 李"
