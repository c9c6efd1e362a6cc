"""The socket-level echo (see bench.echo): no MQTT library, the handler service's own
`broker.link` over asyncio streams, each answer a task of its own as in the service."""

from __future__ import annotations

import asyncio
import sys

from bench.echo import ACCOUNT, READY, SUBSCRIPTION, answer, password
from broker.address import BrokerAddress
from broker.identities import Login
from broker.link import connect


async def main(port: int) -> None:
    async with connect(BrokerAddress("127.0.0.1", port), Login(ACCOUNT, password())) as link:
        await link.subscribe(SUBSCRIPTION)
        print(READY, flush=True)
        tasks: set[asyncio.Task[None]] = set()
        async for message in link.messages():
            topic, body = answer(message.topic, message.payload, message.response_topic)
            task = asyncio.create_task(
                link.publish(topic, body, correlation_data=message.correlation_data)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
