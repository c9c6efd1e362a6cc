"""What the lending routes share (api/projects.py, api/equipment.py, api/notifications.py):
who acts, as `core.projects.Acting`, and the answer and body models.

Members act under `/api/v1/me/…` and see only the projects they are in and those projects'
requests (anything else is 404, as an id that does not exist). Lab technicians (the admin role,
or the technician group) work under `/api/v1/lab/…`. The rules themselves are the core's; its
refusals answer with their own codes (api/errors.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.admin.rentals import Tid
from api.auth import MemberDep, Principal, PrincipalDep, TechnicianDep, require_technician
from api.deps import DbDep
from api.fields import REQUEST, Page, one_line, refusals
from core import logins
from core.errors import NotFound
from core.formats import BIGINT_MAX, EMAIL_MAX, NAME_MAX, REASON_MAX
from core.models.projects import PROJECT_ROLES
from core.notifications import JsonValue
from core.projects import DESCRIPTION_MAX, NOTE_MAX, Acting
from core.text import PLAIN_LINES


def _lines(max_length: int, min_length: int = 0) -> StringConstraints:
    """Text of several lines (no other control or formatting characters), blanks dropped."""
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=PLAIN_LINES
    )


ProjectName = Annotated[str, one_line(NAME_MAX)]
Description = Annotated[str, _lines(DESCRIPTION_MAX)]
Note = Annotated[str, _lines(NOTE_MAX)]
# Blank is let through: the core refuses it with `reason_required`.
Reason = Annotated[str, _lines(REASON_MAX)]
Role = Annotated[
    str,
    Field(pattern=f"^({'|'.join(PROJECT_ROLES)})$", description="leader, member or advisor"),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=EMAIL_MAX, pattern=r"^[^@\s]+@[^@\s]+$"),
]


LAST_YEAR = 9000  # far enough for any request, and room for date arithmetic past it


def in_utc(moment: datetime) -> datetime:
    """A moment with an offset as UTC; ValueError when that falls outside the calendar."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("this moment is outside the calendar") from None
    if utc.year > LAST_YEAR:
        raise ValueError(f"a moment is at the latest in the year {LAST_YEAR}")
    return utc


Moment = Annotated[
    AwareDatetime,
    AfterValidator(in_utc),
    Field(description="RFC 3339 with an offset, e.g. 2026-12-03T14:00:00+01:00"),
]


def acting_member(principal: Principal, member_id: int) -> Acting:
    return Acting(member_id, principal.subject, principal.name, principal.is_technician)


async def _member_acting(principal: PrincipalDep, member_id: MemberDep) -> Acting:
    return acting_member(principal, member_id)


async def _technician_acting(principal: TechnicianDep, db: DbDep) -> Acting:
    """A technician acts by their login; the member behind it, if any, is theirs too."""
    member_id = None if principal.is_token else await logins.member_id(db, principal.subject)
    return Acting(member_id, principal.subject, principal.name, is_technician=True)


MemberActingDep = Annotated[Acting, Depends(_member_acting)]
TechnicianActingDep = Annotated[Acting, Depends(_technician_acting)]


def members_router(prefix: str, tag: str) -> APIRouter:
    """The routes of a member's own lending (`/api/v1/me…`): a login, and a member behind it
    where the route needs one."""
    return APIRouter(prefix=f"/api/v1/me{prefix}", tags=[tag], responses=refusals(401, 403))


def lab_router(prefix: str, tag: str) -> APIRouter:
    """The lab technicians' routes (`/api/v1/lab…`): the admin role or the technician group."""
    return APIRouter(
        prefix=f"/api/v1/lab{prefix}",
        tags=[f"lab: {tag}"],
        dependencies=[Depends(require_technician)],
        responses=refusals(401, {403: "Needs a lab technician."}),
    )


def not_yours(what: str, thing_id: int) -> NotFound:
    """Another project's row: answered as if there were none."""
    return NotFound(f"no {what} {thing_id}")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MembershipOut(Out):
    member_id: int
    name: str
    role: str = Field(description="leader, member or advisor")
    added_at: datetime


class ProjectSummaryOut(Out):
    id: int
    name: str
    description: str | None
    status: str = Field(description="pending, active, rejected, completed or archived")
    created_by: int = Field(description="The member who created it.")
    created_at: datetime
    decided_by: str | None = Field(description="The technician who approved or rejected it.")
    decided_at: datetime | None
    decision_note: str | None = Field(description="The approval's note or the rejection's reason.")


class ProjectOut(ProjectSummaryOut):
    members: list[MembershipOut] = Field(description="Leaders first.")


class MyProjectOut(ProjectSummaryOut):
    role: str = Field(description="Your role in it.")


class ProjectPage(Page[ProjectSummaryOut]):
    """Projects, newest first."""


class NewProject(BaseModel):
    model_config = REQUEST

    name: ProjectName
    description: Description | None = None


class NewMembership(BaseModel):
    """A member to add, by their e-mail address exactly as their account has it."""

    model_config = REQUEST

    email: Email
    role: Role = "member"


class RoleChange(BaseModel):
    model_config = REQUEST

    role: Role


class Approval(BaseModel):
    model_config = REQUEST

    note: Note | None = None


class Rejection(BaseModel):
    model_config = REQUEST

    reason: Reason = Field(description="Why: the members read it.")


class RequestOut(Out):
    id: int
    project_id: int
    project_name: str
    item_id: int
    tid: str
    item_name: str
    requested_by: int
    requester_name: str
    starts_at: datetime
    ends_at: datetime
    status: str = Field(
        description="pending, approved, rejected, cancelled, checked_out, returned or overdue"
    )
    note: str | None
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None = Field(
        description="The technician's note or reason, or why the request expired."
    )
    rental_id: int | None = Field(description="The rental it went out under, once out.")


class RequestPage(Page[RequestOut]):
    """Equipment requests, newest first."""


class NewRequest(BaseModel):
    model_config = REQUEST

    project_id: int = Field(ge=1, le=BIGINT_MAX)
    tid: Tid
    starts_at: Moment
    ends_at: Annotated[Moment, Field(description="Exclusive; at most 90 days after `starts_at`.")]
    note: Note | None = None


class Cancellation(BaseModel):
    model_config = REQUEST

    note: Note | None = None


class NotificationOut(Out):
    id: int
    kind: str = Field(description="What happened: project_approved, request_due, …")
    data: dict[str, JsonValue] = Field(description="What its text is made of.")
    link: str | None = Field(description="The page it concerns.")
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationOut]):
    """Notifications, newest first, and how many of the inbox are unread."""

    unread_count: int


class ReadMarks(BaseModel):
    model_config = REQUEST

    ids: list[Annotated[int, Field(ge=1, le=BIGINT_MAX)]] = Field(min_length=1, max_length=200)


class Marked(BaseModel):
    marked: int = Field(description="How many of them were unread.")
    unread_count: int
