"""What the reference programs (checkout, Bankomat, rental station) share.

Asking the server, turning error answers into exceptions that keep the answer's fields, and the
text they show: money and durations.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

from makerbus_device.answer import Answer
from makerbus_device.errors import DeviceError, RequestTimeout

logger = logging.getLogger(__name__)

REMEMBER_UNANSWERED_S = 600.0
"""How long a request that got no answer keeps its id for an identical repeat. The server keeps
ids for 7 days; a member repeats within minutes or not at all."""


class ServerLink(Protocol):
    """The part of DeviceClient the programs use."""

    def request(
        self,
        op: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        request_id: str | None = None,
        **fields: object,
    ) -> Answer: ...


class Refused(DeviceError):
    """The server answered with an error code; ``fields`` are the answer's extra fields."""

    def __init__(self, op: str, answer: Answer) -> None:
        self.op = op
        self.code = answer.error or "internal"
        self.message = answer.message or self.code
        self.fields = answer.fields
        super().__init__(f"{op}: {self.code}: {self.message}")

    def int_field(self, name: str) -> int | None:
        value = self.fields.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def str_field(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) else None


class Asker:
    """Sends a program's requests and raises Refused for error answers.

    ``ask`` remembers the id of a request that got no answer at all: when the member repeats the
    identical request (taps again to pay the same basket), it goes out under the same id, so the
    server replays the first outcome instead of charging twice. Only a hash of the fields is kept.
    """

    def __init__(
        self,
        link: ServerLink,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link
        self._timeout = timeout
        self._retries = retries
        self._monotonic = monotonic
        self._unanswered: dict[str, tuple[str, float]] = {}

    def ask(self, op: str, **fields: object) -> Answer:
        """The ok answer to ``op``; Refused for an error answer, DeviceError for none."""
        now = self._monotonic()
        self._unanswered = {
            key: (rid, at)
            for key, (rid, at) in self._unanswered.items()
            if now - at < REMEMBER_UNANSWERED_S
        }
        key = _fingerprint(op, fields)
        known = self._unanswered.get(key)
        try:
            answer = self.ask_as(op, None if known is None else known[0], **fields)
        except RequestTimeout as exc:
            self._unanswered[key] = (exc.request_id, now)
            raise
        self._unanswered.pop(key, None)
        return answer

    def ask_as(self, op: str, request_id: str | None, **fields: object) -> Answer:
        """Like ``ask`` under this id (None: a fresh one), remembering nothing.

        For requests that may rightly repeat with the same fields, such as two equal coins:
        the caller keeps each one's id (from RequestTimeout.request_id) itself.
        """
        answer = self._link.request(
            op, timeout=self._timeout, retries=self._retries, request_id=request_id, **fields
        )
        if not answer.ok:
            raise Refused(op, answer)
        return answer


def _fingerprint(op: str, fields: dict[str, object]) -> str:
    text = json.dumps([op, fields], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fetch_currency(asker: Asker) -> str:
    """The deployment's currency from device/config; empty when the server does not say."""
    try:
        currency = asker.ask("device/config").fields.get("currency")
    except DeviceError as exc:
        logger.warning("no currency from device/config (%s); showing amounts without it", exc)
        return ""
    return currency if isinstance(currency, str) else ""


def int_of(answer: Answer, name: str) -> int:
    """An answer's integer field; DeviceError when the server sent none."""
    value = answer.fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceError(f"the answer has no integer {name}: {answer.raw}")
    return value


def str_of(answer: Answer, name: str) -> str:
    """An answer's string field; DeviceError when the server sent none."""
    value = answer.fields.get(name)
    if not isinstance(value, str):
        raise DeviceError(f"the answer has no text {name}: {answer.raw}")
    return value


def money(cents: int, currency: str = "") -> str:
    """``1250`` → ``"12.50 EUR"``; ``-5`` → ``"-0.05 EUR"``."""
    whole, part = divmod(abs(cents), 100)
    text = f"{'-' if cents < 0 else ''}{whole}.{part:02d}"
    return f"{text} {currency}" if currency else text


def duration(seconds: int) -> str:
    """``3725`` → ``"1 h 2 min"``; ``75`` → ``"1 min 15 s"``; the two largest units."""
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts: list[str] = []
    rest = max(0, seconds)
    for name, size in units:
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append(f"{count} {name}")
    shown = [part for part in parts[:2] if not part.startswith("0 ")]
    return " ".join(shown) if shown else "0 s"


def log_display(text: str) -> None:
    """The default display: a log line at INFO."""
    logger.info("%s", text)


def unreachable(exc: DeviceError) -> str:
    """What a program shows when a request got no (usable) answer."""
    logger.warning("%s", exc)
    if isinstance(exc, RequestTimeout):
        return "the server does not answer: try again in a moment"
    return f"server trouble: {exc}"
