"""A device can only act as itself; operators control its account with the CLI."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest
from makerbus_device import ConnectRefused, DeviceClient
from paho.mqtt.reasoncodes import ReasonCode

from broker.address import BrokerAddress
from broker.identities import monitor_logins
from broker.mqtt import client as mqtt_client
from broker.provisioning import Credentials
from tests.e2e.stack import Stack, disconnected
from tests.factories import unique_slug

V5_NOT_AUTHORIZED = 0x87
V3_SUBSCRIBE_FAILURE = 0x80


def _only_answer_is_its_own(device: DeviceClient, slug: str) -> None:
    """A device's requests are answered in order: once its own request is answered, an answer
    caused by a forged request would have arrived before it."""
    assert device.request("device/config", request_id="barrier-1").ok
    with pytest.raises(TimeoutError):
        device.wait_for_message(f"mkr/v1/{slug}/res/#", 0.0)


def test_device_cannot_publish_on_another_devices_request_topic(stack: Stack) -> None:
    a = stack.device(stack.provision())
    b_credentials = stack.provision()
    b = stack.device(b_credentials)
    forged = f"mkr/v1/{b_credentials.username}/req/device/config"

    code = a.publish_raw(forged, b'{"id": "forged-1"}')

    assert code == V5_NOT_AUTHORIZED
    _only_answer_is_its_own(b, b_credentials.username)


def test_v3_device_publishing_for_another_device_is_dropped(stack: Stack) -> None:
    a = stack.device(stack.provision(), mqtt_version=3)
    b_credentials = stack.provision()
    b = stack.device(b_credentials)

    a.publish_raw(f"mkr/v1/{b_credentials.username}/req/device/config", b'{"id": "forged-2"}')

    _only_answer_is_its_own(b, b_credentials.username)


@pytest.mark.parametrize(
    ("mqtt_version", "refused"), [(5, V5_NOT_AUTHORIZED), (3, V3_SUBSCRIBE_FAILURE)]
)
def test_device_cannot_subscribe_to_another_devices_answers(
    stack: Stack, mqtt_version: int, refused: int
) -> None:
    a = stack.device(stack.provision(), mqtt_version=mqtt_version)
    victim = stack.provision().username

    assert a.subscribe_raw(f"mkr/v1/{victim}/res/#") == [refused]
    assert a.subscribe_raw("mkr/#") == [refused]


def test_wrong_password_is_refused(stack: Stack) -> None:
    credentials = stack.provision()

    with pytest.raises(ConnectRefused):
        stack.device(credentials, password="not-the-password")


def test_a_device_cannot_borrow_another_devices_client_id(stack: Stack) -> None:
    a = stack.provision()
    b = stack.provision()
    impostor = Credentials(b.username, a.password, a.host, a.port)

    with pytest.raises(ConnectRefused):
        stack.device(impostor)


def test_the_monitor_account_reads_the_traffic_and_can_neither_act_nor_see_the_admins(
    stack: Stack,
) -> None:
    """What the live view connects with: every makerbus topic to read, nothing to publish, and
    not the dynamic-security topic where passwords travel."""
    device_login = stack.provision()
    device = stack.device(device_login)
    # The last slot: the first is the live view's of the tests' API processes.
    monitor = monitor_logins(stack.settings)[-1]
    forged = f"mkr/v1/{device_login.username}/req/device/config"

    async def try_it() -> tuple[list[int], list[int]]:
        address = BrokerAddress(stack.settings.mqtt_host, stack.settings.mqtt_port)
        async with mqtt_client(
            address,
            username=monitor.username,
            password=monitor.password,
            identifier=monitor.client_id,
        ) as mqtt:
            traffic = await mqtt.subscribe("mkr/v1/#", qos=1)
            control = await mqtt.subscribe("$CONTROL/dynamic-security/#", qos=1)
            await mqtt.publish(forged, b'{"id": "forged-by-monitor"}', qos=1)
        return [_code(code) for code in traffic], [_code(code) for code in control]

    traffic, control = asyncio.run(try_it())

    assert traffic == [1]
    assert control == [V5_NOT_AUTHORIZED]
    _only_answer_is_its_own(device, device_login.username)


def _code(code: int | ReasonCode) -> int:
    return code.value if isinstance(code, ReasonCode) else code


def test_cli_add_prints_working_credentials_once_as_json(stack: Stack) -> None:
    result = stack.cli("device", "add", "till-7", "--kind", "checkout", "--name", "Till", "--json")
    printed = json.loads(result.stdout)

    device = stack.device(Credentials(**printed))

    assert set(printed) == {"username", "password", "host", "port"}
    assert len(printed["password"]) >= 22  # 128 random bits
    assert device.request("device/config")["kind"] == "checkout"
    listed = json.loads(stack.cli("device", "list", "--json").stdout)
    assert printed["password"] not in json.dumps(listed)


def test_cli_add_refuses_a_taken_slug(stack: Stack) -> None:
    slug = stack.provision().username

    result = stack.cli("device", "add", slug, "--kind", "machine", check=False)

    assert result.returncode != 0
    assert "exists already" in result.stderr


def test_disabled_device_is_disconnected_and_refused_until_enabled(stack: Stack) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)

    stack.cli("device", "disable", credentials.username)

    assert disconnected(device)
    with pytest.raises(ConnectRefused):
        stack.device(credentials)
    stack.cli("device", "enable", credentials.username)
    assert stack.device(credentials).request("device/config").ok


def test_disabled_device_is_listed_as_disabled(stack: Stack) -> None:
    slug = stack.provision().username

    stack.cli("device", "disable", slug)

    listed = {row["slug"]: row for row in json.loads(stack.cli("device", "list", "--json").stdout)}
    assert listed[slug]["enabled"] is False


def test_rotation_invalidates_the_old_password(stack: Stack) -> None:
    old = stack.provision()
    device = stack.device(old)

    new = Credentials(**json.loads(stack.cli("device", "rotate", old.username, "--json").stdout))

    assert disconnected(device)
    assert new.password != old.password
    with pytest.raises(ConnectRefused):
        stack.device(old)
    assert stack.device(new).request("device/config").ok


def test_removal_removes_the_account(stack: Stack) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)

    stack.cli("device", "remove", credentials.username, "--yes")

    assert disconnected(device)
    with pytest.raises(ConnectRefused):
        stack.device(credentials)
    listed = json.loads(stack.cli("device", "list", "--json").stdout)
    assert credentials.username not in {row["slug"] for row in listed}


def test_provisioning_never_takes_over_a_broker_account_that_is_not_a_device(
    stack: Stack,
) -> None:
    """An account someone made by hand (or a renamed service account) keeps its password."""
    slug = unique_slug("homeassistant")

    async def create_by_hand() -> None:
        async with stack.admin() as admin:
            await admin.run(
                {"command": "createClient", "username": slug, "password": "by-hand-secret-1"}
            )

    async def logs_in() -> bool:
        try:
            async with aiomqtt.Client(
                "127.0.0.1", stack.settings.mqtt_port, username=slug, password="by-hand-secret-1"
            ):
                return True
        except aiomqtt.MqttError:
            return False

    asyncio.run(create_by_hand())
    refused = stack.cli("device", "add", slug, "--kind", "machine", check=False)

    assert refused.returncode != 0
    assert "not a device" in refused.stderr
    assert asyncio.run(logs_in())
