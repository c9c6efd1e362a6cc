"""The database is the list of record: reconcile makes the broker's accounts follow it."""

from __future__ import annotations

import json

import pytest
from makerbus_device import ConnectRefused
from sqlalchemy import delete

from broker.provisioning import Credentials
from core import devices
from core.billing import Tariff
from core.clock import SystemClock
from core.formats import DeviceKind
from core.models import Device
from makerbus.context import database
from tests.e2e.stack import Stack, run_async
from tests.factories import TESTER, unique_slug


def test_broker_account_without_a_database_row_is_removed(stack: Stack) -> None:
    credentials = stack.provision()

    async def forget() -> None:
        async with database(stack.settings) as db:
            await db.execute(delete(Device).where(Device.slug == credentials.username))

    run_async(forget())
    result = stack.cli("broker", "reconcile")

    assert credentials.username in result.stdout
    with pytest.raises(ConnectRefused):
        stack.device(credentials)


def test_database_device_without_an_account_gets_one_that_needs_rotation(stack: Stack) -> None:
    slug = unique_slug("restored")

    async def register() -> None:
        async with database(stack.settings) as db:
            await devices.create(
                db,
                slug=slug,
                kind=DeviceKind.RENTAL,
                name="restored",
                now=SystemClock().now(),
                actor=TESTER,
            )

    run_async(register())
    result = stack.cli("broker", "reconcile")
    rotated = Credentials(**json.loads(stack.cli("device", "rotate", slug, "--json").stdout))

    assert "makerbus device rotate" in result.stdout
    assert slug in result.stdout
    assert stack.device(rotated).request("device/config")["kind"] == "rental"


def test_reconcile_of_a_matching_broker_changes_nothing(stack: Stack) -> None:
    stack.cli("broker", "reconcile")

    assert "The broker matches the database." in stack.cli("broker", "reconcile").stdout


def _admin_run(stack: Stack, *commands: dict[str, object]) -> None:
    async def go() -> None:
        async with stack.admin() as admin:
            await admin.run(*commands)

    run_async(go())


def test_reconcile_gives_a_device_back_its_role_and_client_id_binding(stack: Stack) -> None:
    unroled, unbound = stack.provision(), stack.provision()
    _admin_run(
        stack,
        {
            "command": "removeClientRole",
            "username": unroled.username,
            "rolename": f"makerbus-device-{unroled.username}",
        },
        {"command": "setClientId", "username": unbound.username, "clientid": ""},
    )

    result = stack.cli("broker", "reconcile")

    assert "device roles repaired" in result.stdout
    assert stack.device(unroled).request("device/config").ok
    assert stack.device(unbound).request("device/config").ok
    assert "matches" in stack.cli("broker", "reconcile").stdout


def test_reconcile_repairs_its_own_admin_role_last(own_stack: Stack) -> None:
    async def break_admin_role() -> None:
        async with own_stack.admin() as admin:
            await admin.run_last(
                {
                    "command": "removeRoleACL",
                    "rolename": "makerbus-admin",
                    "acltype": "subscribePattern",
                    "topic": "$SYS/#",
                }
            )

    run_async(break_admin_role())

    first = own_stack.cli("broker", "reconcile")
    second = own_stack.cli("broker", "reconcile")

    assert "makerbus-admin" in first.stdout
    assert "The broker matches the database." in second.stdout


def test_device_add_replaces_a_leftover_account(stack: Stack) -> None:
    slug = unique_slug("leftover")
    _admin_run(
        stack,
        {
            "command": "createClient",
            "username": slug,
            "password": "x" * 24,
            "groups": [{"groupname": "makerbus-devices"}],
        },
    )

    printed = json.loads(stack.cli("device", "add", slug, "--kind", "machine", "--json").stdout)

    assert stack.device(Credentials(**printed)).request("device/config").ok


def test_a_machine_with_sessions_cannot_be_removed_only_disabled(stack: Stack) -> None:
    machine = stack.machine(Tariff(0, 0, 60))
    member = stack.add_member()
    stack.authorize(machine, member)
    stack.device(machine).request("session/start", card=member.card_uid)

    result = stack.cli("device", "remove", machine.username, "--yes", check=False)

    assert result.returncode == 1
    assert "disable it instead" in result.stderr
    assert "Traceback" not in result.stderr
