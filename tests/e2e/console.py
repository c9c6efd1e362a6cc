"""The `makerbus-device` programs as child processes, driven through stdin and stdout."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from queue import Empty, Queue

from broker.provisioning import Credentials


class Console:
    """``makerbus-device <program>`` as a child, ``machine`` by default: its stdin is its input
    (for the machine, the card reader), its stdout its display (the relay)."""

    def __init__(self, device: Credentials, program: str = "machine", *options: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from makerbus_device.cli import main; raise SystemExit(main())",
                program,
                *("--host", device.host, "--port", str(device.port)),
                *("--username", device.username),
                *options,
            ],
            env={**os.environ, "MAKERBUS_DEVICE_PASSWORD": device.password},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self._lines: Queue[str] = Queue()
        self._pump = threading.Thread(target=self._read_lines, daemon=True)
        self._pump.start()

    def _read_lines(self) -> None:
        for line in self._stdout:
            self._lines.put(line.rstrip("\n"))

    def type(self, text: str, *, then_close: bool = False) -> None:
        self._stdin.write(text)
        self._stdin.flush()
        if then_close:
            self._stdin.close()

    def read_until(self, wanted: str, timeout: float = 15.0) -> list[str]:
        """The lines up to and including ``wanted``."""
        seen: list[str] = []
        give_up = time.monotonic() + timeout
        while wanted not in seen:
            try:
                seen.append(self._lines.get(timeout=max(0.0, give_up - time.monotonic())))
            except Empty:
                raise AssertionError(f"never saw {wanted!r}; saw {seen}") from None
        return seen

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._pump.join(5)
        self._stdin.close()
        self._stdout.close()


def run_program(
    program: str, device: Credentials, lines: str, *options: str
) -> subprocess.CompletedProcess[str]:
    """`makerbus-device <program>` with ``lines`` on stdin; it stops at their end."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from makerbus_device.cli import main; raise SystemExit(main())",
            program,
            *("--host", device.host, "--port", str(device.port)),
            *("--username", device.username),
            *options,
        ],
        env={**os.environ, "MAKERBUS_DEVICE_PASSWORD": device.password},
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
