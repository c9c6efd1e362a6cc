"""`/health` (database and broker reachable, no side effects) and `/metrics` for Prometheus."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.deps import SettingsDep

router = APIRouter()
BROKER_TIMEOUT_S = 2.0


async def _broker_reachable(host: str, port: int) -> bool:
    """A TCP connect and close: no MQTT session, nothing published, no account needed."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), BROKER_TIMEOUT_S)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def _database_reachable(engine: AsyncEngine) -> bool:
    """`SELECT 1` on a pooled connection: reads nothing, writes nothing."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return False
    return True


@router.get("/health", tags=["operations"])
async def health(request: Request, settings: SettingsDep) -> JSONResponse:
    """Whether the database and the broker can be reached; 503 when either cannot."""
    database = await _database_reachable(request.app.state.engine)
    broker = await _broker_reachable(settings.mqtt_host, settings.mqtt_port)
    healthy = database and broker
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "broker": broker},
        status_code=200 if healthy else 503,
    )


@router.get("/metrics", tags=["operations"], include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
