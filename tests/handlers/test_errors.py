"""The wire codes of domain errors: read from each class, always one of the closed set."""

from __future__ import annotations

from broker.errors import ErrorCode
from core import errors, link_tokens, sub_admins
from core.errors import DomainError
from handlers.errors import WIRE_CODES, wire_code
from tests.domain_errors import domain_errors

# Errors whose own code devices do not know: a refinement travels as its parent's code; a
# web-only error reaching a device is a bug, answered `internal`.
NOT_ON_THE_WIRE: dict[type[DomainError], ErrorCode] = {
    errors.Conflict: ErrorCode.INTERNAL,
    errors.NotFound: ErrorCode.INTERNAL,
    errors.InvalidTransition: ErrorCode.INTERNAL,
    errors.ProjectNotActive: ErrorCode.INTERNAL,
    errors.ProjectClosed: ErrorCode.INTERNAL,
    errors.LeaderRequired: ErrorCode.INTERNAL,
    errors.InvalidPeriod: ErrorCode.INTERNAL,
    errors.ReasonRequired: ErrorCode.INTERNAL,
    link_tokens.UnknownLinkToken: ErrorCode.INTERNAL,
    link_tokens.LinkTokenUsed: ErrorCode.INTERNAL,
    link_tokens.LinkTokenExpired: ErrorCode.INTERNAL,
    link_tokens.SubjectLinked: ErrorCode.INTERNAL,
    sub_admins.OwnAuthorization: ErrorCode.NOT_AUTHORIZED,
    sub_admins.PricesAdminOnly: ErrorCode.NOT_AUTHORIZED,
}


def test_devices_receive_only_codes_of_the_closed_set() -> None:
    sent = {wire_code(cls) for cls in domain_errors()}

    assert sent <= set(ErrorCode)


def test_an_error_with_a_wire_code_answers_with_its_own_code() -> None:
    mapped = [cls for cls in domain_errors() if cls.code in WIRE_CODES]

    assert {cls: wire_code(cls).value for cls in mapped} == {cls: cls.code for cls in mapped}
    assert len(mapped) == 20


def test_an_error_without_a_wire_code_answers_as_its_nearest_ancestor_or_internal() -> None:
    unmapped = {cls: wire_code(cls) for cls in domain_errors() if cls.code not in WIRE_CODES}

    assert unmapped == NOT_ON_THE_WIRE
