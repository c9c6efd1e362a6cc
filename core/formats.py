"""The formats of values that the wire contract, the web API and the services share.

Identifiers, text lengths, number and money bounds, and the device kinds: each written once
here. Standard library only, so that the MQTT contract (and the JSON Schemas generated from it)
can use them without loading the database layer or any service.
"""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    MACHINE = "machine"
    CHECKOUT = "checkout"
    BANKOMAT = "bankomat"
    RENTAL = "rental"


# The largest BIGINT (64-bit signed): no id or amount the database keeps can exceed it.
BIGINT_MAX = 2**63 - 1

# Identifiers. A slug names a device (its broker account and topics) or a cash box.
SLUG_PATTERN = r"^[a-z0-9-]{2,40}$"
# A card UID as stored: upper-case hex of 4, 7 or 10 bytes.
CARD_UID_PATTERN = r"^(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$"
# A UHF tag id (TID) as stored: upper-case hex.
TID_PATTERN = r"^[0-9A-F]{8,64}$"
EAN_PATTERN = r"^[0-9]{8,14}$"
PIN_PATTERN = r"^[0-9]{4,8}$"
# An OIDC subject (`sub`), the login a member is linked to.
SUBJECT_MAX = 255

# Text lengths. NAME_MAX is the name of a member, product, rental item, cash box or device.
NAME_MAX = 200
# The name a checkout terminal may give a member it registers (`card/register`).
REGISTER_NAME_MAX = 100
CATEGORY_MAX = 100
EMAIL_MAX = 320
REASON_MAX = 500

# Counts. A checkout basket has at most MAX_LINES lines of at most MAX_QTY units each.
MAX_LINES = 50
MAX_QTY = 99
# A shop's shelf, not a warehouse; it also keeps the stock far inside its 32-bit column.
STOCK_MAX = 1_000_000
# The most ledger lines `bank/history` answers with.
HISTORY_LIMIT = 20
# A tariff's billing interval: at most a day.
MAX_INTERVAL_MIN = 1440

# Money, in cents. A price (a product's, a tariff's login fee or price per minute) is a sanity
# bound, 100,000.00: a whole day's interval of it (x 1440 minutes) still fits 64 bits.
PRICE_MAX_CENTS = 10_000_000
# Amounts an admin types (corrections, opening balances, credit limits): one million in whole
# units. Far inside BIGINT, so no sum of them can overflow a balance.
ADMIN_AMOUNT_MAX_CENTS = 100_000_000
# One amount of cash at the Bankomat (top-up, donation, transfer, payout): 1000.00.
CASH_AMOUNT_MAX_CENTS = 100_000
