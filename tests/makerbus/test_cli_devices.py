"""`makerbus device list` and `makerbus broker config`: what the operator reads (the commands
that talk to the broker are run against a real one in tests/e2e)."""

from __future__ import annotations

import json

from core.formats import DeviceKind
from tests.factories import make_device
from tests.makerbus.conftest import InDatabase, Makerbus


def test_device_list_shows_a_device_never_seen(makerbus: Makerbus, in_database: InDatabase) -> None:
    device = in_database(lambda db: make_device(db, kind=DeviceKind.CHECKOUT))

    text = makerbus("device", "list").stdout.splitlines()
    as_json = json.loads(makerbus("device", "list", "--json").stdout)

    assert text[0] == f"{'SLUG':<24} {'KIND':<9} {'ENABLED':<8} {'LAST SEEN':<21} NAME"
    assert f"{device.slug:<24} {'checkout':<9} {'yes':<8} {'never':<21} {device.name}" in text
    assert {
        "slug": device.slug,
        "kind": "checkout",
        "name": device.name,
        "enabled": True,
        "last_seen": None,
    } in as_json


def test_broker_config_prints_only_the_container_config(makerbus: Makerbus) -> None:
    done = makerbus("broker", "config")

    assert done.exit_code == 2
    assert done.stderr.endswith(
        "Error: only --container is printed; `broker init` writes a local one\n"
    )
