"""The request/answer envelope: one UTF-8 JSON object with an `id`, answered with `ok`."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from broker.errors import ErrorCode

REQUEST_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
_MAX_DEPTH = 8
# No field holds more than a 64-bit integer (19 digits); longer ones are refused before Python
# turns them into numbers (its int parsing is quadratic in the number of digits).
MAX_DIGITS = 40
# Fields that never enter the stored fingerprint: a hash of a 4-6 digit PIN next to the other
# (recorded) fields would give the PIN away to anyone who can read the database.
SECRET_FIELDS = frozenset({"pin"})
_SAFE_FIELD_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class EnvelopeError(Exception):
    """The payload cannot be a request; answered with `bad_request` and the id when known."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Request:
    id: str
    fields: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """A hash of the non-secret fields, so a reused id with different content is caught."""
        public = {k: v for k, v in self.fields.items() if k not in SECRET_FIELDS}
        canonical = json.dumps(public, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iterative: hostile input cannot recurse)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if level + 1 > limit:
                    return True
                stack.append((child, level + 1))
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _IntegerParser:
    """json's `parse_int`: a digit string longer than MAX_DIGITS becomes None and is noted, so
    the request is refused once its id is known."""

    def __init__(self) -> None:
        self.too_long = False

    def __call__(self, digits: str) -> int | None:
        if len(digits.lstrip("-")) > MAX_DIGITS:
            self.too_long = True
            return None
        return int(digits)


def decode_request(payload: bytes, *, max_bytes: int) -> Request:
    """Parse and check the envelope; the op's own fields are checked by its model."""
    if len(payload) > max_bytes:
        raise EnvelopeError(f"payload is {len(payload)} bytes; the limit is {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError("payload is not UTF-8") from None
    integers = _IntegerParser()
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_int=integers)
    except (ValueError, RecursionError):
        raise EnvelopeError("payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError(f"payload must be a JSON object, not {type(data).__name__}")
    request_id = data.pop("id", None)
    if integers.too_long:
        known = (
            request_id if isinstance(request_id, str) and _REQUEST_ID.match(request_id) else None
        )
        raise EnvelopeError(f"payload: a number has more than {MAX_DIGITS} digits", known)
    if request_id is None:
        raise EnvelopeError("id: required")
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise EnvelopeError("id: must be 1-64 characters of A-Z a-z 0-9 _ . : -")
    if _too_deep(data, _MAX_DEPTH):
        raise EnvelopeError(f"payload nests deeper than {_MAX_DEPTH} levels", request_id)
    return Request(id=request_id, fields=data)


def _field_name(part: str | int) -> str:
    """Field names come from the device: echo only plain ones (the live view shows answers)."""
    text = str(part)
    return text if _SAFE_FIELD_NAME.match(text) else "(unreadable field name)"


def describe_validation_error(error: ValidationError) -> str:
    """A short message naming each bad field, never echoing the value sent."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(_field_name(part) for part in item["loc"]) or "payload"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts[:5])


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def encode_ok(request_id: str, answer: BaseModel) -> bytes:
    """Fields left unset are omitted (e.g. a machine's extras in `card/identify`)."""
    return _dump(
        {"id": request_id, "ok": True, **answer.model_dump(mode="json", exclude_unset=True)}
    )


def encode_error(request_id: str | None, code: ErrorCode, message: str, **fields: Any) -> bytes:
    return _dump({"id": request_id, "ok": False, "error": code.value, "message": message, **fields})
