"""The paho echo (see bench.echo): paho-mqtt's own network loop and callbacks, no asyncio."""

from __future__ import annotations

import socket
import sys
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.echo import ACCOUNT, READY, SUBSCRIPTION, answer, password


def on_connect(client: mqtt.Client, _data: Any, _flags: Any, reason: Any, _props: Any) -> None:
    if reason.is_failure:
        raise ConnectionError(f"the broker refused the connection: {reason}")
    client.subscribe(SUBSCRIPTION, qos=1)


def on_subscribe(_client: mqtt.Client, _data: Any, _mid: int, reasons: Any, _props: Any) -> None:
    if any(reason.is_failure for reason in reasons):
        raise ConnectionError(f"subscription to {SUBSCRIPTION} refused: {reasons}")
    print(READY, flush=True)


def on_message(client: mqtt.Client, _data: Any, message: mqtt.MQTTMessage) -> None:
    topic, body = answer(
        message.topic, message.payload, getattr(message.properties, "ResponseTopic", None)
    )
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.CorrelationData = getattr(message.properties, "CorrelationData", b"")
    client.publish(topic, body, qos=1, properties=properties)


def main(port: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=ACCOUNT, protocol=mqtt.MQTTv5)
    client.username_pw_set(ACCOUNT, password())
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    # paho does not set TCP_NODELAY; without it each QoS 1 round trip waits on Nagle.
    connected = client.socket()
    assert isinstance(connected, socket.socket)
    connected.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
