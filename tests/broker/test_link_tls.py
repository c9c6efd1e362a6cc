"""The link over TLS (MAKERBUS_MQTT_CA_FILE): a mosquitto TLS listener with a certificate from a
test CA made by `openssl`; the link trusts that CA and checks the broker's name."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.address import BrokerAddress
from broker.dynsec_file import write_initial
from broker.identities import handler_login
from broker.launcher import LocalBroker, free_port, local_config
from broker.link import Link, LinkLost, connect
from broker.mosquitto_config import Listener, render
from core.settings import Settings
from makerbus.context import accounts_from
from tests.secrets_for_tests import production_settings

pytestmark = pytest.mark.mqtt
NEW_KEY = ("req", "-newkey", "rsa:2048", "-nodes")


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    openssl(*NEW_KEY, "-x509", "-days", "2", "-subj", f"/CN={name}", "-keyout", key, "-out", cert)
    return key, cert


def make_server_cert(directory: Path, ca_key: Path, ca_cert: Path) -> tuple[Path, Path]:
    key, request, cert = (directory / f"server.{ext}" for ext in ("key", "csr", "crt"))
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    openssl(*NEW_KEY, "-subj", "/CN=localhost", "-keyout", key, "-out", request)
    openssl(
        *("x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial"),
        *("-days", "2", "-extfile", extensions, "-out", cert),
    )
    return key, cert


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """A mosquitto with only a TLS listener; the settings and the CA file that trusts it."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl here to make the test certificates")
    directory = tmp_path_factory.mktemp("tls-broker")
    ca_key, ca_cert = make_ca(directory, "test-ca")
    server_key, server_cert = make_server_cert(directory, ca_key, ca_cert)
    settings = production_settings(mqtt_port=free_port(), mqtt_ca_file=ca_cert)
    listener = Listener(
        settings.mqtt_port, "127.0.0.1", str(ca_cert), str(server_cert), str(server_key)
    )
    config = dataclasses.replace(local_config(directory, settings.mqtt_port), listeners=(listener,))
    write_initial(config.dynsec_file, accounts_from(settings))
    (directory / "mosquitto.conf").write_text(render(config))
    with LocalBroker(directory, settings.mqtt_port):
        yield settings, directory


async def test_the_link_logs_in_over_tls_with_the_configured_ca(
    tls_broker: tuple[Settings, Path],
) -> None:
    settings, _ = tls_broker
    address = BrokerAddress(settings.mqtt_host, settings.mqtt_port, settings.mqtt_ca_file)

    async with connect(address, handler_login(settings, 1)) as link:
        await link.subscribe("mkr/v1/+/req/#")
        await link.publish("mkr/v1/m1/req/x", b"{}")
        message = await anext(aiter(link.messages()))

    assert (message.topic, message.payload) == ("mkr/v1/m1/req/x", b"{}")


async def test_a_broker_certificate_from_another_ca_is_a_lost_link(
    tls_broker: tuple[Settings, Path],
) -> None:
    settings, directory = tls_broker
    _, stranger = make_ca(directory, "another-ca")
    address = BrokerAddress(settings.mqtt_host, settings.mqtt_port, stranger)

    with pytest.raises(LinkLost, match="CERTIFICATE_VERIFY_FAILED"):
        await Link.open(address, handler_login(settings, 1))
