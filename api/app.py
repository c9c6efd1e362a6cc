"""The FastAPI application: `create_app(settings)`; `makerbus api` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from api import (
    card_link,
    catalogue,
    docs,
    equipment,
    errors,
    health,
    login,
    me,
    notifications,
    projects,
)
from api.access import AccessLog
from api.admin import audit as audit_api
from api.admin import cash_boxes, devices, machines, member_lookup, members, products, rentals
from api.live import monitor
from api.login import LOGIN_STATE_MAX_AGE_S, make_oauth
from api.session_tokens import LOGIN_STATE_COOKIE, SessionSigner, cookie_name, derive_key
from api.web import member as member_pages
from api.web import public, site
from api.web.admin import audit as audit_pages
from api.web.admin import cash_boxes as cash_box_pages
from api.web.admin import dashboard, live
from api.web.admin import devices as device_pages
from api.web.admin import machines as machine_pages
from api.web.admin import members as member_admin_pages
from api.web.admin import products as product_pages
from api.web.admin import rentals as rental_pages
from api.web.lending import lab as lab_pages
from api.web.lending import notices as notice_pages
from api.web.lending import projects as project_pages
from api.web.lending import requests as request_pages
from core.clock import Clock, SystemClock
from core.db import async_session_factory, make_async_engine
from core.settings import WEB_SECRET_FIELDS, Settings

OPENAPI_URL = "/api/openapi.json"
ROUTERS = (
    health.router,
    login.router,
    catalogue.router,
    me.router,
    card_link.router,
    devices.router,
    machines.router,
    member_lookup.router,
    members.router,
    products.router,
    cash_boxes.router,
    rentals.router,
    audit_api.router,
    audit_api.lab,
    projects.mine,
    projects.lab,
    equipment.mine,
    equipment.lab,
    notifications.mine,
    notifications.lab,
    site.router,
    public.router,
    member_pages.router,
    dashboard.router,
    device_pages.router,
    machine_pages.router,
    member_admin_pages.router,
    product_pages.router,
    cash_box_pages.router,
    rental_pages.router,
    audit_pages.router,
    live.router,
    project_pages.router,
    request_pages.router,
    notice_pages.router,
    lab_pages.router,
)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    settings.require_secrets(*WEB_SECRET_FIELDS)
    engine = make_async_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with monitor.watching(application):
            yield
        await engine.dispose()

    app = FastAPI(
        title="makerbus",
        summary="The web side of makerbus: JSON under /api/v1, money in integer cents.",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.engine = engine
    app.state.sessions = async_session_factory(engine)
    app.state.signer = SessionSigner(
        settings.session_secret, timedelta(hours=settings.session_hours)
    )
    app.state.oauth = make_oauth(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=derive_key(settings.session_secret, "login-state").hex(),
        session_cookie=cookie_name(LOGIN_STATE_COOKIE, secure=not settings.is_dev),
        max_age=LOGIN_STATE_MAX_AGE_S,
        path="/",  # a __Host- cookie must be for the whole site
        same_site="lax",
        https_only=not settings.is_dev,
    )
    app.add_middleware(AccessLog)
    errors.install(app)
    site.install(app)
    docs.install(app, openapi_url=OPENAPI_URL)
    for router in ROUTERS:
        app.include_router(router)
    return app
