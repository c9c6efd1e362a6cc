"""A local OpenID Connect provider for `make dev` and the tests: `oidc-provider-mock`.

It logs in whoever is named on its consent page, with the claims set for that subject
(`set_user`), so a developer can be an admin, a shop manager or a plain member in turn.
It is a development tool: nothing outside dev mode may point at it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

from broker.launcher import LocalProcess, stop_child, wait_for_port


class LoginProviderError(RuntimeError):
    pass


class LocalLoginProvider(LocalProcess):
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self, timeout: float = 20.0) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed module
            [
                sys.executable,
                "-W",
                "ignore::DeprecationWarning",
                "-m",
                "oidc_provider_mock",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--require-nonce",
                "true",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise LoginProviderError(f"oidc-provider-mock did not listen on {self.port}")

    def set_user(self, subject: str, claims: dict[str, Any]) -> None:
        """Claims the provider gives `subject` at its next login (groups, name, email)."""
        request = urllib.request.Request(  # noqa: S310 - a fixed http URL on loopback
            f"{self.issuer}/users/{subject}",
            data=json.dumps(claims).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            if answer.status != 204:
                raise LoginProviderError(f"setting user {subject} answered {answer.status}")

    def stop(self) -> None:
        if self._process is None:
            return
        stop_child(self._process)
        self._process = None
