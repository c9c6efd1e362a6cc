"""A browser, as far as logins go: redirects through the real provider, cookies kept."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from makerbus.login_provider import LocalLoginProvider


class Browser:
    def __init__(self, app_client: httpx.AsyncClient, provider: LocalLoginProvider) -> None:
        self.app = app_client
        self.provider = provider

    async def login(
        self,
        subject: str,
        *,
        groups: Sequence[str] = (),
        name: str | None = None,
        start: str = "/auth/login",
        claims: dict[str, object] | None = None,
    ) -> httpx.Response:
        """Log in as `subject` and land where the app sends us; returns that last answer.

        `claims` replaces the claims the provider gives (name, email, groups) entirely."""
        if claims is None:
            claims = {
                "name": name or subject,
                "email": f"{subject}@example.org",
                "groups": [*groups],
            }
        self.provider.set_user(subject, claims)
        to_provider = await self.app.get(start)
        assert to_provider.status_code in (302, 303, 307), to_provider.text
        consent_url = to_provider.headers["location"]
        assert consent_url.startswith(self.provider.issuer)
        async with httpx.AsyncClient() as provider:
            consent_page = await provider.get(consent_url)
            assert consent_page.status_code == 200, consent_page.text
            consented = await provider.post(consent_url, data={"sub": subject})
        assert consented.status_code in (302, 303), consented.text
        back = urlsplit(consented.headers["location"])
        return await self.app.get(f"{back.path}?{back.query}")

    async def follow(self, response: httpx.Response) -> httpx.Response:
        return await self.app.get(response.headers["location"])
