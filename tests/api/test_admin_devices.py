"""Admin device management over HTTP, against a real mosquitto: the credentials the API hands
out work, and rotating, disabling and removing take effect on the device's live connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from fastapi import FastAPI
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.device_status import MAX_STATUS_BYTES, StatusBoard, parse_status
from broker.launcher import LocalBroker, free_port, init_local
from core import sessions
from core.settings import Settings
from makerbus.context import accounts_from
from tests.api.conftest import Headers, SessionFor
from tests.factories import T0, grant, make_device, make_machine, make_member, unique_slug

pytestmark = pytest.mark.mqtt

DEVICES = "/api/v1/admin/devices"
NOT_AUTHORIZED = 0x87
WAIT_S = 10.0
POLL_S = 0.05
Json = dict[str, Any]


# -- helpers ---------------------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[bool]]) -> bool:
    """Whether `check` comes true within WAIT_S seconds (network events take a moment)."""
    for _ in range(int(WAIT_S / POLL_S)):
        if await check():
            return True
        await asyncio.sleep(POLL_S)
    return await check()


def _status_topic(slug: str) -> str:
    return f"mkr/v1/{slug}/status"


def _device_client(credentials: Json) -> aiomqtt.Client:
    """A device as firmware would connect: its slug as username and client id, a last will."""
    slug = credentials["username"]
    return aiomqtt.Client(
        credentials["host"],
        credentials["port"],
        username=slug,
        password=credentials["password"],
        identifier=slug,
        protocol=aiomqtt.ProtocolVersion.V5,
        will=aiomqtt.Will(_status_topic(slug), b'{"online": false}', qos=1, retain=True),
    )


@asynccontextmanager
async def online_device(
    credentials: Json, fw: str = "test-fw/1.0"
) -> AsyncIterator[aiomqtt.Client]:
    """A connected device that has published its retained online status."""
    async with _device_client(credentials) as device:
        status = json.dumps({"online": True, "fw": fw})
        await device.publish(_status_topic(credentials["username"]), status, qos=1, retain=True)
        yield device


async def dropped(device: aiomqtt.Client) -> bool:
    """Whether the broker closes the device's connection within WAIT_S seconds."""
    try:
        async with asyncio.timeout(WAIT_S):
            async for _ in device.messages:
                pass
    except aiomqtt.MqttError:
        return True
    except TimeoutError:
        return False
    return False


async def refused(credentials: Json) -> bool:
    """Whether the broker refuses the login as not authorized."""
    try:
        async with _device_client(credentials):
            return False
    except aiomqtt.MqttCodeError as error:
        code = error.rc.value if isinstance(error.rc, ReasonCode) else error.rc
        return code == NOT_AUTHORIZED


async def provision(http: httpx.AsyncClient, admin: Headers) -> Json:
    body = {"slug": unique_slug("api-dev"), "kind": "machine"}
    response = await http.post(DEVICES, json=body, headers=admin)
    assert response.status_code == 201, response.text
    provisioned: Json = response.json()
    return provisioned


async def shown(http: httpx.AsyncClient, admin: Headers, slug: str) -> Json:
    response = await http.get(f"{DEVICES}/{slug}", headers=admin)
    assert response.status_code == 200, response.text
    device: Json = response.json()
    return device


