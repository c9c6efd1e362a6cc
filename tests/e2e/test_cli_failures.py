"""The command line fails with one clear line, never a traceback or a default secret."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


@pytest.mark.parametrize(
    "args",
    [
        ("member", "add", "--name", "Eve\u202egnp.exe"),
        ("device", "add", "lathe-9", "--kind", "machine", "--name", "Lathe\u200b"),
        (
            "product",
            "add",
            "4000000000024",
            "--name",
            "Mate",
            "--price-cents",
            "1",
            "--category",
            "\ufeffDrinks",
        ),
        (
            "rental",
            "add",
            "E2801160600002054F3A1B7D",
            "--name",
            "Drill",
            "--description",
            "a\u2066b",
        ),
    ],
    ids=["member-name", "device-name", "product-category", "rental-description"],
)
def test_a_name_with_invisible_characters_is_refused_naming_the_option(
    stack: Stack, args: tuple[str, ...]
) -> None:
    result = _makerbus(stack.env(), *args)

    assert result.returncode == 2
    assert "must not contain control or invisible formatting characters" in result.stderr
    assert f"'--{args[-2].removeprefix('--')}'" in result.stderr
