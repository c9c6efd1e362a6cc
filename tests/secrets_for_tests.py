"""Settings the tests run with: production mode, with secrets that are not the defaults."""

from __future__ import annotations

from core.settings import Environment, Settings

TEST_SECRETS = {
    "broker_admin_password": "test-admin-" + "x" * 16,
    "broker_handler_password": "test-handler-" + "x" * 16,
    "broker_monitor_password": "test-monitor-" + "x" * 16,
    "session_secret": "test-session-" + "x" * 32,
    "oidc_client_secret": "test-oidc-" + "x" * 16,
}


def production_settings(**values: object) -> Settings:
    """Settings as in production (no default secrets accepted), with the test secrets."""
    return Settings.model_validate({"env": Environment.PRODUCTION, **TEST_SECRETS, **values})