def showing(
    http: httpx.AsyncClient, admin: Headers, slug: str, **expected: object
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        device = await shown(http, admin, slug)
        return all(device[key] == value for key, value in expected.items())

    return check


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[StatusBoard]:
    """Run the app's lifespan (the status watcher) and wait until the watcher is subscribed."""
    async with app.router.lifespan_context(app):
        board: StatusBoard = app.state.device_status

        async def connected() -> bool:
            return board.connected

        assert await eventually(connected), "the status watcher did not connect"
        yield board


@pytest.fixture
async def watching(app: FastAPI) -> AsyncIterator[StatusBoard]:
    async with serving(app) as board:
        yield board


# -- provisioning and the live connection -----------------------------------------------------


async def test_provisioned_credentials_connect_and_the_device_is_listed_online(
    client: httpx.AsyncClient, admin: Headers, watching: StatusBoard
) -> None:
    response = await client.post(
        DEVICES,
        json={"slug": unique_slug("lathe"), "kind": "machine", "name": "Lathe"},
        headers=admin,
    )
    provisioned = response.json()
    credentials, slug = provisioned["credentials"], provisioned["device"]["slug"]

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    assert set(credentials) == {"username", "password", "host", "port"}
    assert credentials["username"] == slug
    assert len(credentials["password"]) >= 22  # 128 random bits
    assert provisioned["device"]["online"] is None  # it has never reported
    async with online_device(credentials, fw="lathe-fw/2.1"):
        assert await eventually(showing(client, admin, slug, online=True, fw="lathe-fw/2.1"))
        listed = (await client.get(DEVICES, headers=admin)).json()
    mine = next(device for device in listed if device["slug"] == slug)
    assert mine["name"] == "Lathe"
    assert mine["kind"] == "machine"
    assert mine["enabled"] is True
    assert mine["last_seen_at"] is not None
    assert credentials["password"] not in json.dumps(listed)


async def test_rotation_drops_the_live_connection_and_only_the_new_password_works(
    client: httpx.AsyncClient, admin: Headers, watching: StatusBoard
) -> None:
    provisioned = await provision(client, admin)
    old = provisioned["credentials"]
    slug = old["username"]

    async with online_device(old) as device:
        assert await eventually(showing(client, admin, slug, online=True))
        response = await client.post(f"{DEVICES}/{slug}/rotate", headers=admin)
        assert await dropped(device)
    new = response.json()["credentials"]

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert new["password"] != old["password"]
    rotated_at = datetime.fromisoformat(response.json()["device"]["credentials_rotated_at"])
    assert rotated_at > datetime.fromisoformat(provisioned["device"]["created_at"])
    assert (await shown(client, admin, slug))["online"] is False  # mosquitto sent no will
    assert await refused(old)
    async with online_device(new):
        assert await eventually(showing(client, admin, slug, online=True))


async def test_disabling_drops_the_device_and_refuses_it_until_enabled(
    client: httpx.AsyncClient, admin: Headers, watching: StatusBoard
) -> None:
    credentials = (await provision(client, admin))["credentials"]
    slug = credentials["username"]

    async with online_device(credentials) as device:
        assert await eventually(showing(client, admin, slug, online=True))
        disabled = await client.post(f"{DEVICES}/{slug}/disable", headers=admin)
        assert await dropped(device)

    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    assert disabled.json()["online"] is False
    assert await refused(credentials)
    enabled = await client.post(f"{DEVICES}/{slug}/enable", headers=admin)
    assert enabled.status_code == 200
    assert enabled.json()["enabled"] is True
    async with online_device(credentials):
        assert await eventually(showing(client, admin, slug, online=True))


async def test_removal_drops_the_device_and_deletes_its_account(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    credentials = (await provision(client, admin))["credentials"]
    slug = credentials["username"]

    async with online_device(credentials) as device:
        response = await client.delete(f"{DEVICES}/{slug}", headers=admin)
        assert await dropped(device)

    assert response.status_code == 204
    assert response.content == b""
    assert await refused(credentials)
    assert (await client.get(f"{DEVICES}/{slug}", headers=admin)).status_code == 404
    listed = (await client.get(DEVICES, headers=admin)).json()
    assert slug not in {device["slug"] for device in listed}


async def test_a_device_with_sessions_on_record_cannot_be_removed(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    machine = await make_machine(committed_db)
    member = await make_member(committed_db, balance_cents=10_000)
    await grant(committed_db, machine, member)
    assert member.card_uid is not None
    await sessions.start(
        committed_db,
        device_id=machine.id,
        card_uid=member.card_uid,
        now=T0,
        heartbeat_period=timedelta(seconds=30),
        request_id=None,
    )
    await committed_db.commit()

    response = await client.delete(f"{DEVICES}/{machine.slug}", headers=admin)

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "disable it instead" in response.json()["detail"]
    assert (await client.get(f"{DEVICES}/{machine.slug}", headers=admin)).status_code == 200


# -- refusals ---------------------------------------------------------------------------------


async def test_provisioning_refuses_a_taken_slug(client: httpx.AsyncClient, admin: Headers) -> None:
    slug = (await provision(client, admin))["device"]["slug"]

    response = await client.post(DEVICES, json={"slug": slug, "kind": "rental"}, headers=admin)

    assert response.status_code == 409
    assert "exists already" in response.json()["detail"]
    unchanged = await shown(client, admin, slug)
    assert (unchanged["kind"], unchanged["name"]) == ("machine", slug)  # the name defaults


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Lathe_1", "kind": "machine"}, "slug"),
        ({"slug": "x", "kind": "machine"}, "slug"),
        ({"slug": "makerbus-admin2", "kind": "machine"}, "slug"),  # service accounts' prefix
        ({"slug": "toaster-1", "kind": "toaster"}, "kind"),
        ({"slug": "lathe-1", "kind": "machine", "name": "Lathe\x00"}, "name"),
        ({"slug": "lathe-1", "kind": "machine", "name": "Lathe\u2066"}, "name"),
        ({"slug": "lathe-1", "kind": "machine", "name": "   "}, "name"),
        ({"slug": "lathe-1", "kind": "machine", "name": "L" * 201}, "name"),
        ({"slug": "lathe-1", "kind": "machine", "password": "mine"}, "password"),
        ({"kind": "machine"}, "slug"),
    ],
)
async def test_provisioning_names_the_invalid_field(
    client: httpx.AsyncClient, admin: Headers, body: Json, field: str
) -> None:
    response = await client.post(DEVICES, json=body, headers=admin)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]


