"""A small client of Snipe-IT's REST API (v1): the hardware list, one asset, checkout, check-in.

Snipe-IT refuses most things with HTTP 200 and `{"status": "error", "messages": ...}`, and
throttles with 429 and a Retry-After in seconds. The token goes into one request header and
nowhere else: no error text, log line or repr here holds it.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from core.settings import Settings

Sleep = Callable[[float], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)
# How long and how often a request waits out a 429 before it gives up (the caller retries later).
RATE_LIMIT_WAITS = 3
MAX_RETRY_AFTER_S = 60.0
DEFAULT_RETRY_AFTER_S = 60.0


class SnipeItError(Exception):
    """A request did not go through: unreachable, an HTTP error, a refusal, an odd answer."""


class Refused(SnipeItError):
    """Snipe-IT answered `"status": "error"` (with HTTP 200, as it does)."""


class RateLimited(SnipeItError):
    """Still 429 after waiting: try again after `retry_after_s`."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limited by Snipe-IT (retry after {retry_after_s:g} s)")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Target:
    """Whom an asset is checked out to in Snipe-IT: a location or a user, by id."""

    kind: Literal["location", "user"]
    id: int

    @classmethod
    def parse(cls, text: str) -> Target:
        """`location:12` or `user:7`, as MAKERBUS_SNIPEIT_CHECKOUT_TO says it."""
        kind, _, number = text.partition(":")
        if kind not in ("location", "user") or not number.isdigit():
            raise ValueError(f"a checkout target is location:<id> or user:<id>, not {text!r}")
        return cls("location" if kind == "location" else "user", int(number))


@dataclass(frozen=True)
class Asset:
    """An asset of the hardware list as makerbus reads it."""

    id: int
    name: str
    tag: str | None  # the custom field's value, as entered
    active: bool
    assigned_to: Target | None


class _Field(BaseModel):
    field: str = ""
    value: str | int | float | None = None


class _Status(BaseModel):
    status_type: str = ""


class _Assigned(BaseModel):
    id: int
    type: str


class _Row(BaseModel):
    id: int
    name: str | None = None
    asset_tag: str | None = None
    status_label: _Status | None = None
    deleted_at: dict[str, Any] | str | None = None
    assigned_to: _Assigned | None = None
    # An object by field name; PHP's empty array comes as a list.
    custom_fields: dict[str, _Field] | list[Any] = {}

    def asset(self, tag_field: str) -> Asset:
        fields = self.custom_fields if isinstance(self.custom_fields, dict) else {}
        values = [f.value for name, f in fields.items() if tag_field in (name, f.field)]
        # Snipe-IT escapes text for HTML in its answers.
        tag = html.unescape(str(values[0])).strip() if values and values[0] is not None else ""
        name = html.unescape(self.name or self.asset_tag or "").strip() or f"Asset {self.id}"
        status = self.status_label.status_type if self.status_label else ""
        assigned = self.assigned_to
        return Asset(
            id=self.id,
            name=name,
            tag=tag or None,
            active=self.deleted_at is None and status == "deployable",
            assigned_to=(
                Target.parse(f"{assigned.type}:{assigned.id}")
                if assigned and assigned.type in ("location", "user")
                else None
            ),
        )


class _Page(BaseModel):
    total: int
    rows: list[_Row]


def _messages(body: dict[str, Any]) -> str:
    """Snipe-IT's `messages`: a string, or field → list of strings."""
    messages = body.get("messages")
    if isinstance(messages, dict):
        return "; ".join(
            f"{field}: {' '.join(map(str, texts)) if isinstance(texts, list) else texts}"
            for field, texts in messages.items()
        )
    return str(messages or "no reason given")


def _retry_after(response: httpx2.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


class SnipeItClient:
    """One Snipe-IT server, through `async with`; every request has the timeout given."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        tag_field: str,
        timeout_s: float,
        page_size: int = 100,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = httpx2.AsyncClient(
            base_url=url.rstrip("/") + "/api/v1/",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout_s,
        )
        self._tag_field = tag_field
        self._page_size = page_size
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings, *, sleep: Sleep = asyncio.sleep) -> Self:
        """The client that the MAKERBUS_SNIPEIT_* settings describe."""
        return cls(
            settings.snipeit_url,
            settings.snipeit_token.get_secret_value(),
            tag_field=settings.snipeit_tag_field,
            timeout_s=settings.snipeit_timeout_s,
            page_size=settings.snipeit_page_size,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"SnipeItClient({str(self._http.base_url)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._http.aclose()

    async def assets(self) -> list[Asset]:
        """The whole hardware list, page by page (limit/offset, until `total`)."""
        assets: list[Asset] = []
        while True:
            params: dict[str, str | int] = {
                "limit": self._page_size,
                "offset": len(assets),
                "sort": "id",
                "order": "asc",
            }
            page = self._parse(_Page, await self._call("GET", "hardware", params=params))
            assets.extend(row.asset(self._tag_field) for row in page.rows)
            if not page.rows or len(assets) >= page.total:
                return assets

    async def asset(self, asset_id: int) -> Asset:
        """One asset by its id."""
        row = self._parse(_Row, await self._call("GET", f"hardware/{asset_id}"))
        return row.asset(self._tag_field)

    async def checkout(self, asset_id: int, target: Target, *, note: str, at: datetime) -> None:
        """Check the asset out to the target; `at` in Snipe-IT's local time."""
        await self._call(
            "POST",
            f"hardware/{asset_id}/checkout",
            json={
                "checkout_to_type": target.kind,
                f"assigned_{target.kind}": target.id,
                "checkout_at": at.strftime("%Y-%m-%d %H:%M:%S"),
                "note": note,
            },
        )

    async def checkin(self, asset_id: int, *, note: str, at: datetime) -> None:
        """Check the asset in; Snipe-IT takes the day (it adds its own time of day)."""
        await self._call(
            "POST",
            f"hardware/{asset_id}/checkin",
            json={"checkin_at": at.strftime("%Y-%m-%d"), "note": note},
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        json: dict[str, str | int] | None = None,
    ) -> dict[str, Any]:
        waits = 0
        while True:
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except httpx2.HTTPError as error:
                raise SnipeItError(f"Snipe-IT unreachable: {type(error).__name__}") from None
            if response.status_code != httpx2.codes.TOO_MANY_REQUESTS:
                return self._body(response)
            delay = _retry_after(response)
            if waits == RATE_LIMIT_WAITS or delay > MAX_RETRY_AFTER_S:
                raise RateLimited(delay)
            waits += 1
            await self._sleep(delay)

    @staticmethod
    def _body(response: httpx2.Response) -> dict[str, Any]:
        if response.status_code in (httpx2.codes.UNAUTHORIZED, httpx2.codes.FORBIDDEN):
            raise SnipeItError(f"Snipe-IT refused the token (HTTP {response.status_code})")
        if not response.is_success:
            raise SnipeItError(f"Snipe-IT answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise SnipeItError("Snipe-IT answered something that is not JSON") from None
        if not isinstance(body, dict):
            raise SnipeItError("Snipe-IT answered JSON that is not an object")
        if body.get("status") == "error":
            raise Refused(f"Snipe-IT refused: {_messages(body)}")
        return body

    @staticmethod
    def _parse(model: type[M], body: dict[str, Any]) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as error:
            count = error.error_count()
            raise SnipeItError(f"unexpected answer from Snipe-IT ({count} odd fields)") from None
