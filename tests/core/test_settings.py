"""Outside dev mode a process refuses to use a default or empty secret."""

from __future__ import annotations

import pytest

from core.settings import DEV_SECRET, SECRET_FIELDS, Environment, Settings, UnsafeSettingsError

STRONG = {
    "broker_admin_password": "a" * 24,
    "broker_handler_password": "h" * 24,
    "broker_monitor_password": "m" * 24,
    "session_secret": "s" * 32,
    "oidc_client_secret": "o" * 24,
}


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_production_with_default_secrets_refuses_to_use_them() -> None:
    settings = _settings(env=Environment.PRODUCTION)

    with pytest.raises(UnsafeSettingsError, match="MAKERBUS_BROKER_ADMIN_PASSWORD"):
        settings.require_secrets(*SECRET_FIELDS)


@pytest.mark.parametrize("secret", ["", DEV_SECRET])
def test_production_with_one_weak_secret_names_it(secret: str) -> None:
    settings = _settings(
        env=Environment.PRODUCTION, **{**STRONG, "broker_monitor_password": secret}
    )

    with pytest.raises(UnsafeSettingsError, match="MAKERBUS_BROKER_MONITOR_PASSWORD"):
        settings.require_secrets(*SECRET_FIELDS)


def test_a_session_key_shorter_than_256_bits_is_refused() -> None:
    settings = _settings(env=Environment.PRODUCTION, **{**STRONG, "session_secret": "s" * 31})

    with pytest.raises(UnsafeSettingsError, match="MAKERBUS_SESSION_SECRET"):
        settings.require_secrets(*SECRET_FIELDS)


def test_a_process_only_needs_the_secrets_it_uses() -> None:
    settings = _settings(env=Environment.PRODUCTION, broker_handler_password="h" * 24)

    settings.require_secrets("broker_handler_password")


def test_production_with_real_secrets_is_accepted() -> None:
    _settings(env=Environment.PRODUCTION, **STRONG).require_secrets(*SECRET_FIELDS)


def test_dev_mode_accepts_the_published_defaults() -> None:
    _settings(env=Environment.DEV).require_secrets(*SECRET_FIELDS)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAKERBUS_ENV", "dev")
    monkeypatch.setenv("MAKERBUS_MQTT_PORT", "18999")

    assert _settings().mqtt_port == 18999


def test_devices_are_told_the_public_broker_address_when_set() -> None:
    settings = _settings(
        env=Environment.DEV,
        mqtt_host="mosquitto",
        device_mqtt_host="mqtt.example.org",
        device_mqtt_port=8883,
    )

    assert (settings.device_host, settings.device_port) == ("mqtt.example.org", 8883)


def test_technicians_are_the_admin_group_unless_a_group_is_named() -> None:
    default = _settings(admin_group="lab-admins")
    named = _settings(admin_group="lab-admins", technician_group="lab-technicians")

    assert (default.technician_group, named.technician_group) == ("lab-admins", "lab-technicians")
