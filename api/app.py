"""The FastAPI application: `create_app(settings)`; `makerbus api` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import catalogue, health
from core.db import async_session_factory, make_async_engine
from core.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    engine = make_async_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(
        title="makerbus",
        summary="The web side of makerbus: JSON under /api/v1, money in integer cents.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = async_session_factory(engine)
    app.include_router(health.router)
    app.include_router(catalogue.router)
    return app
