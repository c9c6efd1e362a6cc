"""The handler service's MQTT 5 connection to the broker, over asyncio streams, no MQTT library.

Why not aiomqtt: on this machine kind it costs ~0.4 ms of CPU per request answered (paho's
packet handling, its callbacks into asyncio, a future and a lock per publish), ~40 % of the
handler's whole budget of 1 ms a heartbeat; this link costs ~0.06 ms. It does what the service
needs and nothing else (packets in `broker.packets`):

- MQTT 5, clean start, session expiry 0: a worker that dies strands nothing at the broker.
- Each QoS 1 PUBLISH received is acknowledged at once, before it is handled, as aiomqtt does;
  devices retry a request with the same id to cover one in flight when a worker dies.
- Our publishes are QoS 1 and wait for their PUBACK; at most the broker's Receive Maximum of
  them are unacknowledged at once, which also bounds what waits in the socket's buffer.
- A PINGREQ every half keepalive; a PINGRESP that has not come by the next one is a lost link.

Two exceptions: `LinkLost` when the connection is gone or the broker refused it (reconnect), and
`Refused` when the broker refused one subscription or publish (reason code 0x80 or above; the
connection stays). Anything the broker sends that is malformed or not meant for a client like
this ends the connection with a DISCONNECT and `LinkLost`, never an exception of another kind.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from broker.address import BrokerAddress
from broker.identities import Login
from broker.packets import (
    CONNACK,
    CORRELATION_DATA,
    DISCONNECT,
    FAILURE,
    MALFORMED,
    MAX_PACKET,
    MAXIMUM_PACKET_SIZE,
    NO_PROPERTIES,
    PACKET_TOO_LARGE,
    PINGREQ_PACKET,
    PINGRESP,
    PROTOCOL_ERROR,
    PUBACK,
    PUBLISH,
    REASON_STRING,
    RECEIVE_MAXIMUM,
    SERVER_KEEP_ALIVE,
    SUBACK,
    UNSUBACK,
    Ack,
    Connack,
    Frame,
    Framer,
    MalformedPacket,
    Properties,
    Publish,
    decode_ack,
    decode_connack,
    decode_disconnect,
    decode_publish,
    decode_varint,
    encode_connect,
    encode_disconnect,
    encode_puback,
    encode_publish,
    encode_subscribe,
    encode_unsubscribe,
)

log = logging.getLogger("makerbus.broker")
READ_SIZE = 65_536
# Packet ids left for subscriptions however many publishes the broker lets us have in flight.
MAX_PUBLISHES_IN_FLIGHT = 65_000
RETAIN_AS_PUBLISHED = 0x08
# What a broker may send a client like this one, besides PUBLISH, once it is connected.
_AFTER_CONNACK = frozenset({PUBACK, SUBACK, UNSUBACK, PINGRESP, DISCONNECT})


class LinkError(Exception):
    """What the link reports: `LinkLost` or `Refused`."""


class LinkLost(LinkError):
    """The connection is gone, or the broker refused it: connect again."""


class _Unexpected(Exception):
    """A well-formed packet that the broker must not send to this client."""


class Refused(LinkError):
    """The broker refused a subscription or a publish; the connection stays up."""

    def __init__(self, what: str, reason: int) -> None:
        super().__init__(f"{what} refused (reason {reason:#04x})")
        self.reason = reason


@asynccontextmanager
async def connect(
    address: BrokerAddress, login: Login, *, keepalive: int = 30, wait_s: float = 10.0
) -> AsyncIterator[Link]:
    """A connection for the `async with` block, closed with a DISCONNECT at its end."""
    link = await Link.open(address, login, keepalive=keepalive, wait_s=wait_s)
    try:
        yield link
    finally:
        await link.close()


class Link:
    """One MQTT 5 connection; make a new one per connection attempt (see `connect`)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connack: Connack,
        keepalive: int,
        wait_s: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._wait_s = wait_s
        server_keepalive = connack.properties.number(SERVER_KEEP_ALIVE)
        self.keepalive = keepalive if server_keepalive is None else server_keepalive
        self.receive_maximum = connack.properties.number(RECEIVE_MAXIMUM) or 65_535
        self.maximum_packet_size = connack.properties.number(MAXIMUM_PACKET_SIZE) or MAX_PACKET
        self._window = asyncio.Semaphore(min(self.receive_maximum, MAX_PUBLISHES_IN_FLIGHT))
        self._waiting_for_window = 0
        self._last_id = 0
        self._pending: dict[int, tuple[int, asyncio.Future[Ack]]] = {}
        self._inbox: asyncio.Queue[Publish | None] = asyncio.Queue()
        self._lost: str | None = None
        self._ping_answered = True
        self._tasks = (
            asyncio.create_task(self._read_forever()),
            asyncio.create_task(self._keep_alive()),
        )

    @classmethod
    async def open(
        cls, address: BrokerAddress, login: Login, *, keepalive: int = 30, wait_s: float = 10.0
    ) -> Link:
        """Connect and log in with clean start; LinkLost if the broker is unreachable, does
        not answer within `wait_s` seconds or refuses the login."""
        tls = ssl.create_default_context(cafile=str(address.ca_file)) if address.ca_file else None
        where = f"{address.host}:{address.port}"
        try:
            async with asyncio.timeout(wait_s):
                reader, writer = await asyncio.open_connection(address.host, address.port, ssl=tls)
                try:
                    # asyncio sets it on TCP streams already; without it each QoS 1 round trip
                    # waits 40-80 ms on Nagle's algorithm, so say so rather than rely on that.
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    writer.write(
                        encode_connect(
                            client_id=login.client_id,
                            username=login.username,
                            password=login.password,
                            keepalive=keepalive,
                        )
                    )
                    connack = await _read_connack(reader)
                except BaseException:
                    writer.close()
                    raise
        except (OSError, EOFError, TimeoutError, MalformedPacket) as error:
            raise LinkLost(f"cannot connect to the broker at {where}: {error!r}") from None
        if connack.reason >= FAILURE:
            writer.close()
            raise LinkLost(
                f"the broker at {where} refused the login of {login.username} "
                f"({_reason(connack.reason, connack.properties)})"
            )
        return cls(reader, writer, connack, keepalive, wait_s)

    async def subscribe(self, topic_filter: str, *, retain_as_published: bool = False) -> None:
        """Subscribe at QoS 1; Refused if the broker does not grant it."""
        options = 1 | (RETAIN_AS_PUBLISHED if retain_as_published else 0)
        ack = await self._exchange(
            SUBACK, lambda packet_id: encode_subscribe(packet_id, topic_filter, options)
        )
        if ack.reasons[0] >= FAILURE:
            raise Refused(f"subscription to {topic_filter}", ack.reasons[0])

    async def unsubscribe(self, topic_filter: str) -> None:
        ack = await self._exchange(
            UNSUBACK, lambda packet_id: encode_unsubscribe(packet_id, topic_filter)
        )
        if ack.reasons[0] >= FAILURE:
            raise Refused(f"unsubscribing from {topic_filter}", ack.reasons[0])

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        correlation_data: bytes | None = None,
    ) -> None:
        """Publish at QoS 1 and wait for the PUBACK; Refused if its reason code says no."""
        properties = (
            NO_PROPERTIES
            if correlation_data is None
            else Properties({CORRELATION_DATA: correlation_data})
        )
        await self._take_window_slot()
        try:
            ack = await self._exchange(
                PUBACK,
                lambda packet_id: encode_publish(
                    Publish(topic, payload, 1, retain, packet_id, properties)
                ),
            )
        except (ValueError, Refused):  # never sent: the slot is free again
            self._window.release()
            raise
        if ack.reasons[0] >= FAILURE:
            raise Refused(f"publish to {topic}", ack.reasons[0])

    async def messages(self) -> AsyncIterator[Publish]:
        """Every PUBLISH received, in order (already acknowledged); LinkLost when the link is."""
        while True:
            message = await self._inbox.get()
            if message is None:
                self._inbox.put_nowait(None)  # for whoever reads next
                raise self._gone()
            yield message

    async def close(self) -> None:
        """Disconnect (a DISCONNECT first, if the link is still up) and close the socket."""
        if self._lost is None:
            self._writer.write(encode_disconnect())
        self._lose("the link was closed")
        try:
            async with asyncio.timeout(self._wait_s):
                await self._writer.wait_closed()
        except TimeoutError:
            self._writer.transport.abort()  # the broker does not read: drop what is unsent
        except OSError:
            pass  # closed already, one way or the other
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _exchange(self, ack_kind: int, encode: Callable[[int], bytes]) -> Ack:
        """Send the packet `encode` makes with a fresh packet id; its acknowledgement."""
        if self._lost is not None:
            raise self._gone()
        packet_id = self._new_id()
        data = encode(packet_id)
        if len(data) > self.maximum_packet_size:  # the broker would disconnect us for it
            raise Refused(f"a packet of {len(data)} bytes", PACKET_TOO_LARGE)
        waiter: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[packet_id] = (ack_kind, waiter)
        self._writer.write(data)
        return await waiter

    async def _take_window_slot(self) -> None:
        if self._window.locked():
            self._waiting_for_window += 1
            try:
                await self._window.acquire()
            finally:
                self._waiting_for_window -= 1
        else:
            await self._window.acquire()  # free: returns at once

    def _new_id(self) -> int:
        while True:
            self._last_id = self._last_id % 0xFFFF + 1
            if self._last_id not in self._pending:
                return self._last_id

    async def _read_forever(self) -> None:
        framer = Framer()
        try:
            while data := await self._reader.read(READ_SIZE):
                for frame in framer.feed(data):
                    self._dispatch(frame)
            self._lose("the broker closed the connection")
        except LinkLost as error:
            self._lose(str(error))
        except MalformedPacket as error:
            self._lose(f"malformed packet from the broker: {error}", reason=MALFORMED)
        except _Unexpected as error:
            self._lose(f"protocol error by the broker: {error}", reason=PROTOCOL_ERROR)
        except OSError as error:
            self._lose(f"the connection broke: {error!r}")
        except Exception:  # a bug here must end the link, never the service
            log.exception("unexpected failure reading from the broker")
            self._lose("unexpected failure reading from the broker", reason=FAILURE)

    def _dispatch(self, frame: Frame) -> None:
        kind, flags, body = frame
        if kind == PUBLISH:
            message = decode_publish(flags, body)
            if message.packet_id is not None:
                self._writer.write(encode_puback(message.packet_id))
            self._inbox.put_nowait(message)
            return
        if kind not in _AFTER_CONNACK:
            raise _Unexpected(f"a packet of type {kind}")
        if flags:
            raise MalformedPacket(f"reserved flags set on a packet of type {kind}")
        if kind == PINGRESP:
            self._ping_answered = True
        elif kind == DISCONNECT:
            reason, properties = decode_disconnect(body)
            raise LinkLost(f"the broker disconnected us ({_reason(reason, properties)})")
        else:
            self._acknowledged(kind, decode_ack(kind, body))

    def _acknowledged(self, kind: int, ack: Ack) -> None:
        expected, waiter = self._pending.get(ack.packet_id, (None, None))
        if expected != kind or waiter is None:
            raise _Unexpected(f"an acknowledgement of packet {ack.packet_id}, never sent")
        del self._pending[ack.packet_id]
        if kind == PUBACK:
            self._window.release()
        if not waiter.done():  # its publisher may have been cancelled
            waiter.set_result(ack)

    async def _keep_alive(self) -> None:
        if not self.keepalive:
            return  # the broker asked for no keepalive
        while self._lost is None:
            await asyncio.sleep(self.keepalive / 2)
            if not self._ping_answered:
                self._lose(f"no PINGRESP within {self.keepalive / 2:g} s")
                return
            self._ping_answered = False
            self._writer.write(PINGREQ_PACKET)

    def _lose(self, why: str, *, reason: int | None = None) -> None:
        """The link is over: wake everything that waits on it with LinkLost, close the socket."""
        if self._lost is not None:
            return
        self._lost = why
        if reason is not None:
            self._writer.write(encode_disconnect(reason))
        self._writer.close()
        for _, waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(self._gone())
        self._pending.clear()
        for _ in range(self._waiting_for_window):
            self._window.release()  # each wakes a publisher, which then finds the link lost
        self._inbox.put_nowait(None)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    def _gone(self) -> LinkLost:
        return LinkLost(self._lost or "the link is lost")


async def _read_connack(reader: asyncio.StreamReader) -> Connack:
    """The broker's first packet, read exactly (nothing after it is consumed), as a CONNACK."""
    first = (await reader.readexactly(1))[0]
    header = bytearray()
    while not header or header[-1] & 0x80:
        if len(header) == 4:
            raise MalformedPacket("a remaining length longer than four bytes")
        header += await reader.readexactly(1)
    length, _ = decode_varint(header)
    body = await reader.readexactly(length)
    if first != CONNACK << 4:
        raise MalformedPacket(f"the broker's first packet is of type {first >> 4}, not CONNACK")
    return decode_connack(body)


def _reason(code: int, properties: Properties) -> str:
    said = properties.text(REASON_STRING)
    return f"reason {code:#04x}" + (f": {said}" if said else "")
