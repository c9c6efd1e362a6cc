"""Rolling statistics of the answered requests: rates, error rates and latency per op.

Memory stays bounded whatever the traffic: time is cut into buckets (10 s by default) of which
only the window's (15 minutes) are kept, each holding per op two counters and a fixed latency
histogram, and the number of distinct op names and error codes is capped.

Latency quantiles come from the histogram: 64 log-spaced bins from 0.05 ms to 30 s, each about
24 % wider than the one before. A quantile is reported as the geometric middle of the bin it
falls in, so it is within about 11 % of the true value (below 0.05 ms it reads 0.05 ms, from
30 s on it reads 30 s).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from api.live.redaction import printable
from broker.errors import ErrorCode

NO_ANSWER = "no_answer"
OK = "ok"
OTHER = "(other)"
# Answers that refuse the request rather than fail on the member's money or the stock.
REFUSAL_CODES = frozenset(
    code.value
    for code in (
        ErrorCode.FORBIDDEN_OP,
        ErrorCode.NOT_AUTHORIZED,
        ErrorCode.CARD_BLOCKED,
        ErrorCode.PIN_INVALID,
        ErrorCode.PIN_LOCKED,
        ErrorCode.RATE_LIMITED,
        ErrorCode.BAD_REQUEST,
        ErrorCode.UNKNOWN_OP,
    )
)
MAX_OPS = 64
MAX_CODES = 64
MAX_NAME = 64

LOW_MS = 0.05
HIGH_MS = 30_000.0
BINS = 64
# BINS - 1 edges from LOW_MS to HIGH_MS: bin 0 is below the first, the last bin from the last on.
_EDGES = [LOW_MS * (HIGH_MS / LOW_MS) ** (i / (BINS - 2)) for i in range(BINS - 1)]
_MIDDLES = [
    LOW_MS,
    *(math.sqrt(a * b) for a, b in pairwise(_EDGES)),
    HIGH_MS,
]


def _histogram() -> array[int]:
    return array("L", [0]) * BINS


def quantile(histogram: array[int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) of a latency histogram, in ms; None when it is empty."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return round(_MIDDLES[index], 3)
    return HIGH_MS


@dataclass
class _OpCounts:
    requests: int = 0
    errors: int = 0
    latency: array[int] = field(default_factory=_histogram)

    def add(self, other: _OpCounts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        for index, count in enumerate(other.latency):
            self.latency[index] += count


@dataclass
class _Bucket:
    ops: dict[str, _OpCounts] = field(default_factory=dict)
    total: _OpCounts = field(default_factory=_OpCounts)
    codes: Counter[str] = field(default_factory=Counter)

    def count(self, op: str, latency_ms: float | None, code: str | None) -> None:
        latency_bin = None if latency_ms is None else bisect_right(_EDGES, latency_ms)
        for counts in (self.ops.setdefault(op, _OpCounts()), self.total):
            counts.requests += 1
            counts.errors += code is not None
            if latency_bin is not None:
                counts.latency[latency_bin] += 1
        if code is not None:
            self.codes[code] += 1


class _Names:
    """At most `limit` distinct names within the window; newcomers beyond it are OTHER."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._last_seen: dict[str, int] = {}

    def name(self, raw: str, bucket: int) -> str:
        text = printable(raw, MAX_NAME)
        if text not in self._last_seen and len(self._last_seen) >= self._limit:
            text = OTHER
        self._last_seen[text] = bucket
        return text

    def forget_before(self, bucket: int) -> None:
        self._last_seen = {name: b for name, b in self._last_seen.items() if b >= bucket}


class Stats:
    """Counts of answered (and unanswered) requests over the last `window_s` seconds."""

    def __init__(self, *, window_s: int = 900, bucket_s: int = 10) -> None:
        self.window_s = window_s
        self.bucket_s = bucket_s
        self._count = max(1, window_s // bucket_s)
        self._buckets: dict[int, _Bucket] = {}
        self._newest: int | None = None
        self._ops = _Names(MAX_OPS)
        self._codes = _Names(MAX_CODES)

    def _index(self, now: datetime) -> int:
        return math.floor(now.timestamp() / self.bucket_s)

    def _advance(self, index: int) -> int:
        """Moves the window on to end at bucket `index` if that is newer; the first bucket kept."""
        if self._newest is None or index > self._newest:
            self._newest = index
            first = index - self._count + 1
            for old in [b for b in self._buckets if b < first]:
                del self._buckets[old]
            self._ops.forget_before(first)
            self._codes.forget_before(first)
        return self._newest - self._count + 1

    def record(self, op: str, result: str, latency_ms: float | None, now: datetime) -> None:
        """One request's outcome: "ok", an error code or "no_answer" (an error, no latency)."""
        index = self._index(now)
        if index < self._advance(index):
            return
        bucket = self._buckets.setdefault(index, _Bucket())
        bucket.count(
            self._ops.name(op, index),
            None if result == NO_ANSWER else latency_ms,
            None if result == OK else self._codes.name(result, index),
        )

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The window ending at `now`, JSON-ready: a series per bucket and totals per op."""
        current = self._index(now)
        starts = range(current - self._count + 1, current + 1)
        buckets = [(start, self._buckets.get(start, _Bucket())) for start in starts]
        elapsed = now.timestamp() - current * self.bucket_s
        series: dict[str, list[Any]] = {
            "t": [],
            "requests_per_s": [],
            "errors_per_s": [],
            "p50_ms": [],
            "p99_ms": [],
        }
        for start, bucket in buckets:
            # The current bucket is still filling: its rate is over the seconds it has had.
            seconds = max(1.0, elapsed) if start == current else float(self.bucket_s)
            total = bucket.total
            series["t"].append(start * self.bucket_s)
            series["requests_per_s"].append(round(total.requests / seconds, 3))
            series["errors_per_s"].append(round(total.errors / seconds, 3))
            series["p50_ms"].append(quantile(total.latency, 0.5))
            series["p99_ms"].append(quantile(total.latency, 0.99))
        ops: dict[str, _OpCounts] = {}
        codes: Counter[str] = Counter()
        for _, bucket in buckets:
            codes.update(bucket.codes)
            for op, counts in bucket.ops.items():
                ops.setdefault(op, _OpCounts()).add(counts)
        # Rates per op are over the part of the window that has data (all of it, once full).
        oldest = min((start for start, bucket in buckets if bucket.ops), default=current)
        span = now.timestamp() - oldest * self.bucket_s
        span = min(float(self.window_s), max(float(self.bucket_s), span))
        return {
            "window_s": self.window_s,
            "bucket_s": self.bucket_s,
            "series": series,
            "ops": [_op_row(op, ops[op], span) for op in sorted(ops)],
            "codes": dict(sorted(codes.items())),
            "rate_limited": codes[ErrorCode.RATE_LIMITED],
            "refused": sum(n for code, n in codes.items() if code in REFUSAL_CODES),
            "requests": sum(c.requests for c in ops.values()),
            "errors": sum(c.errors for c in ops.values()),
        }


def _op_row(op: str, counts: _OpCounts, span_s: float) -> dict[str, Any]:
    return {
        "op": op,
        "requests": counts.requests,
        "errors": counts.errors,
        "error_rate": round(counts.errors / counts.requests, 4) if counts.requests else 0.0,
        "per_s": round(counts.requests / span_s, 3),
        "p50_ms": quantile(counts.latency, 0.5),
        "p99_ms": quantile(counts.latency, 0.99),
    }
