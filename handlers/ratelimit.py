"""Per-device token buckets, applied before any work: a flooding device costs almost nothing.

Every request is answered: an over-limit one gets `rate_limited` with the time until its
device's bucket holds a token again, built without the database and without the op's model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    last_refusal: float = float("-inf")


@dataclass(frozen=True)
class Verdict:
    """Admitted (a token was taken), or refused for `retry_after_ms`."""

    retry_after_ms: int = 0
    # The device's first refusal within the refusal interval: the one worth a log line.
    first_refusal: bool = False

    @property
    def admitted(self) -> bool:
        return self.retry_after_ms == 0


ADMIT = Verdict()


class RateLimiter:
    """`rate` tokens per second up to `burst`; one token per request. Per worker process."""

    def __init__(
        self,
        rate: float,
        burst: int,
        monotonic: Callable[[], float] = time.monotonic,
        refusal_interval: float = 1.0,
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._monotonic = monotonic
        self._refusal_interval = refusal_interval
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str) -> Verdict:
        now = self._monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return ADMIT
        first = now - bucket.last_refusal >= self._refusal_interval
        if first:
            bucket.last_refusal = now
        # At least 1 ms: 0 means admitted.
        wait_ms = max(1, math.ceil((1.0 - bucket.tokens) / self._rate * 1000))
        return Verdict(wait_ms, first_refusal=first)
