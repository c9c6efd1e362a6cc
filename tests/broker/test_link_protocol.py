"""The link against a stand-in broker: the rules of MQTT 5 that mosquitto cannot be made to test
(a small Receive Maximum, a lost PINGRESP, bytes no broker should send)."""

from __future__ import annotations

import asyncio

import pytest

from broker.link import Link, LinkLost, Refused, connect
from broker.packets import (
    DISCONNECT,
    MAXIMUM_PACKET_SIZE,
    PINGREQ,
    PUBACK,
    PUBLISH,
    RECEIVE_MAXIMUM,
    SERVER_KEEP_ALIVE,
    SUBACK,
    SUBSCRIBE,
    Publish,
    decode_disconnect,
    decode_publish,
    encode_disconnect,
    encode_puback,
    encode_publish,
    packet,
)
from tests.broker.scripted_broker import LOGIN, Peer, scripted_broker


async def next_message(link: Link) -> Publish:
    async for message in link.messages():
        return message
    raise AssertionError("the messages ended")


async def disconnect_reason(peer: Peer) -> int:
    frame = await peer.read()
    assert frame.kind == DISCONNECT
    return decode_disconnect(frame.body)[0]


async def test_a_qos_1_request_is_acknowledged_and_handed_on() -> None:
    async with scripted_broker() as broker, connect(broker.address, LOGIN) as link:
        peer = await broker.next_peer()

        peer.send(encode_publish(Publish("mkr/v1/m1/req/x", b"{}", 1, False, 5)))

        assert await next_message(link) == Publish("mkr/v1/m1/req/x", b"{}", 1, False, 5)
        assert await peer.read() == (PUBACK, 0, b"\x00\x05")


async def test_publishes_beyond_the_brokers_receive_maximum_wait_for_a_puback() -> None:
    async with scripted_broker({RECEIVE_MAXIMUM: 2}) as broker:
        link = await Link.open(broker.address, LOGIN)
        peer = await broker.next_peer()
        publishes = [asyncio.create_task(link.publish(f"t/{n}", b"")) for n in range(3)]
        # Not held back by the window: shows on the wire where the third publish would be.
        subscription = asyncio.create_task(link.subscribe("s/#"))

        held_back = await peer.read_kinds(3)
        peer.send(encode_puback(1))
        released = await peer.read()

        assert held_back == [PUBLISH, PUBLISH, SUBSCRIBE]
        assert (released.kind, released.body[:5]) == (PUBLISH, b"\x00\x03t/2")
        subscription.cancel()
        await link.close()
        await asyncio.gather(*publishes, subscription, return_exceptions=True)


async def test_publishes_waiting_for_the_window_when_the_link_is_lost_raise_link_lost() -> None:
    async with scripted_broker({RECEIVE_MAXIMUM: 1}) as broker:
        link = await Link.open(broker.address, LOGIN)
        peer = await broker.next_peer()
        in_flight = asyncio.create_task(link.publish("t/1", b""))
        waiting = asyncio.create_task(link.publish("t/2", b""))
        assert (await peer.read()).kind == PUBLISH

        peer.writer.close()
        outcomes = await asyncio.gather(in_flight, waiting, return_exceptions=True)

        assert [type(outcome) for outcome in outcomes] == [LinkLost, LinkLost]
        await link.close()


async def test_a_missing_pingresp_within_the_servers_keepalive_loses_the_link() -> None:
    async with scripted_broker({SERVER_KEEP_ALIVE: 1}) as broker:
        link = await Link.open(broker.address, LOGIN, keepalive=60)
        peer = await broker.next_peer()

        assert (await peer.read()).kind == PINGREQ
        with pytest.raises(LinkLost, match="no PINGRESP"):
            await next_message(link)

        assert link.keepalive == 1
        assert await peer.closed()
        await link.close()


@pytest.mark.parametrize(
    ("sent", "reason", "why"),
    [
        (b"\x30\xff\xff\xff\xff\x01", 0x81, "malformed"),
        (packet(PUBLISH, b"\x00\x01t\x00\x01\x00", flags=0b0100), 0x81, "QoS 2"),
        (packet(SUBSCRIBE, b"\x00\x01\x00\x00\x01t\x01", flags=0b0010), 0x82, "type 8"),
        (encode_puback(77), 0x82, "never sent"),
    ],
    ids=["remaining length", "qos 2", "subscribe", "unknown puback"],
)
async def test_what_a_broker_must_not_send_ends_the_link_with_a_disconnect(
    sent: bytes, reason: int, why: str
) -> None:
    async with scripted_broker() as broker, connect(broker.address, LOGIN) as link:
        peer = await broker.next_peer()

        peer.send(sent)

        with pytest.raises(LinkLost, match=why):
            await next_message(link)
        assert await disconnect_reason(peer) == reason
        assert await peer.closed()


async def test_a_disconnect_from_the_broker_is_a_lost_link_naming_its_reason() -> None:
    async with scripted_broker() as broker, connect(broker.address, LOGIN) as link:
        peer = await broker.next_peer()

        peer.send(encode_disconnect(0x98))

        with pytest.raises(LinkLost, match="0x98"):
            await next_message(link)
        with pytest.raises(LinkLost):
            await link.publish("t", b"")


async def test_a_first_answer_that_is_no_connack_is_a_lost_link() -> None:
    async with scripted_broker(connack=None) as broker:
        link_opening = asyncio.create_task(Link.open(broker.address, LOGIN))
        peer = await broker.next_peer()
        await peer.read()

        peer.send(packet(13, b""))  # a PINGRESP

        with pytest.raises(LinkLost, match="not CONNACK"):
            await link_opening


async def test_a_broker_that_never_answers_the_login_is_a_lost_link() -> None:
    async with scripted_broker(connack=None) as broker:
        with pytest.raises(LinkLost, match="TimeoutError"):
            await Link.open(broker.address, LOGIN, wait_s=0.2)


async def test_closing_says_goodbye_with_a_disconnect_of_success() -> None:
    async with scripted_broker() as broker:
        async with connect(broker.address, LOGIN):
            peer = await broker.next_peer()

        assert await disconnect_reason(peer) == 0
        assert await peer.closed()


async def test_an_acknowledgement_of_the_wrong_kind_loses_the_link_and_its_publish() -> None:
    async with scripted_broker() as broker, connect(broker.address, LOGIN) as link:
        peer = await broker.next_peer()
        publish = asyncio.create_task(link.publish("t", b""))
        assert (await peer.read()).kind == PUBLISH

        peer.send(packet(SUBACK, b"\x00\x01\x00\x00"))

        with pytest.raises(LinkLost, match="never sent"):
            await publish


async def test_a_publish_beyond_the_brokers_maximum_packet_size_is_refused_unsent() -> None:
    async with (
        scripted_broker({MAXIMUM_PACKET_SIZE: 64, RECEIVE_MAXIMUM: 1}) as broker,
        connect(broker.address, LOGIN) as link,
    ):
        peer = await broker.next_peer()

        with pytest.raises(Refused) as refused:
            await link.publish("t", b"x" * 64)
        small = asyncio.create_task(link.publish("t", b"x"))  # the one slot is free again

        sent = decode_publish((frame := await peer.read()).flags, frame.body)
        peer.send(encode_puback(sent.packet_id or 0))
        await small
        assert refused.value.reason == 0x95
        assert (frame.kind, sent.payload) == (PUBLISH, b"x")
