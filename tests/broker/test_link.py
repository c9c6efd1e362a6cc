"""The handler service's link on a real mosquitto (the generated config, the real accounts),
with aiomqtt as the devices' and the monitor's side."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker.address import BrokerAddress
from broker.identities import Login, handler_login, monitor_login
from broker.launcher import LocalBroker, free_port, init_local
from broker.link import Link, LinkLost, Refused, connect
from broker.mqtt import client
from broker.packets import Publish
from core.settings import Settings
from makerbus.context import accounts_from
from tests.secrets_for_tests import production_settings

pytestmark = pytest.mark.mqtt
NOT_AUTHORIZED = 0x87


@pytest.fixture(scope="module")
def broker_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a mosquitto of this module's own."""
    directory = tmp_path_factory.mktemp("link-broker")
    settings = production_settings(mqtt_port=free_port())
    init_local(directory, settings.mqtt_port, accounts_from(settings))
    with LocalBroker(directory, settings.mqtt_port):
        yield settings


@pytest.fixture
def address(broker_settings: Settings) -> BrokerAddress:
    return BrokerAddress(broker_settings.mqtt_host, broker_settings.mqtt_port)


@pytest.fixture
async def link(broker_settings: Settings, address: BrokerAddress) -> AsyncIterator[Link]:
    """Handler worker 1's link, subscribed to every device's requests as the service is."""
    async with connect(address, handler_login(broker_settings, 1)) as opened:
        await opened.subscribe("mkr/v1/+/req/#", retain_as_published=True)
        yield opened


@pytest.fixture
async def other_worker(broker_settings: Settings, address: BrokerAddress) -> AsyncIterator[Link]:
    async with connect(address, handler_login(broker_settings, 2)) as opened:
        yield opened


async def next_message(link: Link) -> Publish:
    async for message in link.messages():
        return message
    raise AssertionError("the messages ended")


def slug() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


async def test_a_request_arrives_with_its_response_topic_and_correlation_data(
    link: Link, broker_settings: Settings, address: BrokerAddress
) -> None:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ResponseTopic = f"mkr/v1/{(device := slug())}/res/mine"
    properties.CorrelationData = b"\x00corr"
    login = handler_login(broker_settings, 3)

    async with client(
        address, username=login.username, password=login.password, identifier=login.client_id
    ) as sender:
        await sender.publish(f"mkr/v1/{device}/req/x", b"{}", qos=1, properties=properties)
        message = await next_message(link)

    assert message.topic == f"mkr/v1/{device}/req/x"
    assert (message.payload, message.qos, message.retain) == (b"{}", 1, False)
    assert message.response_topic == f"mkr/v1/{device}/res/mine"
    assert message.correlation_data == b"\x00corr"


async def test_an_answer_reaches_the_device_side_with_its_correlation_data(
    link: Link, broker_settings: Settings, address: BrokerAddress
) -> None:
    login = monitor_login(broker_settings)
    watcher = client(
        address, username=login.username, password=login.password, identifier=login.client_id
    )
    topic = f"mkr/v1/{slug()}/res/x"

    async with watcher:
        await watcher.subscribe("mkr/v1/+/res/#", qos=1)
        await link.publish(topic, b'{"ok":true}', correlation_data=b"c-1")
        received = await anext(aiter(watcher.messages))

    assert (received.topic.value, received.payload, received.qos) == (topic, b'{"ok":true}', 1)
    assert received.properties is not None
    assert getattr(received.properties, "CorrelationData", None) == b"c-1"


async def test_a_retained_request_arrives_marked_retained_and_can_be_cleared(
    link: Link, other_worker: Link
) -> None:
    topic = f"mkr/v1/{slug()}/req/x"
    await other_worker.publish(topic, b"{}", retain=True)

    first = await next_message(link)
    await link.publish(topic, b"", retain=True)
    clearing = await next_message(link)

    assert (first.topic, first.retain) == (topic, True)
    assert (clearing.topic, clearing.payload, clearing.retain) == (topic, b"", True)


async def test_after_unsubscribing_a_filter_its_messages_stop(
    link: Link, other_worker: Link
) -> None:
    device = slug()
    await link.subscribe(f"mkr/v1/{device}/req/#")  # every request of it arrives twice now
    await link.unsubscribe(f"mkr/v1/{device}/req/#")

    await other_worker.publish(f"mkr/v1/{device}/req/a", b"{}")
    await other_worker.publish(f"mkr/v1/{device}/req/b", b"{}")
    received = [(await next_message(link)).topic for _ in range(2)]

    assert received == [f"mkr/v1/{device}/req/a", f"mkr/v1/{device}/req/b"]


async def test_a_subscription_outside_the_accounts_rights_is_refused_and_the_link_stays(
    link: Link,
) -> None:
    with pytest.raises(Refused) as refused:
        await link.subscribe("mkr/#")

    assert refused.value.reason == NOT_AUTHORIZED
    await link.subscribe("mkr/v1/+/status")


async def test_a_publish_outside_the_accounts_rights_is_refused(link: Link) -> None:
    with pytest.raises(Refused) as refused:
        await link.publish("elsewhere/x", b"{}")

    assert refused.value.reason == NOT_AUTHORIZED


async def test_the_brokers_receive_maximum_is_the_generated_configs(link: Link) -> None:
    assert link.receive_maximum == 100


async def test_a_wrong_password_is_a_lost_link_naming_the_refusal(
    broker_settings: Settings, address: BrokerAddress
) -> None:
    wrong = Login(handler_login(broker_settings, 1).username, "not-the-password")

    with pytest.raises(LinkLost, match="refused the login of makerbus-handlers-1"):
        await Link.open(address, wrong)


async def test_no_broker_listening_is_a_lost_link(broker_settings: Settings) -> None:
    with pytest.raises(LinkLost, match="cannot connect"):
        await Link.open(BrokerAddress("127.0.0.1", free_port()), handler_login(broker_settings, 1))


async def test_a_broker_that_goes_away_ends_the_messages_and_publishes_with_link_lost(
    broker_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    init_local(
        tmp_path, port, accounts_from(broker_settings.model_copy(update={"mqtt_port": port}))
    )
    broker = LocalBroker(tmp_path, port)
    broker.start()
    async with connect(BrokerAddress("127.0.0.1", port), handler_login(broker_settings, 1)) as link:
        broker.kill()

        with pytest.raises(LinkLost):
            await next_message(link)
        with pytest.raises(LinkLost):
            await link.publish("mkr/v1/m1/res/x", b"{}")
