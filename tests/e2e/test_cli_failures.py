"""The command line fails with one clear line, never a traceback or a default secret."""

from __future__ import annotations

import subprocess
import sys

from broker.launcher import free_port
from tests.e2e.stack import Stack


def _makerbus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "makerbus", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_handlers_refuse_to_start_with_the_default_password(stack: Stack) -> None:
    env = stack.env()
    del env["MAKERBUS_BROKER_HANDLER_PASSWORD"]

    result = _makerbus(env, "handlers")

    assert result.returncode != 0
    assert "MAKERBUS_BROKER_HANDLER_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr


def test_device_commands_refuse_the_default_admin_password(stack: Stack) -> None:
    env = stack.env(MAKERBUS_BROKER_ADMIN_PASSWORD="")

    result = _makerbus(env, "device", "add", "nope-1", "--kind", "machine")

    assert result.returncode != 0
    assert "MAKERBUS_BROKER_ADMIN_PASSWORD" in result.stderr


def test_unreachable_broker_is_one_clear_line(stack: Stack) -> None:
    result = _makerbus(stack.env(MAKERBUS_MQTT_PORT=str(free_port())), "broker", "reconcile")

    assert result.returncode == 1
    assert "cannot reach the broker" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_clear_line(stack: Stack) -> None:
    env = stack.env(MAKERBUS_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none")

    result = _makerbus(env, "migrate")

    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr
