"""Domain errors as wire codes, read from the code each error class declares (core/errors.py).

Devices receive only codes of the closed set (broker/errors.py). An error whose own code is not
in it answers with its nearest ancestor's that is (a sub-admin's `own_authorization` is
`not_authorized` on the wire); one with none at all (web-only, like `conflict`) is `internal`.
"""

from __future__ import annotations

from broker.errors import ErrorCode
from core.errors import DomainError

WIRE_CODES = frozenset(code.value for code in ErrorCode)


def wire_code(kind: type[DomainError]) -> ErrorCode:
    """The code a device receives for an error of this class."""
    for cls in kind.__mro__:
        code = vars(cls).get("code")
        if code in WIRE_CODES:
            return ErrorCode(code)
    return ErrorCode.INTERNAL
