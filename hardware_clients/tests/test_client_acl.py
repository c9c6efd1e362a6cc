"""DeviceClient against mosquitto's dynamic security plugin: ACL denials, disable and enable."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from support import wait_until

from makerbus_device import ConnectRefused, DeviceClient, DeviceError, RequestTimeout
from makerbus_device.contract import DEFAULT_PREFIX as PREFIX

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import DynsecBroker

pytestmark = pytest.mark.mqtt

PASSWORD = "device-password"  # noqa: S105 - a throwaway test account


MakeProvisioned = Callable[..., DeviceClient]


@pytest.fixture
def make_provisioned(dynsec_broker: DynsecBroker, slug: str) -> Iterator[MakeProvisioned]:
    """Provision ``slug`` (with the given ACL parts) and build clients for it."""
    devices: list[DeviceClient] = []

    def make(
        *, acl: tuple[str, ...] = ("req", "sub"), connect: bool = True, mqtt_version: int = 5
    ) -> DeviceClient:
        if not devices:
            dynsec_broker.add_device(slug, PASSWORD, acl=acl)
        device = DeviceClient(
            "127.0.0.1", dynsec_broker.port, slug, PASSWORD, mqtt_version=mqtt_version
        )
        devices.append(device)
        if connect:
            device.connect(timeout=5)
        return device

    yield make
    for device in devices:
        device.close()


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_provisioned_device_connects(make_provisioned: MakeProvisioned, mqtt_version: int) -> None:
    device = make_provisioned(mqtt_version=mqtt_version)

    assert device.connected


def test_denied_v5_request_fails_at_once_with_the_puback_reason(
    make_provisioned: MakeProvisioned,
) -> None:
    device = make_provisioned(acl=("sub",))
    started = time.monotonic()

    with pytest.raises(DeviceError, match="Not authorized"):
        device.request("card/identify", card="04A1B2C3", timeout=2)

    assert time.monotonic() - started < 1


def test_denied_v3_request_times_out(make_provisioned: MakeProvisioned) -> None:
    device = make_provisioned(acl=("sub",), mqtt_version=3)

    with pytest.raises(RequestTimeout):
        device.request("card/identify", card="04A1B2C3", timeout=0.2, retries=0)


@pytest.mark.parametrize(("mqtt_version", "denied"), [(5, 0x87), (3, 0x80)])
def test_subscribe_raw_reports_a_denied_subscription(
    make_provisioned: MakeProvisioned, mqtt_version: int, denied: int
) -> None:
    device = make_provisioned(mqtt_version=mqtt_version)

    assert device.subscribe_raw(f"{PREFIX}/someone-else/res/#") == [denied]


def test_publish_raw_reports_a_denied_v5_publish(make_provisioned: MakeProvisioned) -> None:
    device = make_provisioned()

    assert device.publish_raw(f"{PREFIX}/someone-else/req/card/identify", b"{}") == 0x87


def test_refused_subscriptions_make_connect_raise(make_provisioned: MakeProvisioned) -> None:
    device = make_provisioned(acl=("req",), connect=False)

    with pytest.raises(DeviceError, match="refused the subscriptions"):
        device.connect(timeout=5)

    assert not device.connected


def test_disabled_device_sees_administrative_action(
    make_provisioned: MakeProvisioned, dynsec_broker: DynsecBroker, slug: str
) -> None:
    device = make_provisioned()

    dynsec_broker.ctrl("disableClient", slug)

    assert wait_until(lambda: device.disconnect_reason is not None, timeout=5)
    assert device.disconnect_reason == "Administrative action"


def test_disabled_device_cannot_connect(
    make_provisioned: MakeProvisioned, dynsec_broker: DynsecBroker, slug: str
) -> None:
    device = make_provisioned(connect=False)
    dynsec_broker.ctrl("disableClient", slug)

    with pytest.raises(ConnectRefused) as raised:
        device.connect(timeout=5)

    assert raised.value.reason == "Not authorized"


def test_re_enabled_device_reconnects_on_its_own(
    make_provisioned: MakeProvisioned, dynsec_broker: DynsecBroker, slug: str
) -> None:
    device = make_provisioned()
    dynsec_broker.ctrl("disableClient", slug)
    assert wait_until(lambda: not device.connected, timeout=5)

    dynsec_broker.ctrl("enableClient", slug)

    assert wait_until(lambda: device.connected, timeout=20)
