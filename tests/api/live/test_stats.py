"""Rolling statistics: per-op counts and latency over a window, bounded in memory."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.live.stats import MAX_OPS, OTHER, Stats
from tests.factories import T0

LATER = T0 + timedelta(seconds=5)


def test_counts_errors_and_codes_per_op() -> None:
    stats = Stats()
    stats.record("card/identify", "ok", 4.0, T0)
    stats.record("card/identify", "unknown_card", 3.0, T0)
    stats.record("bank/payout", "pin_invalid", 20.0, T0)
    stats.record("bank/payout", "rate_limited", 0.5, T0)

    snapshot = stats.snapshot(LATER)

    assert [(o["op"], o["requests"], o["errors"], o["error_rate"]) for o in snapshot["ops"]] == [
        ("bank/payout", 2, 2, 1.0),
        ("card/identify", 2, 1, 0.5),
    ]
    assert snapshot["codes"] == {"pin_invalid": 1, "rate_limited": 1, "unknown_card": 1}
    assert (snapshot["requests"], snapshot["errors"]) == (4, 3)
    assert (snapshot["refused"], snapshot["rate_limited"]) == (2, 1)


def test_no_answer_is_an_error_without_latency() -> None:
    stats = Stats()
    stats.record("session/start", "no_answer", None, T0)

    [op] = stats.snapshot(LATER)["ops"]

    assert (op["errors"], op["p50_ms"], op["p99_ms"]) == (1, None, None)


def test_quantiles_are_within_the_histograms_precision() -> None:
    stats = Stats()
    for ms in range(1, 1001):
        stats.record("product/scan", "ok", float(ms), T0)

    [op] = stats.snapshot(LATER)["ops"]

    assert op["p50_ms"] == pytest.approx(500, rel=0.12)
    assert op["p99_ms"] == pytest.approx(990, rel=0.12)


def test_extreme_latencies_land_in_the_end_bins() -> None:
    stats = Stats()
    stats.record("product/scan", "ok", 0.0, T0)
    stats.record("product/scan", "ok", 120_000.0, T0)

    [op] = stats.snapshot(LATER)["ops"]

    assert (op["p50_ms"], op["p99_ms"]) == (0.05, 30_000.0)


def test_records_older_than_the_window_are_dropped() -> None:
    stats = Stats(window_s=900, bucket_s=10)
    stats.record("card/identify", "ok", 4.0, T0)
    stats.record("card/identify", "ok", 4.0, T0 + timedelta(minutes=16))

    snapshot = stats.snapshot(T0 + timedelta(minutes=16))

    assert snapshot["requests"] == 1


def test_a_record_from_before_the_window_is_ignored() -> None:
    stats = Stats(window_s=60, bucket_s=10)
    stats.record("card/identify", "ok", 4.0, T0 + timedelta(minutes=5))

    stats.record("card/identify", "ok", 4.0, T0)

    assert stats.snapshot(T0 + timedelta(minutes=5))["requests"] == 1


def test_the_series_has_one_point_per_bucket_of_the_window() -> None:
    stats = Stats(window_s=900, bucket_s=10)
    for _ in range(20):
        stats.record("card/identify", "ok", 2.0, T0)
    stats.record("card/identify", "internal", 2.0, T0)

    series = stats.snapshot(T0 + timedelta(seconds=10))["series"]

    assert len(series["t"]) == 90
    assert series["t"][-2:] == [int(T0.timestamp()), int(T0.timestamp()) + 10]
    assert (series["requests_per_s"][-2], series["errors_per_s"][-2]) == (2.1, 0.1)
    assert (series["requests_per_s"][-1], series["p50_ms"][-1]) == (0.0, None)


def test_the_filling_bucket_rates_over_its_elapsed_seconds() -> None:
    stats = Stats(window_s=900, bucket_s=10)
    for _ in range(8):
        stats.record("card/identify", "ok", 2.0, T0)

    series = stats.snapshot(T0 + timedelta(seconds=4))["series"]

    assert series["requests_per_s"][-1] == 2.0


def test_distinct_ops_are_capped() -> None:
    stats = Stats()
    for n in range(MAX_OPS + 30):
        stats.record(f"junk/{n}", "unknown_op", None, T0)

    ops = stats.snapshot(LATER)["ops"]

    assert len(ops) == MAX_OPS + 1
    assert next(o for o in ops if o["op"] == OTHER)["requests"] == 30


def test_op_names_are_printable_and_short() -> None:
    stats = Stats()
    stats.record("\x1b[2J" + "x" * 500, "ok", 1.0, T0)

    [op] = stats.snapshot(LATER)["ops"]

    assert op["op"].isprintable()
    assert len(op["op"]) <= 64
