"""The aiomqtt echo (see bench.echo): the ceiling the handler service's own MQTT layer sets."""

from __future__ import annotations

import asyncio
import sys

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.echo import ACCOUNT, READY, SUBSCRIPTION, answer, password
from broker.mqtt import NODELAY


async def reply(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    assert isinstance(message.payload, bytes | bytearray)
    topic, body = answer(
        message.topic.value,
        message.payload,
        getattr(message.properties, "ResponseTopic", None),
    )
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.CorrelationData = getattr(message.properties, "CorrelationData", b"")
    await client.publish(topic, body, qos=1, properties=properties)


async def main(port: int) -> None:
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        username=ACCOUNT,
        identifier=ACCOUNT,
        password=password(),
        protocol=aiomqtt.ProtocolVersion.V5,
        socket_options=NODELAY,
    ) as client:
        client.pending_calls_threshold = 10_000
        await client.subscribe(SUBSCRIPTION, qos=1)
        print(READY, flush=True)
        tasks: set[asyncio.Task[None]] = set()
        async for message in client.messages:
            task = asyncio.create_task(reply(client, message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
