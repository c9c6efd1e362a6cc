"""A stand-in broker that does what the test says, for what mosquitto never does: malformed
packets, a PINGREQ left unanswered, a Receive Maximum of 1 or 2, a packet no broker sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from broker.address import BrokerAddress
from broker.identities import Login
from broker.packets import CONNACK, CONNECT, Frame, Framer, PropertyValue, encode_properties, packet

LOGIN = Login("makerbus-handlers-1", "scripted")
NO_PROPERTIES: Mapping[int, PropertyValue] = {}


@dataclass
class Peer:
    """The link's side of one connection, as the stand-in broker sees it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    framer: Framer = field(default_factory=Framer)
    frames: list[Frame] = field(default_factory=list)

    async def read(self) -> Frame:
        """The next packet the link sent; EOFError once it closed the connection."""
        while not self.frames:
            data = await self.reader.read(4096)
            if not data:
                raise EOFError
            self.frames += self.framer.feed(data)
        return self.frames.pop(0)

    async def read_kinds(self, count: int) -> list[int]:
        return [(await self.read()).kind for _ in range(count)]

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def closed(self) -> bool:
        """Whether the link closes the connection after whatever else it still sends."""
        try:
            while True:
                await self.read()
        except EOFError:
            return True


@dataclass
class ScriptedBroker:
    address: BrokerAddress
    peers: asyncio.Queue[Peer]

    async def next_peer(self) -> Peer:
        return await self.peers.get()


@asynccontextmanager
async def scripted_broker(
    connack: Mapping[int, PropertyValue] | None = NO_PROPERTIES,
) -> AsyncIterator[ScriptedBroker]:
    """A stand-in broker on a free loopback port for the `async with` block: it grants every
    login with the `connack` properties, or leaves the CONNECT to the test if they are None."""
    peers: asyncio.Queue[Peer] = asyncio.Queue()
    opened: list[Peer] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        opened.append(peer)
        if connack is not None:
            assert (await peer.read()).kind == CONNECT
            peer.send(packet(CONNACK, b"\x00\x00" + encode_properties(connack)))
        peers.put_nowait(peer)

    server = await asyncio.start_server(accepted, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield ScriptedBroker(BrokerAddress("127.0.0.1", port), peers)
    finally:
        server.close()
        for peer in opened:
            peer.writer.close()
        await server.wait_closed()
