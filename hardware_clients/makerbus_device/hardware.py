"""Card readers and relays: what the machine controller drives, and drivers for trying it out."""

import sys
import threading
import time
from collections.abc import Callable
from queue import Empty, Queue
from typing import Protocol, TextIO

_END_OF_INPUT = ""  # never a UID: the console reader skips empty lines


class CardReader(Protocol):
    """Where card UIDs come from (an RFID reader, the console, a test)."""

    def read(self, timeout: float) -> str | None:
        """The next card UID, or None when no card came within ``timeout`` seconds."""
        ...


class Relay(Protocol):
    """The switch that powers the machine."""

    def switch(self, on: bool) -> None: ...

    @property
    def is_on(self) -> bool: ...


def _take(queue: "Queue[str]", timeout: float) -> str | None:
    try:
        return queue.get(timeout=timeout) if timeout > 0 else queue.get_nowait()
    except Empty:
        return None


class ConsoleReader:
    """Card UIDs typed one per line (default: on stdin).

    A daemon thread reads the stream, so ``read`` can time out. Lines are stripped and
    upper-cased; empty lines are skipped. Once every line has been read, ``on_eof`` is called
    (e.g. to stop the controller on Ctrl-D or at the end of a script).
    """

    def __init__(
        self, stream: TextIO | None = None, *, on_eof: Callable[[], None] | None = None
    ) -> None:
        self._stream = sys.stdin if stream is None else stream
        self._on_eof = on_eof
        self._queue: Queue[str] = Queue()
        self._ended = False
        threading.Thread(target=self._pump, name="console-reader", daemon=True).start()

    def _pump(self) -> None:
        for line in self._stream:
            uid = line.strip().upper()
            if uid:
                self._queue.put(uid)
        self._queue.put(_END_OF_INPUT)

    def read(self, timeout: float) -> str | None:
        if self._ended:
            time.sleep(timeout)  # keep a polling loop from spinning
            return None
        uid = _take(self._queue, timeout)
        if uid != _END_OF_INPUT:
            return uid
        self._ended = True
        if self._on_eof is not None:
            self._on_eof()
        return None


class SimulatedReader:
    """A reader that a test or script taps cards on."""

    def __init__(self) -> None:
        self._queue: Queue[str] = Queue()

    def tap(self, uid: str) -> None:
        self._queue.put(uid)

    def read(self, timeout: float) -> str | None:
        return _take(self._queue, timeout)


class SimulatedRelay:
    """A relay that remembers every switch; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: list[bool] = []

    def switch(self, on: bool) -> None:
        with self._lock:
            self._history.append(on)

    @property
    def is_on(self) -> bool:
        with self._lock:
            return bool(self._history) and self._history[-1]

    @property
    def history(self) -> list[bool]:
        """Every ``switch`` call's value, oldest first (a copy)."""
        with self._lock:
            return list(self._history)


class ConsoleRelay:
    """A relay that writes ``RELAY ON`` / ``RELAY OFF`` lines (default: to stdout)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stdout if stream is None else stream
        self._lock = threading.Lock()
        self._on = False

    def switch(self, on: bool) -> None:
        with self._lock:
            self._on = on
            self._stream.write("RELAY ON\n" if on else "RELAY OFF\n")
            self._stream.flush()

    @property
    def is_on(self) -> bool:
        with self._lock:
            return self._on
