"""Per-device token buckets, applied before any work: a flooding device costs almost nothing.

An over-limit request never reaches the database or the device's queue. It gets one
`rate_limited` answer per device and second; the rest are dropped (devices retry with the same
id, and the broker-side session holds nothing for a clean-session worker).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


@dataclass
class _Bucket:
    tokens: float
    updated: float
    last_refusal: float = float("-inf")


class Verdict(Enum):
    ADMIT = "admit"
    REFUSE = "refuse"  # answer `rate_limited`
    DROP = "drop"  # already told within the last second


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
            return Verdict.ADMIT
        if now - bucket.last_refusal >= self._refusal_interval:
            bucket.last_refusal = now
            return Verdict.REFUSE
        return Verdict.DROP
