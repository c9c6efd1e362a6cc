"""MQTT 5 packets as bytes: what a client with clean sessions at QoS 0 and 1 sends and receives.

Pure functions, no I/O: `broker.link` runs the connection. The client side only: CONNECT,
PUBLISH, PUBACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and DISCONNECT are encoded; CONNACK, PUBLISH,
PUBACK, SUBACK, UNSUBACK and DISCONNECT decoded. Bytes that break the format raise
`MalformedPacket`, never an IndexError or a UnicodeDecodeError.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14

MAX_VARINT = 268_435_455  # four bytes of seven bits
FAILURE = 0x80  # reason codes from here on say no
MALFORMED, PROTOCOL_ERROR, PACKET_TOO_LARGE = 0x81, 0x82, 0x95
MAX_PACKET = MAX_VARINT + 5  # the largest remaining length and its fixed header

# Property identifiers (MQTT 5.0, 2.2.2.2) and how each is written.
RESPONSE_TOPIC, CORRELATION_DATA = 0x08, 0x09
SUBSCRIPTION_ID = 0x0B
SERVER_KEEP_ALIVE = 0x13
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
USER_PROPERTY = 0x26
MAXIMUM_PACKET_SIZE = 0x27
_BYTE, _U16, _U32, _VARINT, _TEXT, _BINARY = range(6)
_KINDS = {
    0x01: _BYTE,  # payload format indicator
    0x02: _U32,  # message expiry interval
    0x03: _TEXT,  # content type
    RESPONSE_TOPIC: _TEXT,
    CORRELATION_DATA: _BINARY,
    SUBSCRIPTION_ID: _VARINT,
    0x11: _U32,  # session expiry interval
    0x12: _TEXT,  # assigned client identifier
    SERVER_KEEP_ALIVE: _U16,
    0x15: _TEXT,  # authentication method
    0x16: _BINARY,  # authentication data
    0x17: _BYTE,  # request problem information
    0x18: _U32,  # will delay interval
    0x19: _BYTE,  # request response information
    0x1A: _TEXT,  # response information
    0x1C: _TEXT,  # server reference
    REASON_STRING: _TEXT,
    RECEIVE_MAXIMUM: _U16,
    0x22: _U16,  # topic alias maximum
    0x23: _U16,  # topic alias
    0x24: _BYTE,  # maximum QoS
    0x25: _BYTE,  # retain available
    MAXIMUM_PACKET_SIZE: _U32,
    0x28: _BYTE,  # wildcard subscription available
    0x29: _BYTE,  # subscription identifiers available
    0x2A: _BYTE,  # shared subscription available
}
_FIXED = {_BYTE: 1, _U16: 2, _U32: 4}
_U16_PACK = struct.Struct("!H")
PINGREQ_PACKET = bytes([PINGREQ << 4, 0])

PropertyValue = int | str | bytes


class MalformedPacket(ValueError):
    """Bytes from the broker that are not a valid MQTT 5 packet."""


@dataclass(frozen=True, slots=True)
class Properties:
    """A packet's properties: at most one of each, except user properties (name, value pairs)."""

    values: Mapping[int, PropertyValue] = field(default_factory=dict)
    user: tuple[tuple[str, str], ...] = ()

    def number(self, key: int) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) else None

    def text(self, key: int) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) else None

    def binary(self, key: int) -> bytes | None:
        value = self.values.get(key)
        return value if isinstance(value, bytes) else None


NO_PROPERTIES = Properties()


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    packet_id: int | None = None  # QoS 1 only
    properties: Properties = NO_PROPERTIES

    @property
    def response_topic(self) -> str | None:
        return self.properties.text(RESPONSE_TOPIC)

    @property
    def correlation_data(self) -> bytes | None:
        return self.properties.binary(CORRELATION_DATA)


@dataclass(frozen=True, slots=True)
class Connack:
    session_present: bool
    reason: int
    properties: Properties


@dataclass(frozen=True, slots=True)
class Ack:
    """A PUBACK, SUBACK or UNSUBACK: one reason code per publish or topic filter."""

    packet_id: int
    reasons: tuple[int, ...]
    properties: Properties = NO_PROPERTIES


