"""The field types the route modules share: ids bounded to BIGINT, one-line text, OIDC
subjects, the `?limit=&before_id=` paging of unbounded lists with the page model they answer,
and the OpenAPI entries of refusals.

Every input the schema allows must be answered with 2xx or 4xx, never a crash: ids stay inside
BIGINT, text is one line of a bounded length without control or invisible formatting characters
(the rule of `core.text`, which the MQTT contract applies too; PostgreSQL refuses NUL in text).

A paged route takes `paging: PagingDep`, answers `await paging.fetch(partial(core_query, ...),
key)` as a subclass of `Page` (the subclass names the schema), newest first, keyset on the id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.formats import BIGINT_MAX, SUBJECT_MAX
from core.paging import PAGE_DEFAULT, PAGE_MAX, fetch_page
from core.paging import Page as Rows
from core.text import PLAIN_TEXT, OneLine

# For query parameters: no control or invisible formatting characters.
PRINTABLE = PLAIN_TEXT
# An OIDC subject: printable ASCII without spaces, at most 255 characters.
SUBJECT_PATTERN = r"^[!-~]+$"

# Request bodies: unknown fields are refused (422), not ignored.
REQUEST = ConfigDict(extra="forbid")


def one_line(max_length: int) -> OneLine:
    """One line of plain text, surrounding blanks dropped, 1 to `max_length` characters:
    `name: Annotated[str, one_line(NAME_MAX)]`."""
    return OneLine(max_length)


Subject = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SUBJECT_MAX, pattern=SUBJECT_PATTERN),
    Field(description="An OIDC subject (`sub`): printable ASCII, no spaces."),
]
SubjectPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=SUBJECT_MAX,
        pattern=SUBJECT_PATTERN,
        description="An OIDC subject (`sub`): printable ASCII, no spaces.",
    ),
]
# A row id in the path: a member's, a card's, a session's.
Id = Annotated[int, Path(ge=1, le=BIGINT_MAX)]

DEFAULT_LIMIT = PAGE_DEFAULT
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="At most this many items.")]
BeforeId = Annotated[
    int | None,
    Query(
        ge=1,
        le=BIGINT_MAX,
        description="Only items older than this id: the previous page's `next_before_id`.",
    ),
]

RowT = TypeVar("RowT")
RowT_co = TypeVar("RowT_co", covariant=True)


class KeysetQuery(Protocol[RowT_co]):
    """A core query that returns at most `limit` rows, newest first, with ids below
    `before_id`: `functools.partial(stock.movements, db, product_id)`."""

    def __call__(self, *, limit: int, before_id: int | None) -> Awaitable[Sequence[RowT_co]]: ...


@dataclass(frozen=True)
class Paging:
    """A paged list's `?limit=&before_id=` (limit 1-200, default 50; newest first)."""

    limit: int
    before_id: int | None

    async def fetch(self, query: KeysetQuery[RowT], key: Callable[[RowT], int]) -> Rows[RowT]:
        """The page `query` gives: it is asked for `limit + 1` rows, so that `next_before_id`
        (the `key` of the page's last row) is null on the last page."""
        return await fetch_page(lambda n: query(limit=n, before_id=self.before_id), self.limit, key)


def _paging(limit: Limit = DEFAULT_LIMIT, before_id: BeforeId = None) -> Paging:
    return Paging(limit, before_id)


PagingDep = Annotated[Paging, Depends(_paging)]

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """Base of every paged answer; subclass it per item type (the subclass names the schema):
    `class MemberPage(Page[MemberSummaryOut])`. Validates a `core.paging.Page` directly."""

    model_config = ConfigDict(from_attributes=True)

    items: list[ItemT] = Field(description="Newest first.")
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next, older page; null on the last page."
    )


class Refusal(BaseModel):
    """An error answer: `error` is the stable code for programs (missing on 401 and 403)."""

    model_config = ConfigDict(extra="allow")

    detail: str
    error: str | None = None


Responses = dict[int | str, dict[str, Any]]
USUAL: Mapping[int, str] = {
    401: "Not logged in.",
    403: "Missing the role this needs.",
    404: "Not found.",
    409: "Refused by the current state.",
}


def refusals(*codes: int | Mapping[int, str]) -> Responses:
    """OpenAPI `responses` for a route's or router's refusals, each with a `Refusal` body:
    `refusals(401, {403: "Needs the admin role."})`; a bare code gets the usual description.
    FastAPI documents 422 by itself."""
    described: dict[int, str] = {}
    for code in codes:
        described.update({code: USUAL[code]} if isinstance(code, int) else code)
    return {code: {"model": Refusal, "description": text} for code, text in described.items()}


ADMIN_ONLY = refusals(401, {403: "Needs the admin role."})
