"""A client for mosquitto's `$CONTROL/dynamic-security/v1` admin API.

Each command carries a `correlationData` string that the plugin echoes in its response; several
commands travel in one message and are answered together.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from types import TracebackType
from typing import Any

import aiomqtt

from broker.address import BrokerAddress
from broker.mqtt import client

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

Command = dict[str, Any]


class DynsecError(RuntimeError):
    """The plugin answered a command with an error (e.g. "Client not found")."""

    def __init__(self, command: str, error: str) -> None:
        super().__init__(f"{command}: {error}")
        self.command = command
        self.error = error


class DynsecAdmin:
    """`async with DynsecAdmin(...) as admin: await admin.run({"command": ...})`."""

    def __init__(
        self, address: BrokerAddress, username: str, password: str, *, timeout: float = 10.0
    ) -> None:
        self._client = client(
            address,
            username=username,
            password=password,
            # The account's one bound client id (see broker.identities).
            identifier=username,
            timeout=timeout,
        )
        self._timeout = timeout
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._expect_disconnect = False

    async def __aenter__(self) -> DynsecAdmin:
        await self._client.__aenter__()
        await self._client.subscribe(RESPONSE_TOPIC, qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._expect_disconnect:
            # The broker has closed (or is closing) the connection: do not wait out a timeout.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._client.__aexit__(exc_type, exc, tb)
            return
        await self._client.__aexit__(exc_type, exc, tb)

    async def _read(self) -> None:
        async for message in self._client.messages:
            if not isinstance(message.payload, bytes | bytearray):
                continue
            try:
                responses = json.loads(message.payload).get("responses", [])
            except ValueError:
                continue
            for response in responses:
                future = self._pending.pop(str(response.get("correlationData")), None)
                if future is not None and not future.done():
                    future.set_result(response)

    async def run(self, *commands: Command, tolerate: frozenset[str] = frozenset()) -> list[Any]:
        """Send commands in one message; their `data` in order, or DynsecError.

        Errors whose text is in `tolerate` (e.g. "Client already exists") count as success.
        """
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[dict[str, Any]]] = []
        keyed = []
        for command in commands:
            key = uuid.uuid4().hex
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending[key] = future
            futures.append(future)
            keyed.append({**command, "correlationData": key})
        try:
            await self._client.publish(CONTROL_TOPIC, json.dumps({"commands": keyed}), qos=1)
            async with asyncio.timeout(self._timeout):
                responses = await asyncio.gather(*futures)
        finally:
            for command in keyed:
                self._pending.pop(command["correlationData"], None)
        results = []
        for response in responses:
            error = response.get("error")
            if error and error not in tolerate:
                raise DynsecError(str(response.get("command")), str(error))
            results.append(response.get("data"))
        return results

    async def run_last(self, *commands: Command, settle_s: float = 1.0) -> None:
        """Send commands that change this admin's own permissions, as the last of a session.

        The broker disconnects a client whose role changes, possibly before it answers; so
        nothing is awaited but the send, and the disconnect on the way out is expected.
        """
        self._expect_disconnect = True
        payload = json.dumps({"commands": [dict(c) for c in commands]})
        # The PUBACK may never come: the broker can drop the connection first.
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.publish(CONTROL_TOPIC, payload, qos=1, timeout=settle_s)
        await asyncio.sleep(settle_s)
