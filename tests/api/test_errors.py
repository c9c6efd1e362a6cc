"""Bad input is answered with a 4xx, whatever it holds."""

from __future__ import annotations

import httpx


async def test_a_body_with_a_lone_surrogate_is_a_422_not_a_crash(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = b'{"name": "\\ud800", "slug": "x"}'

    response = await client.post(
        "/api/v1/admin/cash-boxes",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["detail"]