class Frame(NamedTuple):
    kind: int
    flags: int  # the fixed header's low four bits
    body: bytes


def encode_varint(value: int) -> bytes:
    """A variable byte integer: seven bits a byte, low bits first, the top bit says "more"."""
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_text(value: str | bytes) -> bytes:
    """A UTF-8 string or binary data: two bytes of length, then the bytes."""
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 0xFFFF:
        raise ValueError("strings and binary data are at most 65,535 bytes")
    return _U16_PACK.pack(len(raw)) + raw


def encode_properties(
    values: Mapping[int, PropertyValue], user: Iterable[tuple[str, str]] = ()
) -> bytes:
    out = bytearray()
    for key, value in values.items():
        out.append(key)
        out += _encode_value(_KINDS[key], value)
    for name, value in user:
        out.append(USER_PROPERTY)
        out += encode_text(name) + encode_text(value)
    return encode_varint(len(out)) + out


def _encode_value(kind: int, value: PropertyValue) -> bytes:
    if isinstance(value, int) and kind in _FIXED:
        return value.to_bytes(_FIXED[kind])
    if isinstance(value, int) and kind == _VARINT:
        return encode_varint(value)
    if isinstance(value, str) and kind == _TEXT:
        return encode_text(value)
    if isinstance(value, bytes) and kind == _BINARY:
        return encode_text(value)
    raise TypeError(f"{value!r} is not a value of this property")


def packet(kind: int, body: bytes, flags: int = 0) -> bytes:
    """A whole packet: the fixed header (type, flags, remaining length), then `body`."""
    return bytes([kind << 4 | flags]) + encode_varint(len(body)) + body


def encode_connect(
    *, client_id: str, username: str, password: str, keepalive: int, clean_start: bool = True
) -> bytes:
    flags = 0x80 | 0x40 | (0x02 if clean_start else 0)  # user name, password, clean start
    header = encode_text("MQTT") + bytes([5, flags]) + _U16_PACK.pack(keepalive)
    body = header + encode_properties({})
    return packet(
        CONNECT, body + encode_text(client_id) + encode_text(username) + encode_text(password)
    )


def encode_publish(message: Publish) -> bytes:
    flags = message.qos << 1 | message.retain
    head = encode_text(message.topic)
    if message.qos:
        if message.packet_id is None:
            raise ValueError("a QoS 1 PUBLISH needs a packet id")
        head += _U16_PACK.pack(message.packet_id)
    properties = message.properties
    head += encode_properties(properties.values, properties.user)
    return packet(PUBLISH, head + message.payload, flags)


def encode_puback(packet_id: int, reason: int = 0) -> bytes:
    # Reason 0 without properties may be left out (3.4.2.1): the short form, as brokers send.
    return packet(PUBACK, _U16_PACK.pack(packet_id) + (bytes([reason]) if reason else b""))


def encode_subscribe(packet_id: int, topic_filter: str, options: int) -> bytes:
    """`options`: the QoS in bits 0-1, no local (0x04), retain as published (0x08)."""
    body = _U16_PACK.pack(packet_id) + encode_properties({}) + encode_text(topic_filter)
    return packet(SUBSCRIBE, body + bytes([options]), flags=0b0010)


def encode_unsubscribe(packet_id: int, topic_filter: str) -> bytes:
    body = _U16_PACK.pack(packet_id) + encode_properties({}) + encode_text(topic_filter)
    return packet(UNSUBSCRIBE, body, flags=0b0010)


def encode_disconnect(reason: int = 0) -> bytes:
    return packet(DISCONNECT, bytes([reason]) if reason else b"")


