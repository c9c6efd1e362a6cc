"""Each domain error declares its answer once, on its class: a code of its own and a status."""

from __future__ import annotations

from collections import Counter

import pytest

from core import errors, link_tokens, sub_admins
from core.errors import DomainError
from tests.domain_errors import domain_errors

# What each refusal answers, over HTTP and (where a device can get it) on the wire.
ANSWERS: dict[type[DomainError], tuple[str, int]] = {
    errors.Conflict: ("conflict", 409),
    errors.NotFound: ("not_found", 404),
    errors.NotAuthorized: ("not_authorized", 403),
    errors.UnknownCard: ("unknown_card", 404),
    errors.CardBlocked: ("card_blocked", 409),
    errors.CardExists: ("card_exists", 409),
    errors.CardLinked: ("card_linked", 409),
    errors.InsufficientFunds: ("insufficient_funds", 409),
    errors.MachineBusy: ("machine_busy", 409),
    errors.UnknownSession: ("unknown_session", 404),
    errors.SessionClosed: ("session_closed", 409),
    errors.UnknownProduct: ("unknown_product", 404),
    errors.ProductInactive: ("product_inactive", 409),
    errors.OutOfStock: ("out_of_stock", 409),
    errors.UnknownTarget: ("unknown_target", 404),
    errors.PinRequired: ("pin_required", 409),
    errors.PinInvalid: ("pin_invalid", 409),
    errors.PinLocked: ("pin_locked", 409),
    errors.UnknownItem: ("unknown_item", 404),
    errors.ItemRented: ("item_rented", 409),
    errors.ItemNotRented: ("item_not_rented", 409),
    errors.ItemReserved: ("item_reserved", 409),
    errors.InvalidTransition: ("invalid_transition", 409),
    errors.ProjectNotActive: ("project_not_active", 409),
    errors.ProjectClosed: ("project_closed", 409),
    errors.LeaderRequired: ("leader_required", 409),
    errors.InvalidPeriod: ("invalid_period", 400),
    errors.ReasonRequired: ("reason_required", 400),
    link_tokens.UnknownLinkToken: ("unknown_link_token", 404),
    link_tokens.LinkTokenUsed: ("link_token_used", 409),
    link_tokens.LinkTokenExpired: ("link_token_expired", 409),
    link_tokens.SubjectLinked: ("subject_linked", 409),
    sub_admins.OwnAuthorization: ("own_authorization", 403),
    sub_admins.PricesAdminOnly: ("prices_admin_only", 403),
}


def test_every_domain_error_declares_a_code_of_its_own() -> None:
    inheriting = [cls.__name__ for cls in domain_errors() if "code" not in vars(cls)]

    assert inheriting == []


def test_no_two_domain_errors_share_a_code() -> None:
    counts = Counter(cls.code for cls in domain_errors())

    assert [code for code, count in counts.items() if count > 1] == []


def test_every_domain_error_answers_with_its_code_and_status() -> None:
    declared = {cls: (cls.code, cls.status) for cls in domain_errors()}

    assert declared == ANSWERS


def test_a_subclass_keeps_its_parents_status_unless_it_names_one() -> None:
    assert (link_tokens.UnknownLinkToken.status, sub_admins.OwnAuthorization.status) == (404, 403)


def test_a_domain_error_without_a_code_is_refused_where_it_is_defined() -> None:
    with pytest.raises(TypeError, match="code"):

        class Nameless(errors.Conflict):  # type: ignore[call-arg]
            pass
