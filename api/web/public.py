"""Pages for everyone: the start page of the space."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.web.render import render
from api.web.site import home_of
from api.web.viewer import ViewerDep

router = APIRouter(include_in_schema=False)


@router.get("/")
async def start(request: Request, viewer: ViewerDep) -> Response:
    """What the space is and how to log in; a logged-in person goes on to their own page."""
    if viewer.principal is not None and not viewer.principal.is_token:
        return RedirectResponse(home_of(viewer), status_code=303)
    return render(request, viewer, "public/start.html")