class _Cursor:
    """Reads a packet's body from the front; running past its end is a malformed packet."""

    __slots__ = ("at", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        end = self.at + count
        if end > len(self.data):
            raise MalformedPacket("the packet ends too early")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2))

    def varint(self) -> int:
        value, self.at = decode_varint(self.data, self.at)
        return value

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.binary().decode()
        except UnicodeDecodeError:
            raise MalformedPacket("a string is not UTF-8") from None

    def properties(self) -> Properties:
        end = self.varint() + self.at
        if end > len(self.data):
            raise MalformedPacket("the properties run past the packet")
        values: dict[int, PropertyValue] = {}
        user: list[tuple[str, str]] = []
        while self.at < end:
            key = self.byte()
            if key == USER_PROPERTY:
                user.append((self.text(), self.text()))
                continue
            kind = _KINDS.get(key)
            if kind is None:
                raise MalformedPacket(f"unknown property {key:#04x}")
            if key in values:
                raise MalformedPacket(f"property {key:#04x} given twice")
            values[key] = self._value(kind)
        if self.at != end:
            raise MalformedPacket("the properties run past their length")
        return Properties(values, tuple(user)) if values or user else NO_PROPERTIES

    def _value(self, kind: int) -> PropertyValue:
        if kind in _FIXED:
            return int.from_bytes(self.take(_FIXED[kind]))
        if kind == _VARINT:
            return self.varint()
        return self.text() if kind == _TEXT else self.binary()

    def rest(self) -> bytes:
        return self.data[self.at :]

    @property
    def done(self) -> bool:
        return self.at >= len(self.data)


def decode_varint(data: bytes | bytearray, at: int = 0) -> tuple[int, int]:
    """The variable byte integer at `at` and the offset after it."""
    value = 0
    for shift in (0, 7, 14, 21):
        if at >= len(data):
            raise MalformedPacket("a variable byte integer ends too early")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
    raise MalformedPacket("a variable byte integer longer than four bytes")


def decode_connack(body: bytes) -> Connack:
    cursor = _Cursor(body)
    flags, reason = cursor.byte(), cursor.byte()
    if flags & 0xFE:
        raise MalformedPacket("reserved CONNACK flags set")
    # A broker that does not speak MQTT 5 answers in 3.1.1's two bytes, without properties.
    properties = NO_PROPERTIES if cursor.done else cursor.properties()
    return Connack(bool(flags & 1), reason, properties)


def decode_publish(flags: int, body: bytes) -> Publish:
    qos = flags >> 1 & 0b11
    if qos > 1:
        raise MalformedPacket(f"a PUBLISH at QoS {qos}, above the QoS 1 subscribed to")
    cursor = _Cursor(body)
    topic = cursor.text()
    packet_id = cursor.u16() if qos else None
    if packet_id == 0:
        raise MalformedPacket("packet id 0")
    properties = cursor.properties()
    return Publish(topic, cursor.rest(), qos, bool(flags & 1), packet_id, properties)


def decode_ack(kind: int, body: bytes) -> Ack:
    """A PUBACK (whose reason and properties may be left out), SUBACK or UNSUBACK."""
    cursor = _Cursor(body)
    packet_id = cursor.u16()
    if kind != PUBACK:
        properties = cursor.properties()
        reasons = tuple(cursor.rest())
        if not reasons:
            raise MalformedPacket("an acknowledgement without reason codes")
        return Ack(packet_id, reasons, properties)
    reason = 0 if cursor.done else cursor.byte()
    properties = NO_PROPERTIES if cursor.done else cursor.properties()
    if not cursor.done:
        raise MalformedPacket("bytes after a PUBACK's properties")
    return Ack(packet_id, (reason,), properties)


def decode_disconnect(body: bytes) -> tuple[int, Properties]:
    """The broker's reason for closing the connection, and its properties (a reason string)."""
    cursor = _Cursor(body)
    reason = 0 if cursor.done else cursor.byte()
    return reason, NO_PROPERTIES if cursor.done else cursor.properties()


class Framer:
    """Splits the byte stream from the broker into packets, however the reads cut it."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The packets `data` completes, in order; a partial one waits for the next feed."""
        buffer = self._buffer
        buffer += data
        frames = []
        at = 0
        while len(buffer) - at >= 2:
            try:
                length, start = decode_varint(buffer, at + 1)
            except MalformedPacket:
                if len(buffer) - at - 1 < 4:
                    break  # the remaining length itself is not all here yet
                raise
            end = start + length
            if end > len(buffer):
                break
            first = buffer[at]
            frames.append(Frame(first >> 4, first & 0x0F, bytes(buffer[start:end])))
            at = end
        del buffer[:at]
        return frames
