"""DeviceClient against a real mosquitto and the echo responder from conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support import wait_until

import makerbus_device
from makerbus_device import ConnectRefused, DeviceClient, DeviceError, RequestTimeout
from makerbus_device.contract import DEFAULT_PREFIX as PREFIX

if TYPE_CHECKING:
    from conftest import Broker, EchoResponder, MakeDevice

pytestmark = pytest.mark.mqtt

ONLINE = {"online": True, "fw": "makerbus-device/0.1.0"}
OFFLINE = {"online": False}


def next_status(watcher: DeviceClient, slug: str) -> object:
    _, payload, _ = watcher.wait_for_message(f"{PREFIX}/{slug}/status", timeout=5)
    return json.loads(payload)


# -- request and answer ---------------------------------------------------------------------


def test_v5_request_gets_its_answer(device: DeviceClient) -> None:
    answer = device.request("test/echo", card="04A1B2C3", qty=2)

    assert answer.ok
    assert answer["echo"] == {"card": "04A1B2C3", "qty": 2}


def test_v5_request_names_its_response_topic_and_correlation_data(
    device: DeviceClient, responder: EchoResponder, slug: str
) -> None:
    device.request("card/identify", card="04A1B2C3")

    [seen] = responder.seen(slug)
    assert seen.topic == f"{PREFIX}/{slug}/req/card/identify"
    assert seen.response_topic == f"{PREFIX}/{slug}/res/card/identify"
    assert seen.correlation is not None
    assert len(seen.correlation) == 16


def test_v3_request_gets_its_answer_by_id(
    make_device: MakeDevice, responder: EchoResponder, slug: str
) -> None:
    device = make_device(mqtt_version=3)

    answer = device.request("test/echo", n=1)

    assert answer.ok
    assert answer.id == responder.seen(slug)[0].body["id"]
    assert responder.seen(slug)[0].correlation is None


def test_v5_answer_without_id_is_matched_by_correlation_data(device: DeviceClient) -> None:
    answer = device.request("test/null-id")

    assert answer.id is None
    assert answer.error == "bad_request"


def test_error_answer_is_returned_not_raised(device: DeviceClient) -> None:
    answer = device.request("test/fail")

    assert not answer.ok
    assert (answer.error, answer.message) == ("insufficient_funds", "no")
    assert answer.fields == {}


def test_request_retry_keeps_the_same_id(
    device: DeviceClient, responder: EchoResponder, slug: str
) -> None:
    answer = device.request("test/drop-first", timeout=0.5, retries=1)

    ids = [seen.body["id"] for seen in responder.seen(slug)]
    assert ids == [answer.id, answer.id]


def test_rate_limited_request_is_sent_again_after_retry_after_ms_and_succeeds(
    device: DeviceClient, responder: EchoResponder, slug: str
) -> None:
    answer = device.request("test/limited-first", retry_after_ms=300, timeout=2, retries=1)

    assert answer.ok
    first, second = responder.seen(slug)
    assert first.body["id"] == second.body["id"] == answer.id
    assert second.at - first.at >= 0.3


def test_rate_limited_answer_is_returned_when_no_retry_is_left(device: DeviceClient) -> None:
    answer = device.request("test/limited-first", retry_after_ms=10, retries=0)

    assert (answer.error, answer["retry_after_ms"]) == ("rate_limited", 10)


def test_request_without_answer_raises_request_timeout_after_all_retries(
    device: DeviceClient, responder: EchoResponder, slug: str
) -> None:
    with pytest.raises(RequestTimeout) as raised:
        device.request("test/silent", timeout=0.2, retries=2, request_id="fixed-1")

    assert raised.value.attempts == 3
    assert [seen.body["id"] for seen in responder.seen(slug)] == ["fixed-1"] * 3


def test_concurrent_requests_each_get_their_own_answer(device: DeviceClient) -> None:
    answers: dict[int, object] = {}

    def ask(n: int) -> None:
        # Later requests are answered first, so answers arrive out of order.
        answers[n] = device.request("test/delay", n=n, delay_ms=(8 - n) * 30)["echo"]

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {n: {"n": n, "delay_ms": (8 - n) * 30} for n in range(8)}


def test_request_ids_are_the_prefix_and_a_counter(make_device: MakeDevice) -> None:
    device = make_device(connect=False, id_prefix="a1b2c3d4")

    assert [device.new_request_id() for _ in range(3)] == ["a1b2c3d4-1", "a1b2c3d4-2", "a1b2c3d4-3"]


def test_default_id_prefix_is_eight_random_hex_digits(make_device: MakeDevice) -> None:
    first = make_device(connect=False).new_request_id()
    second = make_device("other-device", connect=False).new_request_id()

    assert len(first.split("-")[0]) == 8
    assert first != second


def test_oversized_request_is_refused_before_sending(device: DeviceClient) -> None:
    with pytest.raises(ValueError, match="4096"):
        device.request("test/echo", blob="x" * 4096)


@pytest.mark.parametrize("op", ["", "card/+", "session/#", "card//identify"])
def test_request_refuses_an_op_that_is_not_a_plain_topic(device: DeviceClient, op: str) -> None:
    with pytest.raises(ValueError, match="invalid op"):
        device.request(op)


def test_request_before_connect_raises_device_error(make_device: MakeDevice) -> None:
    device = make_device(connect=False)

    with pytest.raises(DeviceError, match="connect"):
        device.request("test/echo")


def test_sequential_requests_do_not_stall(device: DeviceClient) -> None:
    device.request("test/echo")
    started = time.monotonic()

    for _ in range(50):
        device.request("test/echo")

    # Without TCP_NODELAY each round trip waits 40-80 ms for a delayed ACK.
    assert time.monotonic() - started < 1.0


# -- messages that are not answers ----------------------------------------------------------


def test_non_json_answer_is_buffered_and_does_not_break_requests(
    device: DeviceClient, watcher: DeviceClient, slug: str
) -> None:
    watcher.publish_raw(f"{PREFIX}/{slug}/res/test/echo", b"\xffnot json")

    topic, payload, _ = device.wait_for_message(f"{PREFIX}/{slug}/res/#", timeout=5)

    assert (topic, payload) == (f"{PREFIX}/{slug}/res/test/echo", b"\xffnot json")
    assert device.request("test/echo").ok


def test_command_handler_receives_the_decoded_command(
    device: DeviceClient, watcher: DeviceClient, slug: str
) -> None:
    received: list[tuple[str, dict[str, object]]] = []
    got_one = threading.Event()

    def handle(name: str, payload: dict[str, object]) -> None:
        received.append((name, payload))
        got_one.set()

    device.on_command(handle)

    watcher.publish_raw(f"{PREFIX}/{slug}/cmd/session/terminate", b'{"session_id": 7}')

    assert got_one.wait(5)
    assert received == [("session/terminate", {"session_id": 7})]


def test_failing_command_handler_does_not_stop_the_client(
    device: DeviceClient, watcher: DeviceClient, slug: str
) -> None:
    def explode(name: str, payload: dict[str, object]) -> None:
        raise RuntimeError("handler bug")

    device.on_command(explode)

    watcher.publish_raw(f"{PREFIX}/{slug}/cmd/config", b"{}")
    device.wait_for_message(f"{PREFIX}/{slug}/cmd/config", timeout=5)

    assert device.request("test/echo").ok


def test_wait_for_message_times_out_with_timeout_error(device: DeviceClient, slug: str) -> None:
    with pytest.raises(TimeoutError):
        device.wait_for_message(f"{PREFIX}/{slug}/cmd/#", timeout=0.2)


def test_publish_raw_returns_the_v5_puback_reason_code(device: DeviceClient, slug: str) -> None:
    assert device.publish_raw(f"{PREFIX}/{slug}/nobody-listens", b"{}") == 0x10


def test_subscribe_raw_returns_the_granted_qos(device: DeviceClient, slug: str) -> None:
    assert device.subscribe_raw(f"{PREFIX}/{slug}/status", qos=1) == [1]


# -- status and last will -------------------------------------------------------------------


def test_connect_publishes_retained_online_status(
    device: DeviceClient, watcher: DeviceClient, slug: str
) -> None:
    watcher.subscribe_raw(f"{PREFIX}/{slug}/status")

    assert next_status(watcher, slug) == ONLINE


def test_close_publishes_retained_offline_status(
    device: DeviceClient, watcher: DeviceClient, slug: str
) -> None:
    device.close()

    watcher.subscribe_raw(f"{PREFIX}/{slug}/status")
    assert next_status(watcher, slug) == OFFLINE
    assert not device.connected


def test_close_is_idempotent(device: DeviceClient) -> None:
    device.close()
    device.close()

    assert not device.connected


def test_killed_device_leaves_retained_offline_will(
    broker: Broker, watcher: DeviceClient, slug: str
) -> None:
    script = (
        "import sys\n"
        "from makerbus_device import DeviceClient\n"
        f"DeviceClient('127.0.0.1', {broker.port}, {slug!r}, 'pw').connect()\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    package_root = Path(makerbus_device.__file__).parents[1]
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(package_root)},
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        watcher.subscribe_raw(f"{PREFIX}/{slug}/status")
        assert next_status(watcher, slug) == ONLINE

        child.kill()

    assert next_status(watcher, slug) == OFFLINE


# -- connecting -----------------------------------------------------------------------------


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_wrong_password_raises_connect_refused(broker: Broker, mqtt_version: int) -> None:
    device = DeviceClient(
        "127.0.0.1", broker.auth_port, broker.AUTH_USER, "wrong", mqtt_version=mqtt_version
    )

    with pytest.raises(ConnectRefused) as raised:
        device.connect(timeout=5)

    assert raised.value.reason == "Not authorized"
    assert not device.connected


def test_right_password_connects(broker: Broker) -> None:
    user, password = broker.AUTH_USER, broker.AUTH_PASSWORD
    with DeviceClient("127.0.0.1", broker.auth_port, user, password) as device:
        assert device.connected


def test_unreachable_broker_raises_device_error(unused_port: int, slug: str) -> None:
    device = DeviceClient("127.0.0.1", unused_port, slug, "pw")

    with pytest.raises(DeviceError, match="cannot reach"):
        device.connect(timeout=2)


def test_lost_connection_is_reported_as_disconnect_reason(
    device: DeviceClient, make_device: MakeDevice, slug: str
) -> None:
    # A second client with the same id takes the session over; mosquitto 2.0 then closes the
    # first connection without a DISCONNECT packet, which paho reports as "Unspecified error".
    make_device(slug).close()

    assert wait_until(lambda: device.disconnect_reason is not None, timeout=5)
    assert device.disconnect_reason == "Unspecified error"


def test_device_reconnects_after_broker_restart(
    make_broker: Callable[[], Broker],
    make_responder: Callable[[int], EchoResponder],
    make_device: MakeDevice,
    slug: str,
) -> None:
    broker = make_broker()
    responder = make_responder(broker.port)
    device = make_device(port=broker.port)
    responder.close()
    broker.stop()
    assert wait_until(lambda: not device.connected, timeout=5)

    broker.start()
    make_responder(broker.port)

    assert wait_until(lambda: device.connected, timeout=10)
    assert device.request("test/echo").ok
    watcher = make_device("restart-watcher", port=broker.port)
    watcher.subscribe_raw(f"{PREFIX}/{slug}/status")
    assert next_status(watcher, slug) == ONLINE
