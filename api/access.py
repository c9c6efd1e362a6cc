"""One log line per request, and `Cache-Control: no-store` on personal answers.

uvicorn's own access log is off (`makerbus api`): it writes the raw path and query, and those
hold secrets here — card-link tokens (`/link/<token>`) and the provider's one-time login code
(`/auth/callback?code=…`). This log names the route's template instead (`/link/{token}`).
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("makerbus.api.access")
PERSONAL_PREFIXES = ("/auth/", "/api/v1/me", "/api/v1/admin/", "/api/v1/lab/", "/link/")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, BaseRoute) and hasattr(route, "path"):
        return str(route.path)
    return "(no route)"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500
        personal = str(scope["path"]).startswith(PERSONAL_PREFIXES)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                if personal and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "%s %s %d",
                scope["method"],
                route_template(scope),
                status,
                extra={"duration_ms": round((time.monotonic() - started) * 1000, 1)},
            )
