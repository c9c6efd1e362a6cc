"""Page tests: the app served on loopback, Chromium, and people the login provider knows.

They run on SQLite only: a page renders what the core services read, and those services, the
JSON API on them and the migrations are tested on both databases elsewhere; a browser on both
would double the suite's slowest part for no rule the other tests do not check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page

from core.migrations import upgrade
from core.settings import Settings
from makerbus.login_provider import LocalLoginProvider
from tests.databases import fresh_sqlite
from tests.factories import unique_slug

Person = Callable[..., str]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated SQLite database for the page tests of a session (see above)."""
    with fresh_sqlite(tmp_path_factory.mktemp("pages-sqlite")) as url:
        upgrade(url)
        yield url


@pytest.fixture
def person(login_provider: LocalLoginProvider, settings_groups: dict[str, str]) -> Person:
    """A new login at the provider: `person("Ada Lovelace", "admin")` → its subject. Roles
    are `admin`, `shop` (the product-manager group) and `lab` (the technician group)."""

    def make(name: str, *roles: str) -> str:
        subject = unique_slug(name.split()[0].lower())
        groups = [settings_groups[role] for role in roles]
        login_provider.set_user(subject, {"name": name, "groups": groups})
        return subject

    return make


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """With a technician group of its own (by default the admins are the technicians)."""
    return api_settings.model_copy(update={"technician_group": "lab-technicians"})


@pytest.fixture
def settings_groups(api_settings: Settings) -> dict[str, str]:
    return {
        "admin": api_settings.admin_group,
        "shop": api_settings.product_manager_group,
        "lab": api_settings.technician_group,
    }


def log_in(page: Page, base_url: str, subject: str, path: str = "/") -> None:
    """Through the provider's form, as a person would, ending up at `path`."""
    page.goto(f"{base_url}/auth/login?next={path}")
    page.fill("input[name=sub]", subject)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_load_state()