async def test_a_slug_in_the_path_is_validated(client: httpx.AsyncClient, admin: Headers) -> None:
    response = await client.post(f"{DEVICES}/Not%20A%20Slug/rotate", headers=admin)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "slug"]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", "/rotate"), ("POST", "/disable"), ("POST", "/enable"), ("DELETE", "")],
)
async def test_an_unknown_device_is_404(
    client: httpx.AsyncClient, admin: Headers, method: str, suffix: str
) -> None:
    response = await client.request(
        method, f"{DEVICES}/{unique_slug('nobody')}{suffix}", headers=admin
    )

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


ROUTES = [
    ("GET", DEVICES, None),
    ("POST", DEVICES, {"slug": "lathe-9", "kind": "machine"}),
    ("GET", f"{DEVICES}/lathe-9", None),
    ("POST", f"{DEVICES}/lathe-9/rotate", None),
    ("POST", f"{DEVICES}/lathe-9/disable", None),
    ("POST", f"{DEVICES}/lathe-9/enable", None),
    ("DELETE", f"{DEVICES}/lathe-9", None),
]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
async def test_every_route_needs_a_login(
    client: httpx.AsyncClient, method: str, url: str, body: Json | None
) -> None:
    response = await client.request(method, url, json=body)

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
async def test_every_route_needs_the_admin_role(
    client: httpx.AsyncClient, session_for: SessionFor, method: str, url: str, body: Json | None
) -> None:
    response = await client.request(method, url, json=body, headers=session_for("x"))

    assert response.status_code == 403


# -- when the broker fails --------------------------------------------------------------------


async def test_an_unreachable_broker_is_503_and_changes_nothing(
    api_settings: Settings, admin: Headers, committed_db: AsyncSession
) -> None:
    existing = await make_device(committed_db)
    await committed_db.commit()
    down = create_app(api_settings.model_copy(update={"mqtt_port": free_port()}))
    slug = unique_slug("api-dev")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=down), base_url="https://testserver"
    ) as http:
        added = await http.post(DEVICES, json={"slug": slug, "kind": "machine"}, headers=admin)
        disabled = await http.post(f"{DEVICES}/{existing.slug}/disable", headers=admin)
        after_add = await http.get(f"{DEVICES}/{slug}", headers=admin)
        after_disable = await http.get(f"{DEVICES}/{existing.slug}", headers=admin)
    await down.state.engine.dispose()

    assert added.status_code == 503
    assert "cannot be reached" in added.json()["detail"]
    assert disabled.status_code == 503
    assert after_add.status_code == 404
    assert after_disable.json()["enabled"] is True


async def test_rotating_a_device_without_a_broker_account_gives_it_one(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession, watching: StatusBoard
) -> None:
    # The database knows the device, the broker does not (a broker restored from a backup).
    orphan = await make_device(committed_db)
    await committed_db.commit()

    response = await client.post(f"{DEVICES}/{orphan.slug}/rotate", headers=admin)

    assert response.status_code == 200
    async with online_device(response.json()["credentials"]):
        assert await eventually(showing(client, admin, orphan.slug, online=True))


