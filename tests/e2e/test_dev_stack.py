"""`makerbus dev` comes up from nothing, and the console controller runs a session against it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from broker.launcher import free_port
from broker.provisioning import Credentials
from tests.e2e.console import Console, run_program
from tests.e2e.stack import wait_until


def test_dev_stack_serves_the_console_controller_from_demo_json(tmp_path: Path) -> None:
    log = tmp_path / "dev.log"
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKERBUS_")}
    with log.open("w") as out:
        dev = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "makerbus",
                "dev",
                "--port",
                str(free_port()),
                "--api-port",
                str(api_port),
                "--login-port",
                str(free_port()),
            ],
            cwd=tmp_path,
            env={**env, "MAKERBUS_ENV": "dev"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    console = None
    try:
        assert wait_until(lambda: "Ctrl-C stops everything." in log.read_text(), 60), (
            log.read_text()
        )
        assert _health(f"http://127.0.0.1:{api_port}") == 200  # "up" means the API answers
        demo = json.loads((tmp_path / "var" / "demo.json").read_text())
        laser_file = tmp_path / "var" / "devices" / "laser-1.json"
        assert stat.S_IMODE(laser_file.stat().st_mode) == 0o600
        ada = next(m for m in demo["members"] if m["name"] == "Ada Lovelace")
        console = Console(Credentials(**json.loads(laser_file.read_text())))

        console.type(f"{ada['card']}\n")
        console.read_until("RELAY ON")
        console.type(f"{ada['card']}\n", then_close=True)

        assert "RELAY OFF" in console.read_until("RELAY OFF")
        assert console.process.wait(15) == 0
        _the_other_programs_run_from_demo_json(demo)
        _the_api_logs_ada_in_through_the_dev_login_provider(api_port)
    finally:
        if console is not None:
            console.close()
        dev.send_signal(signal.SIGINT)
        code = dev.wait(30)
    assert code == 0
    assert "Stopped the API, the handlers, the login provider and the broker." in log.read_text()


def _the_api_logs_ada_in_through_the_dev_login_provider(api_port: int) -> None:
    base = f"http://127.0.0.1:{api_port}"
    ada, ada_balance = _log_in(base, "ada")
    grace, _ = _log_in(base, "grace")

    assert (ada["name"], ada["is_admin"]) == ("Ada Lovelace", True)
    assert ada_balance["name"] == "Ada Lovelace"
    assert (grace["is_admin"], grace["machine_admin_of"]) == (False, ["lathe-1"])


def _log_in(base: str, subject: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Through the dev login provider's consent page: /auth/me and /api/v1/me afterwards."""
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        consent_page = browser.get(f"{base}/auth/login?next=/auth/me")
        assert "Authorize" in consent_page.text
        me = browser.post(str(consent_page.url), data={"sub": subject})
        member = browser.get(f"{base}/api/v1/me")
    return me.json(), member.json()


def _health(base: str) -> int:
    return httpx.get(f"{base}/health", timeout=5).status_code


def _credentials(demo: dict[str, Any], slug: str) -> Credentials:
    device = next(d for d in demo["devices"] if d["slug"] == slug)
    return Credentials(device["username"], device["password"], device["host"], device["port"])


def _the_other_programs_run_from_demo_json(demo: dict[str, Any]) -> None:
    ada = next(m for m in demo["members"] if m["name"] == "Ada Lovelace")["card"]
    grace = next(m for m in demo["members"] if m["name"] == "Grace Hopper")["card"]
    mate = demo["products"][0]
    drill = demo["rental_items"][0]["tid"]

    checkout = run_program(
        "checkout",
        _credentials(demo, "checkout-1"),
        f"scan {mate['ean']}\nscan {mate['alias']}\ntap {ada}\n",
    )
    bankomat = run_program("bankomat", _credentials(demo, "bankomat-1"), f"tap {grace}\ncoin 200\n")
    rented = run_program("rental", _credentials(demo, "rental-1"), f"tid {drill}\ntap {ada}\n")
    returned = run_program("rental", _credentials(demo, "rental-1"), f"tid {drill}\n")

    assert "paid 3.00 EUR" in checkout.stdout, checkout.stdout + checkout.stderr
    assert "topped up 2.00 EUR" in bankomat.stdout, bankomat.stdout + bankomat.stderr
    assert "is yours" in rented.stdout, rented.stdout + rented.stderr
    assert "returned" in returned.stdout.lower(), returned.stdout + returned.stderr
