"""Request handling over a real broker: answer topics, idempotency, bad input, metrics."""

from __future__ import annotations

import json
import urllib.request

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core import ledger
from core.clock import SystemClock
from core.origin import Origin
from makerbus.context import database
from tests.e2e.stack import PASSWORDS, Stack, disconnected, run_async


def _response_topic(topic: str, correlation: bytes) -> Properties:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ResponseTopic = topic
    properties.CorrelationData = correlation
    return properties


def test_v5_response_topic_of_another_device_gets_the_answer_on_the_requesters_own_topic(
    stack: Stack,
) -> None:
    a_credentials, b_credentials = stack.provision(), stack.provision()
    a, b = stack.device(a_credentials), stack.device(b_credentials)
    a_slug, b_slug = a_credentials.username, b_credentials.username

    a.publish_raw(
        f"mkr/v1/{a_slug}/req/device/config",
        b'{"id": "hijack-1"}',
        properties=_response_topic(f"mkr/v1/{b_slug}/res/device/config", b"c-1"),
    )

    topic, payload, properties = a.wait_for_message(f"mkr/v1/{a_slug}/res/#", 5.0)
    assert topic == f"mkr/v1/{a_slug}/res/device/config"
    assert json.loads(payload)["id"] == "hijack-1"
    assert properties is not None
    assert getattr(properties, "CorrelationData", None) == b"c-1"
    # The answer went to a; anything the server sent b would be on the broker by now, and b's
    # own next answer comes after it.
    assert b.request("device/config").ok
    with pytest.raises(TimeoutError):
        b.wait_for_message(f"mkr/v1/{b_slug}/#", 0.0)


def test_v5_response_topic_below_own_res_is_honoured(stack: Stack) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)
    own = f"mkr/v1/{credentials.username}/res/custom/42"

    device.publish_raw(
        f"mkr/v1/{credentials.username}/req/device/config",
        b'{"id": "own-1"}',
        properties=_response_topic(own, b"c-2"),
    )

    topic, _, _ = device.wait_for_message(f"mkr/v1/{credentials.username}/res/#", 5.0)
    assert topic == own


def test_same_id_twice_returns_the_identical_stored_answer(stack: Stack) -> None:
    member = stack.add_member(balance_cents=700)
    device = stack.device(stack.provision())

    first = device.request("card/identify", request_id="same-id-1", card=member.card_uid)

    async def change_balance() -> None:
        async with database(stack.settings) as db:
            await ledger.post(
                db,
                member.member_id,
                [ledger.Posting(ledger.EntryKind.CORRECTION, -699, "test")],
                Origin(now=SystemClock().now(), actor="test"),
                within_credit=True,
            )

    run_async(change_balance())
    second = device.request("card/identify", request_id="same-id-1", card=member.card_uid)

    assert second.raw == first.raw
    assert second["balance_cents"] == 700  # the op did not run a second time


BAD_INPUT = [
    pytest.param(b"{this is not json", None, "bad_request", id="invalid-json"),
    pytest.param(b'["a", "json", "array"]', None, "bad_request", id="json-array"),
    pytest.param(b'{"card": "04A1B2C3"}', None, "bad_request", id="missing-id"),
    pytest.param(
        b'{"id": "spaces are bad", "card": "04A1B2C3"}', None, "bad_request", id="malformed-id"
    ),
    pytest.param(b'{"id": "w1", "card": 67305985}', "w1", "bad_request", id="wrong-type"),
    pytest.param(b'{"id": "w2", "card": "<script>"}', "w2", "bad_request", id="hostile-string"),
    pytest.param(
        json.dumps({"id": "w3", "card": "04A1B2C3", "pad": "x" * 5000}).encode(),
        None,
        "bad_request",
        id="over-4KiB",
    ),
]


@pytest.mark.parametrize(("payload", "answer_id", "code"), BAD_INPUT)
def test_bad_input_gets_the_documented_error_and_the_worker_keeps_serving(
    stack: Stack, payload: bytes, answer_id: str | None, code: str
) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)

    device.publish_raw(f"mkr/v1/{credentials.username}/req/card/identify", payload)

    _, body, _ = device.wait_for_message(f"mkr/v1/{credentials.username}/res/card/identify", 5.0)
    answer = json.loads(body)
    assert (answer["id"], answer["ok"], answer["error"]) == (answer_id, False, code)
    assert answer["message"]
    assert device.request("device/config").ok


@pytest.mark.parametrize(
    ("op", "code"), [("coffee/brew", "unknown_op"), ("session/start/now", "unknown_op")]
)
def test_unknown_ops_are_answered(stack: Stack, op: str, code: str) -> None:
    device = stack.device(stack.provision())

    answer = device.request(op)

    assert (answer.ok, answer.error) == (False, code)


def test_payload_over_the_broker_limit_is_refused_by_the_broker(stack: Stack) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)
    huge = json.dumps({"id": "huge-1", "pad": "x" * 100_000}).encode()
    # QoS 0: the broker's answer to an oversized packet is to drop the connection, and a QoS 1
    # message would be re-sent after every reconnect.
    device.publish_raw(f"mkr/v1/{credentials.username}/req/device/config", huge, qos=0)

    assert disconnected(device)
    assert device.disconnect_reason == "Packet too large"
    assert stack.device(credentials).request("device/config").ok


def test_metrics_count_requests_and_errors(stack: Stack) -> None:
    device = stack.device(stack.provision())
    device.request("card/identify", card="04EEEEEEEEEEEE")

    with urllib.request.urlopen(f"http://127.0.0.1:{stack.metrics_port}/metrics") as response:
        text = response.read().decode()

    assert 'makerbus_requests_total{op="card/identify"}' in text
    assert 'makerbus_request_errors_total{code="unknown_card",op="card/identify"}' in text
    assert 'makerbus_request_duration_seconds_bucket{le="0.05",op="card/identify"}' in text
    assert "makerbus_broker_connected 1.0" in text


def test_handler_logs_are_json_lines_without_its_broker_password(stack: Stack) -> None:
    stack.device(stack.provision()).request("card/identify", card="04DDDDDDDDDDDD")

    lines = stack.handler_log.read_text().splitlines()

    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(entry.get("op") == "card/identify" for entry in entries)
    assert PASSWORDS["broker_handler_password"] not in stack.handler_log.read_text()
