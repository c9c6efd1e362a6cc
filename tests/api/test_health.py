"""/health says whether the database and the broker can be reached, and changes nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from api.app import create_app
from broker.launcher import free_port
from core.settings import Settings


async def test_health_is_ok_when_database_and_broker_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


async def test_health_is_503_and_names_what_is_down(settings: Settings) -> None:
    down = settings.model_copy(
        update={
            "mqtt_port": free_port(),
            "database_url": f"postgresql://nobody@127.0.0.1:{free_port()}/x",
        }
    )
    app: FastAPI = create_app(down)
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/health")
    await app.state.engine.dispose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": False, "broker": False}


async def test_metrics_are_served_for_prometheus(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert "python_info" in response.text


async def test_the_openapi_document_and_the_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    docs = await client.get("/api/docs")

    assert "/api/v1/products" in spec["paths"]
    assert docs.status_code == 200


async def test_the_docs_page_loads_nothing_from_other_sites(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    script = await client.get("/api/docs/assets/swagger-ui-bundle.js")

    assert "cdn" not in page.text
    assert "/api/docs/assets/swagger-ui-bundle.js" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
