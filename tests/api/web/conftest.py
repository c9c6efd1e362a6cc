"""Page tests: the app served on loopback, Chromium, and people the login provider knows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from core.settings import Settings
from makerbus.login_provider import LocalLoginProvider
from tests.factories import unique_slug

Person = Callable[..., str]


@pytest.fixture
def person(login_provider: LocalLoginProvider, settings_groups: dict[str, str]) -> Person:
    """A new login at the provider: `person("Ada Lovelace", "admin")` → its subject. Roles
    are `admin` and `shop` (the product-manager group)."""

    def make(name: str, *roles: str) -> str:
        subject = unique_slug(name.split()[0].lower())
        groups = [settings_groups[role] for role in roles]
        login_provider.set_user(subject, {"name": name, "groups": groups})
        return subject

    return make


@pytest.fixture
def settings_groups(api_settings: Settings) -> dict[str, str]:
    return {"admin": api_settings.admin_group, "shop": api_settings.product_manager_group}


def log_in(page: Page, base_url: str, subject: str, path: str = "/") -> None:
    """Through the provider's form, as a person would, ending up at `path`."""
    page.goto(f"{base_url}/auth/login?next={path}")
    page.fill("input[name=sub]", subject)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_load_state()
