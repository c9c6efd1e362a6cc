"""A machine's tariff and a member's own prices on it, as the queries select them.

The machine's list, its authorizations, a member's machines and the tariff a start uses all
outer-join the tariff (a machine may have none yet) and the member's own prices; the columns
and the rule that makes what the member pays out of them are here, once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from core.billing import Tariff, TariffOverride, effective_tariff
from core.models import Authorization, MachineTariff

TARIFF_COLUMNS = (
    MachineTariff.login_fee_cents,
    MachineTariff.price_per_minute_cents,
    MachineTariff.interval_min,
)
OWN_PRICE_COLUMNS = (
    Authorization.login_fee_cents.label("own_login_fee_cents"),
    Authorization.price_per_minute_cents.label("own_price_per_minute_cents"),
    Authorization.interval_min.label("own_interval_min"),
)


def tariff_in(row: Row[*tuple[Any, ...]]) -> Tariff | None:
    """The machine's tariff from a row with TARIFF_COLUMNS; None while it has none."""
    if row.interval_min is None:
        return None
    return Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min)


def own_prices_in(row: Row[*tuple[Any, ...]]) -> TariffOverride:
    """A member's own prices from a row with OWN_PRICE_COLUMNS."""
    return TariffOverride(
        row.own_login_fee_cents, row.own_price_per_minute_cents, row.own_interval_min
    )


def member_tariff_in(row: Row[*tuple[Any, ...]]) -> Tariff | None:
    """What the member pays: the machine's tariff with their own prices applied (None while
    the machine has no tariff), from a row with both TARIFF_COLUMNS and OWN_PRICE_COLUMNS."""
    machine = tariff_in(row)
    return None if machine is None else effective_tariff(machine, own_prices_in(row))
