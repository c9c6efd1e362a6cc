"""The ceiling: a bare aiomqtt responder that answers every request at once, no database.

Run as its own process with the handler account, on the same shared subscription and reply rules
as the handler service, so the benchmark's figures read as a fraction of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


async def answer(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    request = json.loads(message.payload)
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.CorrelationData = getattr(message.properties, "CorrelationData", b"")
    topic = getattr(message.properties, "ResponseTopic", None) or message.topic.value.replace(
        "/req/", "/res/", 1
    )
    body = json.dumps({"id": request.get("id"), "ok": True})
    await client.publish(topic, body, qos=1, properties=properties)


async def main(port: int) -> None:
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        # A handler worker's account, alone on the broker while the echo runs.
        username="makerbus-handlers-1",
        identifier="makerbus-handlers-1",
        password=os.environ["MAKERBUS_BROKER_HANDLER_PASSWORD"],
        protocol=aiomqtt.ProtocolVersion.V5,
        socket_options=NODELAY,
    ) as client:
        client.pending_calls_threshold = 10_000
        await client.subscribe("$share/makerbus/mkr/v1/+/req/#", qos=1)
        print("echo ready", flush=True)
        tasks: set[asyncio.Task[None]] = set()
        async for message in client.messages:
            task = asyncio.create_task(answer(client, message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
