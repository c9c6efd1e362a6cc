"""The socket-level echo (see bench.echo): no MQTT library, bench.mqtt5 over asyncio streams."""

from __future__ import annotations

import asyncio
import sys

from bench.echo import ACCOUNT, READY, SUBSCRIPTION, answer, password
from bench.mqtt5 import Connection


async def main(port: int) -> None:
    connection = await Connection.open(
        "127.0.0.1", port, client_id=ACCOUNT, username=ACCOUNT, password=password()
    )
    await connection.subscribe(SUBSCRIPTION)
    print(READY, flush=True)
    async for message in connection.messages():
        topic, body = answer(message.topic, message.payload, message.response_topic)
        await connection.publish(topic, body, message.correlation_data)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
