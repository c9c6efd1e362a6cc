"""Test doubles the e2e tests share (the server side is always real)."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
