"""No account may connect with another account's client id: mosquitto would drop the other
connection (a device, a worker), whoever connects."""

from __future__ import annotations

import aiomqtt
import pytest

from broker.identities import Login, admin_login, handler_login, monitor_login
from core.settings import Settings
from tests.e2e.stack import Stack

SERVICES = {
    # A slot no running worker uses: connecting would take over its connection.
    "handler": lambda settings: handler_login(settings, settings.broker_handler_slots),
    "monitor": monitor_login,
    "admin": admin_login,
}


def _login(service: str, settings: Settings) -> Login:
    return SERVICES[service](settings)


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_account_with_a_device_client_id_is_refused(stack: Stack, service: str) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)

    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        stack.connect_as(_login(service, stack.settings), credentials.username)

    assert refused.value.rc == 135  # CONNACK "Not authorized"
    assert device.connected
    assert device.request("device/config").ok


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_account_connects_with_its_own_client_id_only(stack: Stack, service: str) -> None:
    login = _login(service, stack.settings)

    stack.connect_as(login, login.client_id)
    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        stack.connect_as(login, f"{login.client_id}-x")

    assert refused.value.rc == 135
