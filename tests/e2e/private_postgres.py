"""A PostgreSQL server of the test's own, which the test may stop and start again.

The shared server on 5432 must never go down (others use it), so a test that takes the database
away from the handler service runs its own: initdb into a temporary directory, a free loopback
port, trust authentication. PostgreSQL refuses to run as root; as root it runs as the
``postgres`` OS user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from broker.launcher import free_port

SUPERUSER = "postgres"
DATABASE = "makerbus"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _major(pg_ctl: str) -> int:
    version = Path(pg_ctl).parents[1].name
    return int(version) if version.isdigit() else 0


class PrivatePostgres:
    """One initdb'd cluster on a free port: ``start()``, ``stop()`` (fast: connections cut)."""

    def __init__(self, bin_dir: Path, directory: Path) -> None:
        self._bin = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self._as_owner = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8")
        self.start()
        with psycopg.connect(self._url_of("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.directory} -c fsync=off"
        )
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def running(self) -> bool:
        status = self._command("pg_ctl", "status", "-D", str(self.data))
        return subprocess.run(status, capture_output=True, check=False).returncode == 0

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def _url_of(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _command(self, program: str, *args: str) -> list[str]:
        return [*self._as_owner, str(self._bin / program), *args]

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise AssertionError(f"{program} {' '.join(args)} failed:\n{done.stderr}\n{log}")


@contextmanager
def private_postgres(bin_dir: Path) -> Iterator[PrivatePostgres]:
    """A running private server with an empty database ``makerbus``; removed afterwards.

    Its directory is outside pytest's tmp_path, which only root may enter.
    """
    directory = Path(tempfile.mkdtemp(prefix="makerbus-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, SUPERUSER)
    server = PrivatePostgres(bin_dir, directory)
    try:
        server.init()
        yield server
    finally:
        if server.running():
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
