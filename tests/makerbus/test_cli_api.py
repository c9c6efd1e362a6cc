"""`makerbus api` as the operator runs it: a process that stops when told to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from broker.launcher import free_port
from tests.e2e.stack import wait_until
from tests.makerbus.conftest import Makerbus
from tests.secrets_for_tests import TEST_SECRETS

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _serves(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code in (200, 503)
    except httpx.TransportError:
        return False


def test_the_api_stops_on_sigterm_while_a_live_page_holds_its_stream_open(
    makerbus: Makerbus, database_url: str
) -> None:
    token = json.loads(
        makerbus("token", "create", "--name", "live-page", "--role", "admin", "--json").stdout
    )["token"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKERBUS_")}
    env |= {
        "MAKERBUS_ENV": "production",
        "MAKERBUS_DATABASE_URL": database_url,
        "MAKERBUS_MQTT_PORT": str(free_port()),  # no broker there: the monitor keeps retrying
        **{f"MAKERBUS_{name.upper()}": value for name, value in TEST_SECRETS.items()},
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "makerbus", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    opened = threading.Event()

    def watch_live() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            url = f"{base}/admin/live/events"
            # Longer than the 15 s between keep-alives: the client never gives up first.
            with httpx.stream("GET", url, headers=headers, timeout=60) as stream:
                for _ in stream.iter_lines():
                    opened.set()
        except httpx.HTTPError:
            pass  # the server went away, as it should

    try:
        assert wait_until(lambda: _serves(base), 30), "the API did not come up"
        threading.Thread(target=watch_live, daemon=True).start()
        assert opened.wait(10), "the live stream did not open"
        api.send_signal(signal.SIGTERM)
        code = api.wait(15)
    finally:
        api.kill()
    # uvicorn ends by re-raising the signal it handled, once it has shut down.
    assert code == -signal.SIGTERM
