"""A stand-in of Snipe-IT's REST API for the tests: a real HTTP server on loopback.

It answers in the documented shapes: a Bearer token or 401 with a JSON body; the hardware list
paged by limit/offset with `total` and `rows` (deleted assets left out); one asset; checkout
and check-in answering HTTP 200 with `"status": "error"` when Snipe-IT would refuse (the asset
is out already, or in already); and, while `throttle` lasts, 429 with Retry-After. It records
every request, and the checkouts and check-ins it accepted.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.snipeit.client import SnipeItClient

TAG_FIELD = "UHF TID"
TAG_COLUMN = "_snipeit_uhf_tid_3"
TOKEN = "snipe-token-" + "y" * 20
_asset_ids = itertools.count(secrets.randbelow(10**6) * 1000 + 10**6)  # below 2**31


def unique_asset_id() -> int:
    """An asset id no other test uses (tests of one session share a database)."""
    return next(_asset_ids)


class Naps:
    """A client's sleep: records how long it was asked to wait, and returns at once."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


_ASSET = re.compile(r"^/api/v1/hardware/(\d+)(?:/(checkout|checkin))?$")


@dataclass
class StandInAsset:
    id: int
    name: str
    tid: str | None
    status_type: str = "deployable"
    deleted: bool = False
    assigned: tuple[str, int] | None = None

    def row(self) -> dict[str, Any]:
        """The asset as Snipe-IT's transformer writes it (the fields makerbus reads, and a
        few more), text escaped for HTML as Snipe-IT does."""
        return {
            "id": self.id,
            "name": html.escape(self.name),
            "asset_tag": f"LAB-{self.id:05d}",
            "status_label": {
                "id": 1,
                "name": self.status_type.title(),
                "status_type": self.status_type,
                "status_meta": "deployed" if self.assigned else self.status_type,
            },
            "deleted_at": (
                {"datetime": "2026-11-20 10:00:00", "formatted": "2026-11-20 10:00"}
                if self.deleted
                else None
            ),
            "assigned_to": (
                None
                if self.assigned is None
                else {"id": self.assigned[1], "name": "Shelf", "type": self.assigned[0]}
            ),
            "custom_fields": {
                TAG_FIELD: {
                    "field": TAG_COLUMN,
                    "value": self.tid,
                    "field_format": "ANY",
                    "element": "text",
                }
            },
        }


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class _State:
    token: str
    assets: dict[int, StandInAsset] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    checkouts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    checkins: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    throttled: int = 0
    retry_after: str = "1"
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(message: str) -> dict[str, Any]:
    return {"status": "error", "messages": message, "payload": None}


def _success(message: str, asset: StandInAsset) -> dict[str, Any]:
    return {"status": "success", "messages": message, "payload": {"asset": f"LAB-{asset.id:05d}"}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `received`, not stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        with state.lock:
            state.received.append(Received(self.command, url.path, query, body))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._answer(401, {"status": "error", "message": "Unauthorized."})
            elif state.throttled:
                state.throttled -= 1
                self._answer(429, {"message": "Too Many Attempts."}, state.retry_after)
            else:
                self._route(state, url.path, query, body or {})

    def _route(self, state: _State, path: str, query: dict[str, str], body: dict[str, Any]) -> None:
        if self.command == "GET" and path == "/api/v1/hardware":
            self._answer(200, _page(state, query))
            return
        match = _ASSET.match(path)
        asset = state.assets.get(int(match[1])) if match else None
        if match is None or asset is None:
            self._answer(404, _error("Asset does not exist."))
        elif self.command == "GET" and match[2] is None:
            self._answer(200, asset.row())
        elif self.command == "POST" and state.refusals:
            self._answer(200, _error(state.refusals.pop(0)))
        elif self.command == "POST" and match[2] == "checkout":
            self._answer(200, _checkout(state, asset, body))
        elif self.command == "POST" and match[2] == "checkin":
            self._answer(200, _checkin(state, asset, body))
        else:
            self._answer(405, _error("Method not allowed."))

    def _answer(self, status: int, body: dict[str, Any], retry_after: str | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(payload)


def _page(state: _State, query: dict[str, str]) -> dict[str, Any]:
    listed = sorted((a for a in state.assets.values() if not a.deleted), key=lambda a: a.id)
    offset, limit = int(query.get("offset", "0")), int(query.get("limit", "50"))
    return {"total": len(listed), "rows": [a.row() for a in listed[offset : offset + limit]]}


def _checkout(state: _State, asset: StandInAsset, body: dict[str, Any]) -> dict[str, Any]:
    if asset.assigned is not None or asset.status_type != "deployable":
        return _error("That asset is not available for checkout!")
    kind = body.get("checkout_to_type")
    target = body.get(f"assigned_{kind}")
    if kind not in ("user", "location", "asset") or not isinstance(target, int):
        return _error(f"Checkout target for asset LAB-{asset.id:05d} is invalid")
    asset.assigned = (kind, target)
    state.checkouts.append((asset.id, body))
    return _success("Asset checked out successfully.", asset)


def _checkin(state: _State, asset: StandInAsset, body: dict[str, Any]) -> dict[str, Any]:
    if asset.assigned is None:
        return _error("That asset is already checked in.")
    asset.assigned = None
    state.checkins.append((asset.id, body))
    return _success("Asset checked in successfully.", asset)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class SnipeItStandIn:
    """`with SnipeItStandIn(token) as snipe:` serves at `snipe.url` until the block ends."""

    def __init__(self, token: str) -> None:
        self._state = _State(token)
        self._server = _Server(self._state)
        # A short poll, so that the server stops at once at the end of a test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SnipeItStandIn:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add(self, asset: StandInAsset) -> StandInAsset:
        with self._state.lock:
            self._state.assets[asset.id] = asset
        return asset

    def throttle(self, requests: int, *, retry_after: str = "1") -> None:
        """Answer the next `requests` requests with 429 and this Retry-After."""
        with self._state.lock:
            self._state.throttled, self._state.retry_after = requests, retry_after

    def refuse(self, *messages: str) -> None:
        """Answer the next checkouts or check-ins with HTTP 200 and `"status": "error"`."""
        with self._state.lock:
            self._state.refusals.extend(messages)

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)

    @property
    def checkouts(self) -> list[tuple[int, dict[str, Any]]]:
        with self._state.lock:
            return list(self._state.checkouts)

    @property
    def checkins(self) -> list[tuple[int, dict[str, Any]]]:
        with self._state.lock:
            return list(self._state.checkins)


def client(
    snipe: SnipeItStandIn,
    *,
    token: str = TOKEN,
    tag_field: str = TAG_FIELD,
    page_size: int = 100,
    naps: Naps | None = None,
) -> SnipeItClient:
    """Our client of the stand-in; its sleeps are recorded in `naps`, not slept."""
    return SnipeItClient(
        snipe.url,
        token,
        tag_field=tag_field,
        timeout_s=5,
        page_size=page_size,
        sleep=naps or Naps(),
    )
