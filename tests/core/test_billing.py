"""Billing arithmetic: rule tables and properties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.billing import (
    Tariff,
    TariffOverride,
    affordable_seconds,
    billed_minutes,
    effective_tariff,
    intervals_due,
    next_interval_due,
    settle,
)
from tests.factories import T0

LASER = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)


def test_a_start_costs_the_login_fee_and_the_first_interval() -> None:
    assert LASER.start_cents == 100 + 20 * 15


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (899, 15), (900, 15), (901, 16)],
)
def test_every_started_minute_is_billed(seconds: int, minutes: int) -> None:
    assert billed_minutes(T0, T0 + timedelta(seconds=seconds)) == minutes


def test_end_refunds_the_unused_part_of_the_prepaid_interval() -> None:
    bill = settle(
        LASER,
        started=T0,
        ended=T0 + timedelta(minutes=4, seconds=1),
        prepaid_cents=LASER.interval_cents,
    )

    assert bill.duration_s == 241
    assert bill.usage_cents == 5 * 20
    assert bill.total_cents == 100 + 100
    assert bill.refund_cents == 300 - 100


def test_the_login_fee_is_never_refunded() -> None:
    bill = settle(LASER, started=T0, ended=T0, prepaid_cents=LASER.interval_cents)

    assert (bill.total_cents, bill.refund_cents) == (100, 300)


def test_a_session_ending_exactly_at_paid_time_gets_no_refund() -> None:
    bill = settle(
        LASER, started=T0, ended=T0 + timedelta(minutes=30), prepaid_cents=2 * LASER.interval_cents
    )

    assert (bill.usage_cents, bill.refund_cents) == (600, 0)


def test_the_next_interval_is_due_when_paid_time_no_longer_reaches_past_two_heartbeats() -> None:
    paid_until = T0 + timedelta(minutes=15)
    heartbeat = timedelta(seconds=30)

    assert not next_interval_due(paid_until, paid_until - timedelta(seconds=61), heartbeat)
    assert next_interval_due(paid_until, paid_until - timedelta(seconds=60), heartbeat)


@pytest.mark.parametrize(
    ("remaining_s", "interval_min", "expected"),
    [
        (90, 1, 0),
        (61, 1, 0),
        (60, 1, 1),
        (59, 1, 1),
        (0, 1, 2),
        (0, 15, 1),
        (10, 15, 1),
        (-1, 1, 2),
    ],
)
def test_enough_intervals_are_prepaid_to_reach_past_the_horizon(
    remaining_s: int, interval_min: int, expected: int
) -> None:
    tariff = Tariff(0, 1, interval_min)
    paid_until = T0 + timedelta(seconds=remaining_s)

    assert intervals_due(tariff, paid_until, T0, timedelta(seconds=30)) == expected


def test_an_override_replaces_only_the_values_it_sets() -> None:
    member = effective_tariff(LASER, TariffOverride(price_per_minute_cents=5))

    assert member == Tariff(login_fee_cents=100, price_per_minute_cents=5, interval_min=15)


def test_no_override_means_the_machine_tariff() -> None:
    assert effective_tariff(LASER, None) is LASER


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ((-1, 0, 1), "negative"),
        ((0, -5, 1), "negative"),
        ((0, 0, 0), "1-1440"),
        ((0, 0, 1441), "1-1440"),
    ],
)
def test_invalid_tariffs_are_refused(values: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tariff(*values)


def test_a_free_machine_lasts_forever() -> None:
    free = Tariff(0, 0, 60)

    assert free.is_free
    assert affordable_seconds(free, spendable_cents=0) is None


def test_affordable_time_counts_whole_intervals() -> None:
    assert affordable_seconds(LASER, spendable_cents=899) == 2 * 15 * 60


tariffs = st.builds(Tariff, st.integers(0, 10_000), st.integers(0, 1_000), st.integers(1, 1440))


@given(tariff=tariffs, intervals=st.integers(1, 20), used_s=st.integers(0, 10 * 24 * 3600))
def test_refund_never_exceeds_prepaid_and_bill_adds_up(
    tariff: Tariff, intervals: int, used_s: int
) -> None:
    prepaid = intervals * tariff.interval_cents
    used = min(used_s, intervals * tariff.interval_min * 60)

    bill = settle(tariff, started=T0, ended=T0 + timedelta(seconds=used), prepaid_cents=prepaid)

    assert 0 <= bill.refund_cents <= prepaid
    assert bill.total_cents + bill.refund_cents == tariff.login_fee_cents + prepaid
    assert bill.usage_cents == min(
        prepaid, billed_minutes(T0, T0 + timedelta(seconds=used)) * tariff.price_per_minute_cents
    )
