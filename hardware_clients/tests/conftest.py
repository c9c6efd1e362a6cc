"""A private mosquitto on free loopback ports and an in-process echo responder.

The responder stands in for the makerbus server: it answers on the response topic (or
``res/<op>``), echoes the correlation data, and changes its behaviour by op:

    test/echo        {"id": ..., "ok": true, "echo": <the request's other fields>}
    test/drop-first  ignores the first copy of every request id, then echoes
    test/silent      never answers
    test/fail        {"ok": false, "error": "insufficient_funds", ...}
    test/null-id     {"id": null, "ok": false, "error": "bad_request", ...}
    test/delay       echoes after the request's "delay_ms"
    test/limited-first  answers the first copy of every request id with `rate_limited` and
                     the request's "retry_after_ms", then echoes
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from makerbus_device import DeviceClient
from makerbus_device.contract import DEFAULT_PREFIX

PREFIX = DEFAULT_PREFIX
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
MOSQUITTO_CTRL = shutil.which("mosquitto_ctrl") or "/usr/bin/mosquitto_ctrl"
DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"


def require(*paths: str) -> None:
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian package mosquitto)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch_mosquitto(workdir: Path, port: int, settings: list[str]) -> subprocess.Popen[bytes]:
    """Start mosquitto with these config lines and wait until it accepts connections."""
    # Started as root, mosquitto would drop to user mosquitto and then fail to open its files.
    lines = ["user root"] if os.geteuid() == 0 else []
    lines += [
        "set_tcp_nodelay true",
        "persistence false",
        f"log_dest file {workdir / 'mosquitto.log'}",
        *settings,
    ]
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"mosquitto did not start; see {workdir}") from None
            time.sleep(0.05)


def stop_mosquitto(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Broker:
    """A mosquitto with an anonymous listener (``port``) and a password one (``auth_port``)."""

    AUTH_USER: ClassVar[str] = "auth-device"
    AUTH_PASSWORD: ClassVar[str] = "right-password"  # noqa: S105 - a throwaway test account

    workdir: Path
    port: int = field(default_factory=free_port)
    auth_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        passwd = self.workdir / "passwd"
        subprocess.run(
            [MOSQUITTO_PASSWD, "-c", "-b", str(passwd), self.AUTH_USER, self.AUTH_PASSWORD],
            check=True,
        )
        self.process = launch_mosquitto(
            self.workdir,
            self.port,
            [
                "per_listener_settings true",
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                f"listener {self.auth_port} 127.0.0.1",
                "allow_anonymous false",
                f"password_file {passwd}",
            ],
        )

    def stop(self) -> None:
        stop_mosquitto(self.process)
        self.process = None


@dataclass
class DynsecBroker:
    """A mosquitto with the dynamic security plugin and per-device roles, as in production."""

    ADMIN: ClassVar[str] = "admin"
    ADMIN_PASSWORD: ClassVar[str] = "admin-password"  # noqa: S105 - a throwaway test account

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self.workdir / "dynsec.json"
        subprocess.run(
            [MOSQUITTO_CTRL, "dynsec", "init", str(config), self.ADMIN, self.ADMIN_PASSWORD],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.process = launch_mosquitto(
            self.workdir,
            self.port,
            [
                "per_listener_settings false",
                "allow_anonymous false",
                f"listener {self.port} 127.0.0.1",
                f"plugin {DYNSEC_PLUGIN}",
                f"plugin_opt_config_file {config}",
            ],
        )

    def stop(self) -> None:
        stop_mosquitto(self.process)
        self.process = None

    def ctrl(self, *command: str) -> None:
        login = [
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-u",
            self.ADMIN,
            "-P",
            self.ADMIN_PASSWORD,
        ]
        subprocess.run(
            [MOSQUITTO_CTRL, *login, "dynsec", *command], check=True, capture_output=True
        )

    def add_device(
        self, slug: str, password: str, *, acl: tuple[str, ...] = ("req", "sub")
    ) -> None:
        """Create a device bound to its client id; ``acl`` picks publishing and/or subscribing."""
        self.ctrl("createClient", slug, "-c", slug, "-p", password)
        role = f"device-{slug}"
        self.ctrl("createRole", role)
        grants = {
            "req": [("publishClientSend", "req/#"), ("publishClientSend", "status")],
            "sub": [("subscribePattern", "res/#"), ("subscribePattern", "cmd/#")],
        }
        for part in acl:
            for acl_type, topic in grants[part]:
                self.ctrl("addRoleACL", role, acl_type, f"{PREFIX}/{slug}/{topic}", "allow")
        self.ctrl("addClientRole", slug, role)


@dataclass
class Seen:
    """One request as the responder received it."""

    topic: str
    body: dict[str, Any]
    response_topic: str | None
    correlation: bytes | None
    at: float = field(default_factory=time.monotonic)


class EchoResponder:
    """A stand-in server on MQTT 5 (see the module docstring for its ops)."""

    def __init__(self, port: int) -> None:
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._ids: set[tuple[str, str]] = set()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="echo-responder", protocol=mqtt.MQTTv5
        )
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        sock = self._client.socket()
        assert isinstance(sock, socket.socket)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.subscribe(f"{PREFIX}/+/req/#", qos=1)
        self._client.loop_start()
        assert subscribed.wait(5)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def seen(self, slug: str) -> list[Seen]:
        with self._lock:
            return [s for s in self._seen if s.topic.startswith(f"{PREFIX}/{slug}/")]

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        slug, _, op = msg.topic.removeprefix(f"{PREFIX}/").split("/", 2)
        body = json.loads(msg.payload)
        props = msg.properties
        seen = Seen(
            msg.topic,
            body,
            getattr(props, "ResponseTopic", None),
            getattr(props, "CorrelationData", None),
        )
        with self._lock:
            self._seen.append(seen)
            first_copy = (slug, body["id"]) not in self._ids
            self._ids.add((slug, body["id"]))
        if op == "test/silent" or (op == "test/drop-first" and first_copy):
            return
        fields = {k: v for k, v in body.items() if k != "id"}
        answer: dict[str, Any] = {"id": body["id"], "ok": True, "echo": fields}
        if op == "test/fail":
            answer = {"id": body["id"], "ok": False, "error": "insufficient_funds", "message": "no"}
        elif op == "test/null-id":
            answer = {"id": None, "ok": False, "error": "bad_request", "message": "unreadable"}
        elif op == "test/limited-first" and first_copy:
            answer = {
                "id": body["id"],
                "ok": False,
                "error": "rate_limited",
                "message": "slow down",
                "retry_after_ms": fields["retry_after_ms"],
            }
        own_res = f"{PREFIX}/{slug}/res/"
        topic = seen.response_topic or ""
        if not topic.startswith(own_res):
            topic = own_res + op
        reply = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if seen.correlation is not None:
            reply.CorrelationData = seen.correlation
        payload = json.dumps(answer)
        if op == "test/delay":
            delay = fields["delay_ms"] / 1000
            threading.Timer(delay, client.publish, (topic, payload, 1, False, reply)).start()
        else:
            client.publish(topic, payload, qos=1, properties=reply)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    require(MOSQUITTO, MOSQUITTO_PASSWD)
    broker = Broker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def dynsec_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynsecBroker]:
    require(MOSQUITTO, MOSQUITTO_CTRL, DYNSEC_PLUGIN)
    broker = DynsecBroker(tmp_path_factory.mktemp("mosquitto-dynsec"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def responder(broker: Broker) -> Iterator[EchoResponder]:
    responder = EchoResponder(broker.port)
    yield responder
    responder.close()


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[[], Broker]]:
    """Start private brokers (for tests that stop one); all are stopped after the test."""
    brokers: list[Broker] = []

    def make() -> Broker:
        require(MOSQUITTO, MOSQUITTO_PASSWD)
        broker = Broker(tmp_path / f"broker-{len(brokers)}")
        broker.workdir.mkdir()
        brokers.append(broker)
        broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def make_responder() -> Iterator[Callable[[int], EchoResponder]]:
    responders: list[EchoResponder] = []

    def make(port: int) -> EchoResponder:
        responders.append(EchoResponder(port))
        return responders[-1]

    yield make
    for responder in responders:
        responder.close()


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
def slug() -> str:
    """A fresh device slug, so retained status from other tests never interferes."""
    return f"dev-{uuid.uuid4().hex[:10]}"


MakeDevice = Callable[..., DeviceClient]


@pytest.fixture
def make_device(broker: Broker, slug: str) -> Iterator[MakeDevice]:
    """Build devices (connected unless connect=False); all are closed after the test."""
    devices: list[DeviceClient] = []

    def make(
        username: str = slug, *, port: int | None = None, connect: bool = True, **kwargs: Any
    ) -> DeviceClient:
        device = DeviceClient("127.0.0.1", port or broker.port, username, "unused", **kwargs)
        devices.append(device)
        if connect:
            device.connect(timeout=5)
        return device

    yield make
    for device in devices:
        device.close()


@pytest.fixture
def device(make_device: MakeDevice, responder: EchoResponder) -> DeviceClient:
    """A connected MQTT 5 device with the echo responder listening."""
    return make_device()


@pytest.fixture
def watcher(make_device: MakeDevice) -> DeviceClient:
    """A second client for looking at the device's topics from outside."""
    return make_device(f"watch-{uuid.uuid4().hex[:8]}")
