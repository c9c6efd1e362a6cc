"""Just enough MQTT 5 over asyncio streams for an echo responder, with no MQTT library.

CONNECT, SUBSCRIBE, PUBLISH at QoS 1 with response topic and correlation data, PUBACK and
PINGREQ: what bench.echo_socket needs, nothing more. No reconnection, no QoS 2, no topic
aliases, and the broker's receive maximum is not enforced (the bench keeps at most one request
per device in flight, below mosquitto's 100).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ = 1, 2, 3, 4, 8, 9, 12
RESPONSE_TOPIC, CORRELATION_DATA = 0x08, 0x09
# The properties a broker may put on a PUBLISH it forwards: their fixed sizes, or their kind.
FIXED_SIZE = {0x01: 1, 0x02: 4, 0x23: 2}  # payload format, message expiry, topic alias
SUBSCRIPTION_ID, USER_PROPERTY = 0x0B, 0x26  # a variable byte integer; a string pair
PREFIXED = {0x03, RESPONSE_TOPIC, CORRELATION_DATA}  # content type and the two we read


def varint(value: int) -> bytes:
    """A variable byte integer: 7 bits a byte, low bits first, the top bit says "more"."""
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def prefixed(data: str | bytes) -> bytes:
    """A UTF-8 string or binary data: two bytes of length, then the bytes."""
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack("!H", len(raw)) + raw


def packet(kind: int, body: bytes, flags: int = 0) -> bytes:
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


class Cursor:
    """Reads a packet's body from the front."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def u16(self) -> int:
        return int.from_bytes(self.take(2))

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def prefixed(self) -> bytes:
        return self.take(self.u16())

    def rest(self) -> bytes:
        return self.data[self.at :]


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    packet_id: int | None  # None at QoS 0
    response_topic: str | None
    correlation_data: bytes | None


def decode_publish(flags: int, body: bytes) -> Message:
    cursor = Cursor(body)
    topic = cursor.prefixed().decode()
    packet_id = cursor.u16() if flags & 0b0110 else None
    found: dict[int, bytes] = {}
    end = cursor.varint()
    end += cursor.at
    while cursor.at < end:
        key = cursor.take(1)[0]
        if key in FIXED_SIZE:
            cursor.take(FIXED_SIZE[key])
        elif key == SUBSCRIPTION_ID:
            cursor.varint()
        elif key == USER_PROPERTY:
            cursor.prefixed()
            cursor.prefixed()
        elif key in PREFIXED:
            found[key] = cursor.prefixed()
        else:
            raise ValueError(f"property {key:#x} does not belong on a PUBLISH")
    response_topic = found.get(RESPONSE_TOPIC)
    return Message(
        topic,
        cursor.rest(),
        packet_id,
        response_topic.decode() if response_topic is not None else None,
        found.get(CORRELATION_DATA),
    )


def encode_publish(topic: str, payload: bytes, packet_id: int, correlation: bytes | None) -> bytes:
    """A QoS 1 PUBLISH, with the correlation data of the request it answers."""
    properties = bytes([CORRELATION_DATA]) + prefixed(correlation) if correlation else b""
    body = prefixed(topic) + struct.pack("!H", packet_id) + varint(len(properties)) + properties
    return packet(PUBLISH, body + payload, flags=0b0010)


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """The next packet: its type, its flags (the low four bits) and its body."""
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return first >> 4, first & 0x0F, await reader.readexactly(length)


class Connection:
    """One MQTT 5 connection (clean start): subscribe, read messages, publish at QoS 1."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keepalive: int
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._last_id = 0
        self._pinger = asyncio.create_task(self._ping(keepalive))

    @classmethod
    async def open(
        cls, host: str, port: int, *, client_id: str, username: str, password: str
    ) -> Connection:
        keepalive = 60
        # asyncio sets TCP_NODELAY on every TCP stream it opens.
        reader, writer = await asyncio.open_connection(host, port)
        flags = 0x80 | 0x40 | 0x02  # a user name, a password, clean start
        header = prefixed("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + varint(0)
        payload = prefixed(client_id) + prefixed(username) + prefixed(password)
        writer.write(packet(CONNECT, header + payload))
        kind, _, body = await read_packet(reader)
        if kind != CONNACK or body[1] != 0:
            raise ConnectionError(f"the broker refused the connection (reason {body[1]:#x})")
        return cls(reader, writer, keepalive)

    async def subscribe(self, topic_filter: str) -> None:
        """Subscribe at QoS 1 and wait for the broker to grant it."""
        body = struct.pack("!H", self._next_id()) + varint(0) + prefixed(topic_filter) + b"\x01"
        self._writer.write(packet(SUBSCRIBE, body, flags=0b0010))
        kind, _, body = await read_packet(self._reader)
        cursor = Cursor(body)
        cursor.u16()
        cursor.take(cursor.varint())
        reason = cursor.rest()[0]
        if kind != SUBACK or reason >= 0x80:
            raise ConnectionError(f"subscription to {topic_filter} refused (reason {reason:#x})")

    async def messages(self) -> AsyncIterator[Message]:
        """Every PUBLISH that arrives, acknowledged first (as paho and aiomqtt do by default).

        The broker's PUBACKs to our messages and its PINGRESPs are read and dropped.
        """
        while True:
            kind, flags, body = await read_packet(self._reader)
            if kind != PUBLISH:
                continue
            message = decode_publish(flags, body)
            if message.packet_id is not None:
                self._writer.write(packet(PUBACK, struct.pack("!H", message.packet_id)))
            yield message

    async def publish(self, topic: str, payload: bytes, correlation: bytes | None) -> None:
        self._writer.write(encode_publish(topic, payload, self._next_id(), correlation))
        await self._writer.drain()

    def _next_id(self) -> int:
        self._last_id = self._last_id % 0xFFFF + 1
        return self._last_id

    async def _ping(self, keepalive: int) -> None:
        while True:
            await asyncio.sleep(keepalive / 2)
            self._writer.write(packet(PINGREQ, b""))
