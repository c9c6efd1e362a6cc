"""The database is the list of record: reconcile makes the broker's accounts follow it."""

from __future__ import annotations

import json

import pytest
from makerbus_device import ConnectRefused
from sqlalchemy import delete

from broker.provisioning import Credentials
from core import devices
from core.clock import SystemClock
from core.models import Device, DeviceKind
from makerbus.context import database
from tests.e2e.stack import Stack, run_async
from tests.factories import unique_slug


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
                db, slug=slug, kind=DeviceKind.RENTAL, name="restored", now=SystemClock().now()
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
