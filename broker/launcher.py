"""Start a child mosquitto with the generated config: for `makerbus dev` and the tests.

It listens on loopback only, keeps its files in one directory and runs as the invoking user
(mosquitto started as root would otherwise drop to `mosquitto` and fail to write the directory).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from broker.dynsec_file import Account, write_initial
from broker.mosquitto_config import BrokerConfig, Listener, find_dynsec_plugin, render


class BrokerStartError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BrokerStartError(
            "the mosquitto binary is not installed (Debian: apt install mosquitto)"
        )
    return found


def local_config(data_dir: Path, port: int, plugin: Path | None = None) -> BrokerConfig:
    return BrokerConfig(
        plugin=find_dynsec_plugin(plugin),
        dynsec_file=data_dir / "dynsec.json",
        listeners=(Listener(port=port, bind="127.0.0.1"),),
        persistence_dir=data_dir,
        log_file=data_dir / "mosquitto.log",
        user=getpass.getuser(),
    )


def init_local(
    data_dir: Path,
    port: int,
    accounts: tuple[Account, ...],
    *,
    force: bool = False,
    plugin: Path | None = None,
) -> Path:
    """Write mosquitto.conf (always) and dynsec.json (only if absent, or with `force`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = local_config(data_dir.resolve(), port, plugin)
    if force or not config.dynsec_file.exists():
        write_initial(config.dynsec_file, accounts)
    conf_path = data_dir / "mosquitto.conf"
    conf_path.write_text(render(config))
    return conf_path


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_child(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM and wait; SIGKILL if the child is still there after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LocalProcess:
    """A child process the caller runs for a while: `with` starts it and stops it again."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LocalBroker(LocalProcess):
    """A mosquitto child process; restartable on the same port and state."""

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.port = port
        self.host = host
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        """The running mosquitto's process id (the bench reads its CPU time)."""
        if self._process is None:
            raise BrokerStartError("mosquitto is not running")
        return self._process.pid

    def start(self, timeout: float = 10.0) -> None:
        if not self.conf_path.exists():
            raise BrokerStartError(f"{self.conf_path} is missing: run init_local first")
        self._process = subprocess.Popen(  # noqa: S603 - our binary, our generated config
            [mosquitto_binary(), "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if not wait_for_port(self.host, self.port, timeout):
            self.kill()
            log = self.data_dir / "mosquitto.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise BrokerStartError(f"mosquitto did not listen on {self.port}:\n{tail}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait: mosquitto saves its state on the way out."""
        if self._process is None:
            return
        stop_child(self._process, timeout)
        self._close_pipes()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None
