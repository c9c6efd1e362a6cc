"""What the lending pages share: who acts, the core's refusals said in the page's language,
the form posted, and the `datetime-local` fields of a period (the space's local time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Request

from api.lending import in_utc
from api.pages import untranslated as _
from api.web.i18n import Formats
from api.web.render import gettext_for
from api.web.viewer import Viewer
from core.equipment import EXPIRED_NOTES
from core.errors import DomainError
from core.projects import Acting

# What a refused change says, by the core's error code.
REFUSALS = {
    "item_reserved": _("The item is reserved until %(until)s: please choose another period."),
    "item_rented": _("The item is out now: please choose a later start."),
    "invalid_period": _(
        "Please choose a period that ends after it starts, lasts at most 90 days and does not "
        "start in the past."
    ),
    "project_not_active": _("Only an active project can borrow equipment."),
    "not_authorized": _("You may not do this."),
    "invalid_transition": _("This was changed meanwhile: it is no longer possible."),
    "project_closed": _("The project is closed: its members stay as they are."),
    "leader_required": _("A project keeps a leader: make another member leader first."),
    "unknown_item": _("This item is not in service."),
}
OTHER_REFUSAL = _("This is not possible.")
# The sweep's notes, by what it wrote in English (core.equipment.EXPIRED_NOTES).
EXPIRED = {
    EXPIRED_NOTES["approved"]: _("Its period ended without the item being taken out."),
    EXPIRED_NOTES["pending"]: _("Its period ended before it was decided."),
}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def acting(viewer: Viewer) -> Acting:
    """The viewer as the core's `Acting`: their member (if any), login and technician flag."""
    assert viewer.principal is not None  # the pages' guards saw to it
    principal = viewer.principal
    return Acting(viewer.member_id, principal.subject, principal.name, viewer.is_technician)


def refusal(error: DomainError, formats: Formats) -> str:
    """The refusal in the page's language."""
    text = str(gettext_for(formats.language)(REFUSALS.get(error.code, OTHER_REFUSAL)))
    until = error.fields.get("until")
    if isinstance(until, str):
        text %= {"until": formats.datetime(datetime.fromisoformat(until), "short")}
    return text


def decision_note(note: str | None, formats: Formats) -> str | None:
    """A decision's note as shown: the technician's words, or the sweep's translated."""
    if note in EXPIRED:
        return str(gettext_for(formats.language)(EXPIRED[note]))
    return note


def said(viewer: Viewer, text: str, **values: str) -> str:
    """A notice or an error (`text` marked with `untranslated as _`) in the page's language."""
    translated = str(gettext_for(viewer.language)(text))
    return translated % values if values else translated


async def posted(request: Request) -> dict[str, str]:
    """The form's fields as text (file fields are not expected)."""
    return {key: str(value) for key, value in (await request.form()).items()}


def local_input(moment: datetime, formats: Formats) -> str:
    """A moment as a `datetime-local` field shows it, in the space's zone, to the minute."""
    return formats.local(moment).strftime(LOCAL_INPUT)


def parse_local(text: str, formats: Formats) -> datetime:
    """A `datetime-local` field's value (local time of the space) as UTC; ValueError if it is
    none."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is not None:
        raise ValueError("a local time has no offset")
    return in_utc(moment.replace(tzinfo=formats.zone))


def minute(moment: datetime) -> datetime:
    return moment - timedelta(seconds=moment.second, microseconds=moment.microsecond)
