"""How a form of the shop admin's pages is handled, once for all of them: its fields checked
with the JSON API's request model, its change made inside a savepoint, then either a redirect
with a notice (303) or its page again with the errors beside the fields.

A page holds several forms, so a form's fields are posted as `<form>-<field>` (the restock and
the stocktake both have a `note`); the errors and the values shown again use those names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from api.admin.products import EAN_CHECK_DIGIT
from api.fields import REQUEST
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify
from api.web.viewer import Viewer
from core.clock import Clock
from core.errors import DomainError
from core.origin import Origin

LIST = "/admin/products"
M = TypeVar("M", bound=BaseModel)
# The page again: called with `errors=`, `values=` and `status=`.
Redo = Callable[..., Awaitable[Response]]
# A refusal the form expects: the field it is shown by and the (translated) text.
Refusals = Mapping[type[DomainError], tuple[str, str]]


class NoFields(BaseModel):
    """A form that is a button only."""

    model_config = REQUEST


@dataclass(frozen=True)
class Done:
    """Where to go after a form's change, and the notice that says what happened."""

    to: str
    notice: str


def fields_of(
    model: type[M], form: FormData, viewer: Viewer, name: str, fixed: Mapping[str, str]
) -> tuple[M | None, FieldErrors, dict[str, str]]:
    """Form `name`'s fields (with `fixed` put in) as `model`, or None; the errors and the
    values to show again, by the posted names."""
    fields = {
        key.removeprefix(f"{name}-"): value
        for key, value in form.items()
        if key.startswith(f"{name}-") and isinstance(value, str)
    } | dict(fixed)
    _ = gettext_for(viewer.language)
    messages = {EAN_CHECK_DIGIT: _("The last digit does not fit: please check the EAN.")}
    checked, errors = validated(
        model, fields, viewer.formats, money=("price_cents",), messages=messages
    )
    values = {f"{name}-{key}": value for key, value in fields.items()}
    return checked, {f"{name}-{key}" if key else "": text for key, text in errors.items()}, values


async def submitted(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    *,
    form: str,
    model: type[M],
    act: Callable[[M], Awaitable[Done]],
    redo: Redo,
    refusals: Refusals | None = None,
    fixed: Mapping[str, str] | None = None,
) -> Response:
    """Form `form` as `model`, then `act` on it: a redirect to where it says, or the page
    again with the model's errors (422) or an expected refusal by its field (its status)."""
    checked, errors, values = fields_of(model, await request.form(), viewer, form, fixed or {})
    if checked is None:
        return await redo(errors=errors, values=values, status=422)
    expected = refusals or {}
    try:
        async with db.begin_nested():
            done = await act(checked)
    except tuple(expected) as refused:
        field, text = next(shown for kind, shown in expected.items() if isinstance(refused, kind))
        return await redo(errors={field: text}, values=values, status=refused.status)
    notify(request, done.notice)
    return RedirectResponse(done.to, status_code=303)


def origin_of(viewer: Viewer, clock: Clock) -> Origin:
    """A stock change made on a page: by the logged-in person."""
    return Origin.of(viewer.actor, now=clock.now())
