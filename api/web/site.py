"""What every page shares: the static files, the language switch, the start of a visit (`/`
sends a logged-in person to their own page), and the refusals as pages: to the login for
nobody, "not for you" for the wrong person, "link a card first" for a login without a member.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import invalid_request
from api.login import safe_next
from api.pages import prefers_html
from api.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from api.web.messages import anonymous_viewer
from api.web.render import render
from api.web.viewer import (
    LoginRequired,
    NoMemberYet,
    NotForYou,
    PageNotFound,
    PageRefusal,
    Viewer,
)
from core.settings import Settings

STATIC = Path(__file__).parent / "static"
LANGUAGE_COOKIE_DAYS = 365
router = APIRouter(include_in_schema=False)


def home_of(viewer: Viewer) -> str:
    """Where a logged-in person starts: their own page, else the first page they manage."""
    if viewer.member_id is not None:
        return "/me"
    if viewer.is_admin:
        return "/admin"
    if viewer.is_product_manager:
        return "/admin/products"
    if viewer.manages_machines:
        return "/admin/machines"
    return "/welcome"


def login_url(next_path: str) -> str:
    return f"/auth/login?{urlencode({'next': safe_next(next_path)})}"


@router.get("/language/{language}")
async def switch_language(
    language: str, request: Request, next: Annotated[str | None, Query()] = None
) -> Response:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in LANGUAGES:
        settings: Settings = request.app.state.settings
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=LANGUAGE_COOKIE_DAYS * 24 * 3600,
            samesite="lax",
            secure=not settings.is_dev,
            path="/",
        )
    return response


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageRefusal)
    known = error.args[0] if error.args and isinstance(error.args[0], Viewer) else None
    viewer = known or anonymous_viewer(request)
    if isinstance(error, LoginRequired):
        if request.method == "GET":
            return RedirectResponse(login_url(_here(request)), status_code=303)
        return render(request, viewer, "refused/login.html", status=401)
    if isinstance(error, NoMemberYet):
        return RedirectResponse("/welcome", status_code=303)
    if isinstance(error, PageNotFound):
        return render(request, viewer, "refused/not_found.html", status=404)
    assert isinstance(error, NotForYou)
    context = {"login_again": login_url(_here(request))}
    return render(request, viewer, "refused/not_for_you.html", context, status=403)


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and prefers_html(request)


async def _http_error(request: Request, error: Exception) -> Response:
    """An unknown address is a page for a browser, JSON under /api and for programs."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code in (404, 405) and _is_page(request):
        return render(request, anonymous_viewer(request), "refused/not_found.html", status=404)
    return await http_exception_handler(request, error)


async def _invalid_address(request: Request, error: Exception) -> Response:
    """A page's address with a malformed part (`?before_id=abc`, a path id that is no number)
    is no page there is: the not-found page for a browser; the 422 for programs."""
    if _is_page(request):
        return render(request, anonymous_viewer(request), "refused/not_found.html", status=404)
    return await invalid_request(request, error)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(PageRefusal, _refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_address)
