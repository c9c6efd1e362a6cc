"""Which account and client id each process uses; slots outside the pool are refused."""

from __future__ import annotations

import pytest

from broker.identities import SlotError, handler_login, handler_logins, monitor_login
from tests.secrets_for_tests import production_settings


def test_every_login_uses_its_own_username_as_client_id() -> None:
    settings = production_settings(broker_handler_slots=3)

    logins = handler_logins(settings)

    assert [login.client_id for login in logins] == [
        "makerbus-handlers-1",
        "makerbus-handlers-2",
        "makerbus-handlers-3",
    ]
    assert {login.password for login in logins} == {settings.broker_handler_password}


def test_a_slot_beyond_the_pool_is_refused_with_the_setting_to_raise() -> None:
    settings = production_settings(broker_handler_slots=2, monitor_slot=3)

    with pytest.raises(SlotError, match="MAKERBUS_BROKER_HANDLER_SLOTS"):
        handler_login(settings, 3)
    with pytest.raises(SlotError, match="MAKERBUS_BROKER_MONITOR_SLOTS"):
        monitor_login(settings)
