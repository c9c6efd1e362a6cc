"""Retained messages under `req/` are refused, never run, and cleared from the broker."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from makerbus_device import DeviceClient
from paho.mqtt.enums import CallbackAPIVersion

from broker.accounts import role_acls
from broker.acl import HANDLER_ROLE, Acl
from broker.identities import monitor_login
from core.billing import Tariff
from core.formats import DeviceKind
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_checkout import add_product, stock_of

REFUSED = "retained requests are not accepted: publish requests with retain=0"


def retained_copies(stack: Stack, topic_filter: str) -> list[tuple[str, bytes]]:
    """What a new subscriber (the monitor account) receives as retained on `topic_filter`."""
    received: list[tuple[str, bytes]] = []
    acknowledged: set[int] = set()
    suback = threading.Condition()
    login = monitor_login(stack.settings)
    subscriber = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=login.client_id, protocol=mqtt.MQTTv5
    )
    subscriber.username_pw_set(login.username, login.password)

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain:
            received.append((message.topic, bytes(message.payload)))

    # A SUBACK may arrive before `subscribe` has returned its message id to this thread.
    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, *rest: Any) -> None:
        with suback:
            acknowledged.add(mid)
            suback.notify_all()

    subscriber.on_message = on_message
    subscriber.on_subscribe = on_subscribe
    subscriber.connect(stack.settings.mqtt_host, stack.settings.mqtt_port)
    subscriber.loop_start()
    try:
        subscriber.subscribe(topic_filter, qos=1)
        # The broker sends a subscription's retained messages right after its SUBACK, on the
        # same connection: once a second subscription is acknowledged, they are all here.
        _, fence_mid = subscriber.subscribe("mkr/v1/fence/status", qos=1)
        with suback:
            fenced = suback.wait_for(lambda: fence_mid in acknowledged, timeout=10)
        assert fenced, "no SUBACK for the fence subscription"
    finally:
        subscriber.disconnect()
        subscriber.loop_stop()
    return received


def connected_device(
    stack: Stack, kind: DeviceKind = DeviceKind.MACHINE
) -> tuple[DeviceClient, str]:
    """A new device, connected, and its slug."""
    credentials = stack.provision(kind)
    return stack.device(credentials), credentials.username


def assert_refused(device: DeviceClient, slug: str, request_id: str) -> None:
    _, payload, _ = device.wait_for_message(f"mkr/v1/{slug}/res/#", 10.0)
    assert json.loads(payload) == {
        "id": request_id,
        "ok": False,
        "error": "bad_request",
        "message": REFUSED,
    }


def test_a_retained_purchase_is_refused_charges_nothing_and_is_cleared(stack: Stack) -> None:
    mate = add_product(stack, price_cents=150, stock=10)
    member = stack.add_member(balance_cents=1000)
    device, slug = connected_device(stack, DeviceKind.CHECKOUT)
    purchase = {"id": "kept-1", "card": member.card_uid, "items": [{"ean": mate.ean, "qty": 2}]}

    device.publish_raw(
        f"mkr/v1/{slug}/req/checkout/purchase", json.dumps(purchase).encode(), retain=True
    )

    assert_refused(device, slug, "kept-1")
    assert stack.balance(member) == 1000
    assert stock_of(stack, mate) == (10, [("restock", 10, 10)])
    assert retained_copies(stack, f"mkr/v1/{slug}/req/#") == []
    # The clearing message is not a request: nothing else comes back.
    assert device.request("device/config").ok
    with pytest.raises(TimeoutError):
        device.wait_for_message(f"mkr/v1/{slug}/res/#", 0.0)


def test_a_retained_heartbeat_is_refused_and_is_cleared(stack: Stack) -> None:
    machine = stack.machine(Tariff(login_fee_cents=100, price_per_minute_cents=10, interval_min=1))
    member = stack.add_member(balance_cents=1000)
    stack.authorize(machine, member)
    device = stack.device(machine)
    session = device.request("session/start", card=member.card_uid)
    before = stack.balance(member)
    heartbeat = {"id": "kept-2", "session_id": session["session_id"]}

    device.publish_raw(
        f"mkr/v1/{machine.username}/req/session/heartbeat",
        json.dumps(heartbeat).encode(),
        retain=True,
    )

    assert_refused(device, machine.username, "kept-2")
    assert stack.balance(member) == before
    assert retained_copies(stack, f"mkr/v1/{machine.username}/req/#") == []


def test_a_flood_of_retained_requests_is_refused_one_by_one_and_leaves_nothing(
    stack: Stack,
) -> None:
    device, slug = connected_device(stack)
    flood = 60  # more than the burst of 40 the rate limit allows

    for number in range(flood):
        device.publish_raw(
            f"mkr/v1/{slug}/req/fuzz/{number}", f'{{"id": "f-{number}"}}'.encode(), retain=True
        )

    answers = [
        json.loads(device.wait_for_message(f"mkr/v1/{slug}/res/#", 10.0)[1]) for _ in range(flood)
    ]
    assert sorted(answer["id"] for answer in answers) == sorted(f"f-{n}" for n in range(flood))
    assert {answer["error"] for answer in answers} == {"bad_request"}
    assert retained_copies(stack, f"mkr/v1/{slug}/req/#") == []


def test_a_retained_message_on_req_itself_is_cleared_too(stack: Stack) -> None:
    device, slug = connected_device(stack)

    device.publish_raw(f"mkr/v1/{slug}/req", b'{"id": "no-op"}', retain=True)

    # The clearing went out before this answer did.
    assert device.request("device/config").ok
    assert retained_copies(stack, f"mkr/v1/{slug}/req/#") == []


def test_a_request_retained_while_no_worker_ran_is_refused_and_cleared_at_start(
    own_stack: Stack,
) -> None:
    device, slug = connected_device(own_stack)
    own_stack.handler.send_signal(signal.SIGTERM)
    own_stack.handler.wait(15)

    device.publish_raw(f"mkr/v1/{slug}/req/device/config", b'{"id": "stored-1"}', retain=True)
    own_stack.workers.clear()
    own_stack.start_handlers()

    assert_refused(device, slug, "stored-1")
    assert retained_copies(own_stack, f"mkr/v1/{slug}/req/#") == []


def test_reconcile_gives_the_handlers_the_right_to_clear_retained_requests(
    own_stack: Stack,
) -> None:
    clearing = Acl("publishClientSend", "mkr/v1/+/req/#")

    async def acls() -> frozenset[Acl]:
        async with own_stack.admin() as admin:
            return (await role_acls(admin))[HANDLER_ROLE]

    async def revoke() -> None:
        async with own_stack.admin() as admin:
            await admin.run(
                {"command": "removeRoleACL", "rolename": HANDLER_ROLE, **clearing.as_json()}
            )

    run_async(revoke())
    assert clearing not in run_async(acls())

    result = own_stack.cli("broker", "reconcile")

    assert HANDLER_ROLE in result.stdout
    assert clearing in run_async(acls())
