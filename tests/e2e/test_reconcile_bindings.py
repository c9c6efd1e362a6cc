"""Reconcile binds every account to its own client id, kicking only what it must change."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from broker import accounts
from broker.acl import (
    ADMIN_ROLE,
    HANDLER_ROLE,
    MONITOR_ROLE,
    admin_acls,
    handler_acls,
    monitor_acls,
)
from broker.dynsec_file import Account, initial_document
from broker.identities import Login, admin_login, handler_logins, monitor_logins
from broker.topics import Topics
from core.settings import Settings
from tests.e2e.stack import PASSWORDS, Stack, run_async
from tests.factories import unique_slug


def _old_document(settings: Settings) -> dict[str, object]:
    """dynsec.json as makerbus wrote it before slots: one shared account per service, none of
    them bound to a client id."""
    topics = Topics(settings.topic_prefix)
    old = (
        Account("makerbus-admin", PASSWORDS["broker_admin_password"], ADMIN_ROLE, admin_acls()),
        Account(
            "makerbus-handlers",
            PASSWORDS["broker_handler_password"],
            HANDLER_ROLE,
            handler_acls(topics, settings.share_group),
        ),
        Account(
            "makerbus-monitor",
            PASSWORDS["broker_monitor_password"],
            MONITOR_ROLE,
            monitor_acls(topics),
        ),
    )
    document = initial_document(old)
    for entry in document["clients"]:  # type: ignore[attr-defined]
        del entry["clientid"]
    return document


@pytest.fixture
def old_stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    """A broker holding an old deployment's accounts, no handler running yet."""
    running = Stack.create(database_url, tmp_path, workers=0)
    running.broker.stop()
    dynsec = running.settings.broker_data_dir / "dynsec.json"
    dynsec.write_text(json.dumps(_old_document(running.settings)))
    running.broker.start()
    yield running
    running.stop()


def _broker_clients(stack: Stack) -> dict[str, accounts.BrokerClient]:
    async def go() -> dict[str, accounts.BrokerClient]:
        async with stack.admin() as admin:
            return await accounts.list_clients(admin)

    return run_async(go())


def test_reconcile_binds_an_old_deployment_with_shared_unbound_accounts(
    old_stack: Stack,
) -> None:
    stack = old_stack
    credentials = stack.provision()
    device = stack.device(credentials)
    old_monitor = Login("makerbus-monitor", PASSWORDS["broker_monitor_password"])
    stack.connect_as(old_monitor, "anything-goes")  # the hole this closes

    result = stack.cli("broker", "reconcile")

    assert "old service accounts bound to their own name" in result.stdout
    assert "makerbus-handlers-1" in result.stdout
    assert device.connected, "reconcile dropped a device it had no need to change"
    clients = _broker_clients(stack)
    assert all(current.bound for current in clients.values()), clients
    settings = stack.settings
    logins = (
        admin_login(settings),
        old_monitor,
        Login("makerbus-handlers", PASSWORDS["broker_handler_password"]),
        *handler_logins(settings),
        *monitor_logins(settings),
    )
    for login in logins:
        with pytest.raises(aiomqtt.MqttCodeError):
            stack.connect_as(login, credentials.username)
    assert device.connected
    stack.start_handlers()
    assert device.request("device/config").ok
    assert "The broker matches the database." in stack.cli("broker", "reconcile").stdout


def test_reconcile_adding_handler_slots_leaves_running_workers_connected(
    own_stack: Stack,
) -> None:
    stack = own_stack
    device = stack.device(stack.provision())
    logged = len(stack.handler_log.read_text())

    result = stack.cli("broker", "reconcile", env={"MAKERBUS_BROKER_HANDLER_SLOTS": "10"})

    assert "makerbus-handlers-10" in result.stdout
    assert device.request("device/config").ok
    assert "connection lost" not in stack.handler_log.read_text()[logged:]


def test_admin_sessions_at_the_same_time_take_turns(stack: Stack) -> None:
    slugs = [unique_slug("turns") for _ in range(4)]
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "makerbus", "device", "add", slug, "--kind", "machine"],
            env=stack.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for slug in slugs
    ]

    outcomes = [command.communicate(timeout=120) for command in commands]

    assert [command.returncode for command in commands] == [0] * len(slugs), outcomes


def test_reconcile_warns_about_an_unbound_account_it_did_not_make(stack: Stack) -> None:
    slug = unique_slug("by-hand")

    async def create_by_hand() -> None:
        async with stack.admin() as admin:
            await admin.run(
                {"command": "createClient", "username": slug, "password": "by-hand-secret-1"}
            )

    run_async(create_by_hand())

    result = stack.cli("broker", "reconcile")

    assert "may connect with any client id" in result.stdout
    assert slug in result.stdout
    stack.connect_as(Login(slug, "by-hand-secret-1"), "its-own-choice")  # left as it was


def test_reconcile_refuses_a_service_account_name_that_is_a_device(stack: Stack) -> None:
    monitors = unique_slug("cam")
    device = stack.provision(slug=f"{monitors}-1")  # what monitor slot 1 would be called

    result = stack.cli(
        "broker", "reconcile", check=False, env={"MAKERBUS_BROKER_MONITOR_USERNAME": monitors}
    )

    assert result.returncode == 1
    assert f"{device.username!r} is a device" in result.stderr
    assert stack.device(device).request("device/config").ok
