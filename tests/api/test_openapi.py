"""The OpenAPI document is valid, and schemathesis finds no server error on any route.

The API runs as `makerbus api` (uvicorn, production mode) on a database of its own, so what
the fuzzer creates stays out of the other tests' way. It calls every route as a logged-in
member who is also admin and product manager, so that no route is hidden behind a 401/403.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import insert

from api.session_tokens import Role, SessionSigner
from broker.launcher import free_port, stop_child, wait_for_port
from core.clock import SystemClock
from core.db import make_engine
from core.migrations import upgrade
from core.models import Member
from core.settings import Settings
from makerbus.dev import child_env
from makerbus.login_provider import LocalLoginProvider
from tests.databases import fresh_postgres, fresh_sqlite, postgres_reachable, postgres_required
from tests.secrets_for_tests import TEST_SECRETS, production_settings

pytestmark = pytest.mark.slow
FUZZ_SUBJECT = "fuzzer"
# Far from the small ids the fuzzer tries, so its own calls (e.g. unlinking member 1's login)
# do not take its member account away half way through.
FUZZ_MEMBER_ID = 2**62 + 4321
# Logging out would end the fuzzer's own session half way through the run.
EXCLUDED_PATHS = ("/auth/logout",)


@pytest.fixture(scope="module")
def fuzz_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PostgreSQL, the production database (SQLite when it is not here and not required): one
    run of several minutes is the CI budget; the rest of the API suite runs on both."""
    context = (
        fresh_postgres()
        if postgres_reachable() or postgres_required()
        else fresh_sqlite(tmp_path_factory.mktemp("fuzz"))
    )
    with context as url:
        upgrade(url)
        yield url


def _env(settings: Settings) -> dict[str, str]:
    values = {
        "ENV": "production",
        "DATABASE_URL": settings.database_url,
        "MQTT_PORT": str(settings.mqtt_port),
        "PUBLIC_URL": settings.public_url,
        "OIDC_DISCOVERY_URL": settings.oidc_discovery_url or "",
        "LOG_LEVEL": "WARNING",
        **{name.upper(): value for name, value in TEST_SECRETS.items()},
    }
    return child_env(values)


@contextmanager
def served(settings: Settings, port: int, log: Path) -> Iterator[str]:
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "makerbus", "api", "--host", "127.0.0.1", "--port", str(port)],
            env=_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for_port("127.0.0.1", port, 30), log.read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_child(server, 15)


def _member_who_is_everything(settings: Settings) -> str:
    """A linked member's session with every role: the fuzzer sees every route's inside."""
    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(Member).values(
                id=FUZZ_MEMBER_ID,
                name="Fuzz",
                oidc_subject=FUZZ_SUBJECT,
                created_at=SystemClock().now(),
            )
        )
    engine.dispose()
    signer = SessionSigner(settings.session_secret, timedelta(hours=settings.session_hours))
    return signer.issue(
        subject=FUZZ_SUBJECT,
        name="Fuzz",
        roles=frozenset({Role.ADMIN, Role.PRODUCT_MANAGER}),
        now=SystemClock().now(),
    )


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_on_any_route(
    fuzz_database_url: str,
    broker_port: int,
    login_provider: LocalLoginProvider,
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = production_settings(
        database_url=fuzz_database_url,
        mqtt_port=broker_port,
        oidc_discovery_url=login_provider.discovery_url,
        public_url=f"http://127.0.0.1:{port}",
    )
    token = _member_who_is_everything(settings)

    with served(settings, port, tmp_path / "api.log") as base:
        schema = httpx.get(f"{base}/api/openapi.json").json()
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base}/api/openapi.json",
                "--checks",
                "not_a_server_error",
                "--header",
                f"Authorization: Bearer {token}",
                *[arg for path in EXCLUDED_PATHS for arg in ("--exclude-path", path)],
                "--max-examples",
                "8",
                "--seed",
                "20261121",
                "--max-redirects",
                "0",
                "--generation-database",
                "none",
                "--no-color",
                # One worker: with two, CPython 3.11's ast.parse (hypothesis describing a
                # filter lambda) can fail in schemathesis itself ("AST constructor recursion").
                "--workers",
                "1",
            ],
            cwd=tmp_path,  # schemathesis leaves a .schemathesis folder behind
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        server_log = (tmp_path / "api.log").read_text()

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:] + server_log[-4000:]
    tested = sum(len(methods) for path, methods in schema["paths"].items())
    assert tested > 20
    assert "Traceback" not in server_log, server_log[-4000:]


async def test_the_openapi_document_is_valid_and_documents_every_api_route(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/openapi.json")).json()

    validate(document)
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert all(operation.get("tags") for _, _, operation in operations)
    assert all(operation.get("summary") for _, _, operation in operations)
    assert any(path.startswith("/api/v1/admin/") for path, _, _ in operations)
    assert any(path.startswith("/api/v1/me") for path, _, _ in operations)
