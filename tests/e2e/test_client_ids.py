"""No account may connect with another account's client id: mosquitto would drop the other
connection (a device, a worker), whoever connects."""

from __future__ import annotations

import aiomqtt
import pytest

from broker.identities import Login, admin_login, handler_login, monitor_login
from broker.mqtt import BrokerAddress, client
from core.settings import Settings
from tests.e2e.stack import Stack, run_async

SERVICES = {
    # A slot no running worker uses: connecting would take over its connection.
    "handler": lambda settings: handler_login(settings, settings.broker_handler_slots),
    "monitor": monitor_login,
    "admin": admin_login,
}


def _connect(stack: Stack, login: Login, client_id: str) -> None:
    async def go() -> None:
        address = BrokerAddress("127.0.0.1", stack.settings.mqtt_port)
        async with client(
            address, username=login.username, password=login.password, identifier=client_id
        ):
            pass

    run_async(go())


def _login(service: str, settings: Settings) -> Login:
    return SERVICES[service](settings)


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_account_with_a_device_client_id_is_refused(stack: Stack, service: str) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)

    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        _connect(stack, _login(service, stack.settings), credentials.username)

    assert refused.value.rc == 135  # CONNACK "Not authorized"
    assert device.connected
    assert device.request("device/config").ok


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_account_connects_with_its_own_client_id_only(stack: Stack, service: str) -> None:
    login = _login(service, stack.settings)

    _connect(stack, login, login.client_id)
    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        _connect(stack, login, f"{login.client_id}-x")

    assert refused.value.rc == 135
