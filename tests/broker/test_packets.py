"""The MQTT 5 codec of the handler service's link: bytes as the standard writes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.packets import (
    CONNACK,
    CORRELATION_DATA,
    MAX_VARINT,
    PUBACK,
    PUBLISH,
    RECEIVE_MAXIMUM,
    RESPONSE_TOPIC,
    SUBACK,
    SUBSCRIPTION_ID,
    UNSUBACK,
    Ack,
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
    encode_properties,
    encode_puback,
    encode_publish,
    encode_subscribe,
    encode_unsubscribe,
    encode_varint,
    packet,
)

VARINT_LIMITS = [
    (0, b"\x00"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (16_383, b"\xff\x7f"),
    (16_384, b"\x80\x80\x01"),
    (2_097_151, b"\xff\xff\x7f"),
    (2_097_152, b"\x80\x80\x80\x01"),
    (MAX_VARINT, b"\xff\xff\xff\x7f"),
]
texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
publishes = st.builds(
    Publish,
    topic=texts.filter(bool),
    payload=st.binary(max_size=300),
    qos=st.sampled_from([0, 1]),
    retain=st.booleans(),
    packet_id=st.integers(1, 0xFFFF),
    properties=st.builds(
        Properties,
        st.fixed_dictionaries(
            {},
            optional={
                RESPONSE_TOPIC: texts,
                CORRELATION_DATA: st.binary(max_size=64),
                SUBSCRIPTION_ID: st.integers(1, MAX_VARINT),
                0x01: st.integers(0, 1),
                0x02: st.integers(0, 2**32 - 1),
            },
        ),
        st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
    ),
).map(lambda p: p if p.qos else Publish(p.topic, p.payload, 0, p.retain, None, p.properties))


def one_frame(data: bytes) -> Frame:
    [frame] = Framer().feed(data)
    return frame


@pytest.mark.parametrize(("value", "encoded"), VARINT_LIMITS)
def test_variable_byte_integers_at_their_limits_round_trip(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(encoded) == (value, len(encoded))


@pytest.mark.parametrize("value", [-1, MAX_VARINT + 1])
def test_a_variable_byte_integer_beyond_its_range_is_not_encoded(value: int) -> None:
    with pytest.raises(ValueError, match="variable byte integer"):
        encode_varint(value)


def test_a_remaining_length_of_five_bytes_is_malformed() -> None:
    with pytest.raises(MalformedPacket, match="longer than four bytes"):
        Framer().feed(b"\x30\xff\xff\xff\xff\x01")


def test_a_remaining_length_cut_short_waits_for_more() -> None:
    framer = Framer()

    assert framer.feed(b"\x30\x80") == []
    assert framer.feed(b"\x01" + b"\x00\x01t" + b"\x00" + b"x" * 124) == [
        Frame(PUBLISH, 0, b"\x00\x01t\x00" + b"x" * 124)
    ]


@given(publishes)
def test_a_publish_round_trips(message: Publish) -> None:
    frame = one_frame(encode_publish(message))

    assert frame.kind == PUBLISH
    assert decode_publish(frame.flags, frame.body) == message


@given(st.lists(publishes, min_size=1, max_size=4), st.data())
def test_packets_come_out_whole_however_the_stream_is_cut(
    messages: list[Publish], data: st.DataObject
) -> None:
    stream = b"".join(encode_publish(message) for message in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    framer = Framer()

    frames = [
        frame
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True)
        for frame in framer.feed(stream[start:end])
    ]

    assert [decode_publish(frame.flags, frame.body) for frame in frames] == messages


def test_an_answer_carries_its_correlation_data_at_qos_1() -> None:
    answer = Publish("mkr/v1/m1/res/x", b"{}", 1, False, 7, Properties({CORRELATION_DATA: b"c"}))

    assert encode_publish(answer) == b"\x32\x1a\x00\x0fmkr/v1/m1/res/x\x00\x07\x04\x09\x00\x01c{}"


def test_the_login_is_mqtt_5_with_clean_start_user_name_and_password() -> None:
    connect = encode_connect(client_id="h-1", username="h-1", password="pw", keepalive=30)

    assert connect == b"\x10\x19\x00\x04MQTT\x05\xc2\x00\x1e\x00\x00\x03h-1\x00\x03h-1\x00\x02pw"


def test_a_subscription_asks_for_qos_1_retained_as_published() -> None:
    assert encode_subscribe(3, "a/#", 0x09) == b"\x82\x09\x00\x03\x00\x00\x03a/#\x09"


def test_an_unsubscription_names_its_filter() -> None:
    assert encode_unsubscribe(4, "a/#") == b"\xa2\x08\x00\x04\x00\x00\x03a/#"


def test_a_puback_of_success_is_the_short_form_and_decodes_as_success() -> None:
    frame = one_frame(encode_puback(9))

    assert frame.body == b"\x00\x09"
    assert decode_ack(PUBACK, frame.body) == Ack(9, (0,))


def test_a_puback_with_a_reason_and_a_reason_string_decodes() -> None:
    body = b"\x00\x09\x87" + encode_properties({0x1F: "Not authorized"})

    assert decode_ack(PUBACK, body) == Ack(9, (0x87,), Properties({0x1F: "Not authorized"}))


@pytest.mark.parametrize("kind", [SUBACK, UNSUBACK])
def test_a_suback_or_unsuback_has_one_reason_per_filter(kind: int) -> None:
    assert decode_ack(kind, b"\x00\x02\x00\x01\x87") == Ack(2, (0x01, 0x87))


def test_a_suback_without_reasons_is_malformed() -> None:
    with pytest.raises(MalformedPacket):
        decode_ack(SUBACK, b"\x00\x02\x00")


def test_a_connack_carries_the_brokers_receive_maximum() -> None:
    connack = decode_connack(b"\x00\x00" + encode_properties({RECEIVE_MAXIMUM: 100}))

    assert (connack.reason, connack.properties.number(RECEIVE_MAXIMUM)) == (0, 100)


def test_a_connack_in_mqtt_3_form_is_a_refusal_without_properties() -> None:
    connack = decode_connack(one_frame(packet(CONNACK, b"\x00\x01")).body)

    assert (connack.reason, connack.properties) == (1, Properties())


def test_a_disconnect_of_success_is_empty_and_a_refusal_carries_its_reason() -> None:
    assert encode_disconnect() == b"\xe0\x00"
    assert decode_disconnect(one_frame(encode_disconnect(0x98)).body) == (0x98, Properties())


@pytest.mark.parametrize(
    ("flags", "body", "why"),
    [
        (0b0100, b"\x00\x01t\x00\x01\x00", "QoS 2"),
        (0b0010, b"\x00\x01t\x00\x00\x00", "packet id 0"),
        (0, b"\x00\x05t", "ends too early"),
        (0, b"\x00\x01\xff\x00", "not UTF-8"),
        (0, b"\x00\x01t\x05\x01\x00", "run past"),
        (0, b"\x00\x01t\x02\x7f\x00", "unknown property"),
        (0, b"\x00\x01t\x04\x01\x00\x01\x01", "given twice"),
    ],
)
def test_a_malformed_publish_is_refused(flags: int, body: bytes, why: str) -> None:
    with pytest.raises(MalformedPacket, match=why):
        decode_publish(flags, body)
