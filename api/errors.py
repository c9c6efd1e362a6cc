"""Domain refusals as HTTP answers, with the code and status each class declares (core.errors).

Every error body has `detail` (for people) and `error` (for programs); validation errors keep
FastAPI's 422 body, whose `loc` names the field. Anything else that goes wrong (a bug, a
commit the database refuses) is a 500 that says nothing was saved: a page for a browser,
JSON for everyone else; the traceback goes to the server's log, never to the person.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from api.pages import Message, prefers_html
from api.pages import untranslated as _
from api.web.messages import TO_START, anonymous_viewer, as_json, as_page
from core.errors import DomainError


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    body = {"detail": error.message, "error": error.code, **error.fields}
    return JSONResponse(body, status_code=error.status)


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: a 422 echoes the input, which may hold a lone surrogate
    (valid in a JSON string, impossible to encode as UTF-8)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return AsciiJSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)


SERVER_ERROR = Message(
    500,
    "internal_error",
    _("Something went wrong"),
    (
        _(
            "Something went wrong on our side, and nothing was saved. Please try again; if it "
            "keeps failing, tell an admin."
        ),
    ),
)


async def _server_error(request: Request, _error: Exception) -> Response:
    """Starlette raises the error on after this answer, so the server logs its traceback.
    The page asks nothing of the database, which may be what failed."""
    if prefers_html(request):
        return as_page(request, anonymous_viewer(request), SERVER_ERROR, actions=[TO_START])
    return as_json(SERVER_ERROR)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(Exception, _server_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