async def test_enabling_a_device_without_a_broker_account_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    orphan = await make_device(committed_db)
    await committed_db.commit()
    disabled = await client.post(f"{DEVICES}/{orphan.slug}/disable", headers=admin)

    enabled = await client.post(f"{DEVICES}/{orphan.slug}/enable", headers=admin)

    assert disabled.status_code == 200
    assert enabled.status_code == 409
    assert "rotate its password" in enabled.json()["detail"]
    assert (await shown(client, admin, orphan.slug))["enabled"] is False


# -- the status watcher -----------------------------------------------------------------------


async def test_status_junk_is_ignored_and_the_watcher_keeps_watching(
    client: httpx.AsyncClient, admin: Headers, watching: StatusBoard
) -> None:
    credentials = (await provision(client, admin))["credentials"]
    slug = credentials["username"]
    junk = [b"not json", b"[true]", b'{"online": "yes"}', b'{"online": 1}', b"\xff\xfe", b"{" * 600]

    async with online_device(credentials, fw="before") as device:
        assert await eventually(showing(client, admin, slug, online=True, fw="before"))
        for payload in junk:
            await device.publish(_status_topic(slug), payload, qos=1)
        await device.publish(_status_topic(slug), b'{"online": true, "fw": "after"}', qos=1)

        assert await eventually(showing(client, admin, slug, online=True, fw="after"))
    assert watching.connected


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"null",
        b'"online"',
        b"[true]",
        b'{"fw": "x"}',
        b'{"online": "true"}',
        b'{"online": 1}',
        b"\xff\xfe\xfd",
        b"[" * 2000,
        json.dumps({"online": True, "pad": "x" * MAX_STATUS_BYTES}).encode(),
    ],
)
def test_a_payload_that_is_not_a_status_is_not_one(payload: bytes) -> None:
    assert parse_status(payload) is None


@pytest.mark.parametrize(
    ("payload", "online", "fw"),
    [
        (b'{"online": true, "fw": "v1.2"}', True, "v1.2"),
        (b'{"online": false}', False, None),
        (b'{"online": true, "fw": "bad\\nline"}', True, None),
        (b'{"online": true, "fw": 12}', True, None),
        (json.dumps({"online": True, "fw": "v" * 65}).encode(), True, None),
    ],
)
def test_a_status_keeps_only_a_short_printable_firmware(
    payload: bytes, online: bool, fw: str | None
) -> None:
    reported = parse_status(payload)

    assert reported is not None
    assert (reported.online, reported.fw) == (online, fw)


def test_only_a_live_status_counts_as_seeing_the_device() -> None:
    board = StatusBoard()
    board.connected = True

    board.record("replayed", b'{"online": true}', retained=True, now=T0)
    board.record("live", b'{"online": true}', retained=False, now=T0)

    assert board.status_of("replayed").online is True
    assert board.status_of("replayed").heard_at is None
    assert board.status_of("live").heard_at == T0


def test_a_board_that_is_not_connected_knows_no_status() -> None:
    board = StatusBoard()
    board.connected = True
    board.record("lathe-1", b'{"online": true, "fw": "v1"}', retained=False, now=T0)

    board.connected = False

    status = board.status_of("lathe-1")
    assert (status.online, status.fw, status.heard_at) == (None, None, T0)


async def test_the_watcher_reconnects_and_online_is_null_while_the_broker_is_away(
    api_settings: Settings, admin: Headers, tmp_path: Path
) -> None:
    port = free_port()
    settings = api_settings.model_copy(update={"mqtt_port": port})
    init_local(tmp_path, port, accounts_from(settings))
    broker = LocalBroker(tmp_path, port)
    broker.start()
    app = create_app(settings)
    try:
        async with (
            serving(app) as board,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="https://testserver"
            ) as http,
        ):
            credentials = (await provision(http, admin))["credentials"]
            slug = credentials["username"]
            async with online_device(credentials):
                assert await eventually(showing(http, admin, slug, online=True))
            # The device said goodbye without its will: its status stays "online".

            broker.stop()
            assert await eventually(showing(http, admin, slug, online=None))
            broker.start()

            assert await eventually(showing(http, admin, slug, online=True))
            assert board.connected
    finally:
        broker.stop()
