"""The arithmetic of machine sessions, as pure functions (no database, no clock).

A session prepays its login fee and one interval at start, prepays each further interval when a
heartbeat finds the paid time running out, and at the end pays per started minute actually used:
the unused part of the prepaid intervals comes back as a refund. The login fee never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.formats import MAX_INTERVAL_MIN


@dataclass(frozen=True)
class Tariff:
    login_fee_cents: int
    price_per_minute_cents: int
    interval_min: int

    def __post_init__(self) -> None:
        if self.login_fee_cents < 0 or self.price_per_minute_cents < 0:
            raise ValueError("prices cannot be negative")
        if not 1 <= self.interval_min <= MAX_INTERVAL_MIN:
            raise ValueError(f"the billing interval must be 1-{MAX_INTERVAL_MIN} minutes")

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.interval_min)

    @property
    def interval_cents(self) -> int:
        return self.price_per_minute_cents * self.interval_min

    @property
    def start_cents(self) -> int:
        """The least a start costs: the login fee and the first interval in advance."""
        return self.login_fee_cents + self.interval_cents

    @property
    def is_free(self) -> bool:
        return self.start_cents == 0


@dataclass(frozen=True)
class TariffOverride:
    """A member's own prices on one machine; None keeps the machine's value."""

    login_fee_cents: int | None = None
    price_per_minute_cents: int | None = None
    interval_min: int | None = None


def effective_tariff(machine: Tariff, override: TariffOverride | None) -> Tariff:
    if override is None:
        return machine
    return Tariff(
        login_fee_cents=_pick(override.login_fee_cents, machine.login_fee_cents),
        price_per_minute_cents=_pick(
            override.price_per_minute_cents, machine.price_per_minute_cents
        ),
        interval_min=_pick(override.interval_min, machine.interval_min),
    )


def _pick(override: int | None, default: int) -> int:
    return default if override is None else override


# After a start or a heartbeat the paid time must reach beyond the next two heartbeats, so that
# one lost or late heartbeat never stops a machine its member can pay for.
PREPAY_HEARTBEATS = 2


def prepay_horizon(heartbeat: timedelta) -> timedelta:
    return PREPAY_HEARTBEATS * heartbeat


def next_interval_due(paid_until: datetime, now: datetime, heartbeat: timedelta) -> bool:
    """Whether the paid time no longer reaches beyond two heartbeats."""
    return paid_until - now <= prepay_horizon(heartbeat)


def intervals_due(tariff: Tariff, paid_until: datetime, now: datetime, heartbeat: timedelta) -> int:
    """How many intervals to prepay now so that the paid time reaches beyond the horizon.

    A start (paid_until == now) prepays at least one; a short interval may need more.
    """
    remaining = paid_until - now
    horizon = prepay_horizon(heartbeat)
    if remaining > horizon:
        return 0
    return (horizon - remaining) // tariff.interval + 1


def billed_minutes(started: datetime, ended: datetime) -> int:
    """Minutes billed: every started minute counts (61 s are 2 minutes; 0 s are none)."""
    seconds = max(0.0, (ended - started).total_seconds())
    return math.ceil(seconds / 60)


@dataclass(frozen=True)
class Settlement:
    duration_s: int
    usage_cents: int
    total_cents: int
    refund_cents: int


def settle(tariff: Tariff, *, started: datetime, ended: datetime, prepaid_cents: int) -> Settlement:
    """Final bill of a session that ran from `started` to `ended` with `prepaid_cents` of intervals.

    `ended` must not lie past the paid time; usage never exceeds what was prepaid.
    """
    usage = min(billed_minutes(started, ended) * tariff.price_per_minute_cents, prepaid_cents)
    return Settlement(
        duration_s=max(0, int((ended - started).total_seconds())),
        usage_cents=usage,
        total_cents=tariff.login_fee_cents + usage,
        refund_cents=prepaid_cents - usage,
    )


def affordable_seconds(tariff: Tariff, *, spendable_cents: int) -> int | None:
    """How much longer than the paid time the member's money lasts; None on a free machine."""
    if tariff.interval_cents == 0:
        return None
    intervals = max(0, spendable_cents) // tariff.interval_cents
    return intervals * tariff.interval_min * 60
