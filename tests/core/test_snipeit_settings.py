"""The Snipe-IT settings: off without a URL, complete with one, the token kept out of sight."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.snipeit.client import Target
from tests.secrets_for_tests import production_settings

TOKEN = "snipe-token-" + "v" * 20


def test_without_a_url_the_adapter_is_off_and_needs_nothing() -> None:
    settings = production_settings()

    assert settings.snipeit_url == ""


@pytest.mark.parametrize(
    "missing", [{"snipeit_token": ""}, {"snipeit_checkout_to": ""}], ids=["token", "target"]
)
def test_a_url_without_a_token_or_a_checkout_target_is_refused(missing: dict[str, str]) -> None:
    values = {
        "snipeit_url": "https://snipeit.example.org",
        "snipeit_token": TOKEN,
        "snipeit_checkout_to": "location:3",
    }

    with pytest.raises(ValidationError, match="MAKERBUS_SNIPEIT_URL needs"):
        production_settings(**{**values, **missing})


def test_a_checkout_target_names_a_location_or_a_user() -> None:
    with pytest.raises(ValidationError, match="snipeit_checkout_to"):
        production_settings(snipeit_checkout_to="asset:3")


def test_the_token_is_hidden_where_settings_are_shown() -> None:
    settings = production_settings(
        snipeit_url="https://snipeit.example.org", snipeit_token=TOKEN, snipeit_checkout_to="user:7"
    )

    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())
    assert Target.parse(settings.snipeit_checkout_to) == Target("user", 7)
