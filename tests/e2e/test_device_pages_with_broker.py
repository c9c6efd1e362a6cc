"""A device provisioned on the admin page works on the real stack, and disabling it on the page
shuts it out: an admin in Chromium, a device client on the stack's broker and handlers."""

from __future__ import annotations

import pytest
from makerbus_device import ConnectRefused
from playwright.sync_api import Page

from broker.provisioning import Credentials
from makerbus.login_provider import LocalLoginProvider
from tests.api.web.conftest import log_in
from tests.chromium import Chromium
from tests.e2e.stack import Stack, disconnected, wait_until
from tests.factories import unique_slug
from tests.live_server import LiveApp

# Pages on SQLite only, as in tests/api/web (its conftest says why).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WAIT_S = 10.0
CONNECTION = "#d-connection"  # on the device page


def _credentials_on(page: Page) -> Credentials:
    """The connection settings the provisioning page shows, as a device would type them in."""
    return Credentials(
        username=page.inner_text("#c-username"),
        password=page.inner_text("#c-password"),
        host=page.inner_text("#c-host"),
        port=int(page.inner_text("#c-port")),
    )


def _connection_on(page: Page, url: str) -> str:
    page.goto(url)
    return page.inner_text(CONNECTION)


async def test_a_device_provisioned_on_the_page_connects_until_disabled_on_the_page(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    ada = unique_slug("ada")
    login_provider.set_user(ada, {"name": "Ada Lovelace", "groups": [stack.settings.admin_group]})
    slug = unique_slug("lathe")
    device_page = f"{stack_app.url}/admin/devices/{slug}"

    def provision_connect_disable(page: Page) -> dict[str, object]:
        log_in(page, stack_app.url, ada, "/admin/devices")
        page.fill("#f-slug", slug)
        page.get_by_role("button", name="Provision", exact=True).click()
        page.wait_for_load_state()
        credentials = _credentials_on(page)
        device = stack.device(credentials)
        seen: dict[str, object] = {
            "answered": device.request("device/config").ok,
            # The app hears the device's status a moment after it connected.
            "shown_online": wait_until(
                lambda: _connection_on(page, device_page) == "online", WAIT_S
            ),
        }
        page.get_by_role("button", name="Disable", exact=True).click()
        page.wait_for_load_state()
        seen["dropped"] = disconnected(device)
        with pytest.raises(ConnectRefused):
            stack.device(credentials)
        return seen | {"shown_after": page.inner_text(CONNECTION)}

    seen = await chromium.run(provision_connect_disable)

    assert seen == {
        "answered": True,
        "shown_online": True,
        "dropped": True,
        "shown_after": "offline",
    }
